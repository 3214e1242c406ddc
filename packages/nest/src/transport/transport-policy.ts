import { isIP } from 'node:net';

/** Options of HTTPS enforcement. */
export interface TransportOptions {
  /**
   * Which peers may tell us the original scheme and host (`X-Forwarded-Proto`/`-Host`):
   * `false` (nobody, default), `'loopback'`, or a list of exact IP addresses. Must be set
   * explicitly when the app runs behind a TLS-terminating proxy.
   * @default false
   */
  trustProxy?: false | 'loopback' | string[];
  /** Refuse plain-HTTP requests. @default true in production */
  requireHttps?: boolean;
  /** Redirect plain-HTTP GET/HEAD to https instead of refusing (other methods are still refused). @default false */
  redirectHttp?: boolean;
  /** Strict-Transport-Security on HTTPS responses; `false` to leave it to your proxy. @default { maxAgeSeconds: 31536000, includeSubDomains: true } */
  hsts?: false | { maxAgeSeconds?: number; includeSubDomains?: boolean; preload?: boolean };
  /** Paths served over plain HTTP even when HTTPS is required (load-balancer health checks). @default [] */
  plainHttpPaths?: string[];
}

export interface ResolvedTransport {
  trust: (address: string | undefined) => boolean;
  requireHttps: boolean;
  redirectHttp: boolean;
  hstsHeader: string | null;
  plainHttpPaths: ReadonlySet<string>;
}

/** A request as transport checks see it (Express req, Fastify request, or a raw IncomingMessage). */
export interface TransportRequest {
  headers: Record<string, string | string[] | undefined>;
  socket?: { encrypted?: boolean; remoteAddress?: string } | null;
}

function lastValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v.join(',') : v;
  if (!s) return undefined;
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  return parts[parts.length - 1];
}

function stripMapped(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function resolveTransport(raw: TransportOptions | undefined, production: boolean, problems: string[]): ResolvedTransport {
  const o = raw ?? {};
  let trust: (a: string | undefined) => boolean = () => false;
  if (o.trustProxy === 'loopback') trust = (a) => !!a && (stripMapped(a).startsWith('127.') || a === '::1');
  else if (Array.isArray(o.trustProxy)) {
    const bad = o.trustProxy.filter((ip) => typeof ip !== 'string' || isIP(ip) === 0);
    if (bad.length > 0) problems.push(`transport.trustProxy: expected exact IP addresses, 'loopback' or false; got ${bad.map(String).join(', ')}.`);
    const set = new Set(o.trustProxy.map((ip) => String(ip)));
    trust = (a) => !!a && (set.has(a) || set.has(stripMapped(a)));
  } else if (o.trustProxy !== undefined && o.trustProxy !== false) {
    problems.push("transport.trustProxy: expected false, 'loopback' or a list of proxy IP addresses (never `true`: anyone could claim HTTPS).");
  }
  let hstsHeader: string | null = 'max-age=31536000; includeSubDomains';
  if (o.hsts === false) hstsHeader = null;
  else if (o.hsts !== undefined) {
    const age = o.hsts.maxAgeSeconds ?? 31_536_000;
    if (!Number.isInteger(age) || age < 0) problems.push('transport.hsts.maxAgeSeconds: expected a non-negative integer.');
    hstsHeader = `max-age=${age}${o.hsts.includeSubDomains === false ? '' : '; includeSubDomains'}${o.hsts.preload ? '; preload' : ''}`;
  }
  return {
    trust,
    requireHttps: o.requireHttps ?? production,
    redirectHttp: o.redirectHttp === true,
    hstsHeader,
    plainHttpPaths: new Set(o.plainHttpPaths ?? []),
  };
}

/** The scheme the client used: TLS on our socket, or a trusted proxy's X-Forwarded-Proto. */
export function requestScheme(req: TransportRequest, t: ResolvedTransport): 'https' | 'http' {
  if (req.socket?.encrypted) return 'https';
  if (t.trust(req.socket?.remoteAddress)) {
    const proto = lastValue(req.headers['x-forwarded-proto'])?.toLowerCase();
    if (proto === 'https') return 'https';
  }
  return 'http';
}

const HOST = /^[A-Za-z0-9.\-:[\]]{1,255}$/;
/** `scheme://host` as sent -> canonical origin (or null); bounded, since Host is client input. */
const origins = new Map<string, string | null>();
const ORIGIN_CACHE_SIZE = 256;

/** The origin the client addressed (`scheme://host`), or null if the Host header is unusable. */
export function requestOrigin(req: TransportRequest, t: ResolvedTransport): string | null {
  const forwardedHost = t.trust(req.socket?.remoteAddress) ? lastValue(req.headers['x-forwarded-host']) : undefined;
  const host = forwardedHost ?? (Array.isArray(req.headers.host) ? undefined : req.headers.host);
  if (!host || !HOST.test(host)) return null;
  const given = `${requestScheme(req, t)}://${host}`;
  let origin = origins.get(given);
  if (origin === undefined) {
    origin = canonicalOrigin(given);
    if (origins.size >= ORIGIN_CACHE_SIZE) origins.delete(origins.keys().next().value!);
    origins.set(given, origin);
  }
  return origin;
}

function canonicalOrigin(url: string): string | null {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return null;
  }
}
