import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HostNotAllowedError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { requestHost, type TransportRequest } from '../transport/transport-policy.js';

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

/** The host policy of resolved options: `origin.allowedHosts`, plus the hosts of `transport.publicOrigin` and `origin.allowedOrigins`. */
export function hostPolicyOf(o: ResolvedKeywardOptions): HostPolicy {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of o.origin.allowedHosts ?? []) (entry.startsWith('.') ? suffixes.push(entry) : exact.add(entry));
  for (const origin of [o.transport.publicOrigin, ...o.origin.allowedOrigins]) {
    if (origin) exact.add(new URL(origin).hostname.toLowerCase());
  }
  return { exact, suffixes };
}

/**
 * The Host allowlist, first check of the edge after the request id: a request (or a
 * WebSocket upgrade) addressed to a host name the app does not serve is refused with
 * 421 `KW_HOST_NOT_ALLOWED` before anything reads its cookie. Without it, a DNS-rebinding
 * page (`http://evil.example`, re-pointed at the app) is same-origin in the browser's
 * eyes, passes the origin check, and spends the user's session.
 */
@Injectable()
export class HostAllowlist {
  private readonly policy: HostPolicy;

  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {
    this.policy = hostPolicyOf(options);
  }

  /** True when the request's host is allowed. */
  allows(req: IncomingMessage): boolean {
    return isHostAllowed(requestHost(req as unknown as TransportRequest, this.options.transport), this.policy);
  }

  /** Lets the request on (true) or throws {@link HostNotAllowedError}. */
  admit(req: IncomingMessage): boolean {
    if (!this.allows(req)) throw new HostNotAllowedError();
    return true;
  }
}
