/**
 * The Host allowlist as a pure policy (DNS-rebinding defence): which host names a request
 * may address. The edge's Host step and the proxy (at the point of use) both ask it.
 */
import { isIP } from 'node:net';
import type { OriginPolicy } from './origin-policy.js';

/** The host names a request may address. */
export interface HostPolicy {
  /** Exact host names (lower case, no port). */
  exact: ReadonlySet<string>;
  /** `.example.com` entries: that name and every name below it. */
  suffixes: readonly string[];
}

/** The host name of a `Host` value (`name[:port]`, `[v6][:port]`), lower case without the port; null if malformed. */
export function hostnameOf(host: string): string | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m || (m[2] !== undefined && Number(m[2]) > 65_535)) return null;
  return m[1]!.toLowerCase();
}

/**
 * Whether a request addressed to `host` may be served. Always allowed: IP addresses and
 * `localhost` (and `*.localhost`), names a DNS-rebinding page cannot make a browser send
 * (rebinding needs a DNS name the attacker controls; an address or `localhost` is resolved
 * without asking the attacker). Otherwise the name must be on the policy's list.
 */
export function isHostAllowed(host: string | undefined, policy: HostPolicy): boolean {
  const name = host === undefined ? null : hostnameOf(host);
  if (name === null) return false;
  if (name.startsWith('[') ? isIP(name.slice(1, -1)) === 6 : isIP(name) === 4) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return policy.exact.has(name) || policy.suffixes.some((s) => name.endsWith(s) || name === s.slice(1));
}

/** The host policy: `origin.allowedHosts`, plus the hosts of `transport.publicOrigin` and `origin.allowedOrigins`. */
export function hostPolicyOf(origin: OriginPolicy, publicOrigin: string | null | undefined): HostPolicy {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of origin.allowedHosts ?? []) (entry.startsWith('.') ? suffixes.push(entry) : exact.add(entry));
  for (const o of [publicOrigin, ...origin.allowedOrigins]) {
    if (o) exact.add(new URL(o).hostname.toLowerCase());
  }
  return { exact, suffixes };
}
