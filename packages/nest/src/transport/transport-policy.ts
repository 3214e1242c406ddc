import { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { duration, isPlainObject, show, unknownKeys } from '../util/option-checks.js';
import { lastValue, stripMapped } from './forwarded.js';

/** Options of HTTPS enforcement. */
export interface TransportOptions {
  /**
   * Which peers may tell us the original scheme and host (`X-Forwarded-Proto`/`-Host`):
   * `false` (nobody, default), `'loopback'`, or a list of exact IP addresses. Must be set
   * explicitly when the app runs behind a TLS-terminating proxy.
   * @default false
   */
  trustProxy?: false | 'loopback' | string[];
  /**
   * Believe a trusted proxy's `X-Forwarded-Host` as the host the client addressed. Only when
   * your proxy sets (overwrites) it: a proxy that passes the client's on would let any client
   * choose its Host. Most proxies forward `Host` itself, which needs nothing.
   * @default false
   */
  trustForwardedHost?: boolean;
  /** Refuse plain-HTTP requests. @default true in production */
  requireHttps?: boolean;
  /**
   * Redirect plain-HTTP GET/HEAD to `publicOrigin` (308) instead of refusing (other methods
   * are still refused). Needs `publicOrigin`: the redirect never goes to the host the
   * client named.
   * @default false
   */
  redirectHttp?: boolean;
  /**
   * Clients reach this process over TLS through a server of your own (or a serverless
   * adapter), so its plain-HTTP listener is expected: only turns off the startup refusal of
   * "production over plain HTTP with no trusted proxy". Plain-HTTP requests are still
   * refused (403 `KW_HTTPS_REQUIRED`).
   * @default false
   */
  httpsServedElsewhere?: boolean;
  /**
   * The origin users reach the app at, e.g. `'https://app.example.com'` (scheme, host,
   * optional port; no path). The target of `redirectHttp`, and its host is allowed in
   * `Host` (see `origin.allowedHosts`).
   * @default undefined (no redirect target; only loopback names and IP addresses are allowed hosts)
   */
  publicOrigin?: string;
  /** Strict-Transport-Security on HTTPS responses; `false` to leave it to your proxy. @default { maxAgeSeconds: 31536000, includeSubDomains: true } */
  hsts?: false | { maxAgeSeconds?: number; includeSubDomains?: boolean; preload?: boolean };
  /**
   * Exact paths answered over plain HTTP even when HTTPS is required: readiness and
   * liveness probes that cannot speak TLS (`['/healthz']`). Only `GET` and `HEAD`; the
   * session cookie is not read (the route must allow anonymous access), no cookie is set,
   * and never a proxied path. Exact match: no prefix, no query, no wildcard.
   * @default []
   * @example { plainHttpPaths: ['/healthz'] }
   */
  plainHttpPaths?: string[];
  /**
   * The most a client may take to send a whole request (headers and body); a body trickled
   * byte by byte is cut (408) after this. Applied to the app's HTTP server (both adapters)
   * only where it is stricter than the server's own value; `null` leaves the server's value.
   * Raise it for routes that take large uploads over slow links.
   * @default 30_000
   */
  requestTimeoutMs?: number | null;
  /** The most a client may take to send the request headers. Same rules. @default 10_000 */
  headersTimeoutMs?: number | null;
  /**
   * How long an idle keep-alive connection stays open. Same rules. Behind a load balancer,
   * it must exceed the balancer's idle timeout (e.g. 65_000 behind one with 60 s).
   * @default 5_000
   */
  keepAliveTimeoutMs?: number | null;
  /**
   * The security headers of every response: Nest routes, proxied calls, Keyward's own error
   * answers and 404s alike. Keyward sets them at the edge and sets them again just before a
   * response's headers are written, so a value the app's middleware (helmet) set differently
   * is replaced, with a warning once per header naming both values. Give a header another
   * value, `false` to send it on no response, or add one of the headers listed in
   * `SECURITY_HEADER_NAMES` (e.g. your helmet `Content-Security-Policy`) to send it on every
   * response. `Strict-Transport-Security` is `hsts`.
   * @default { 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'same-origin', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Resource-Policy': 'same-origin' }
   * @example securityHeaders: { 'X-Frame-Options': 'SAMEORIGIN', 'Referrer-Policy': 'no-referrer' } // helmet's values
   * @example securityHeaders: { 'Cross-Origin-Resource-Policy': false } // on no response
   */
  securityHeaders?: Record<string, string | false>;
}

/** One header of `transport.securityHeaders`, resolved: `value` null means "on no response". */
export interface SecurityHeader {
  name: string;
  /** The name in lower case, as Node and Fastify key headers. */
  lower: string;
  value: string | null;
}

/**
 * The security headers every response gets unless `transport.securityHeaders` says otherwise.
 * @example DEFAULT_SECURITY_HEADERS['X-Frame-Options'] // 'DENY'
 */
export const DEFAULT_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

const REFERRER_POLICIES = [
  'no-referrer', 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin', 'unsafe-url',
];
/** A header value with no control character (no CR/LF), bounded. */
const FIELD_VALUE = /^[\x20-\x7e]{1,4096}$/;
/** Every header `transport.securityHeaders` may name, by lower-case name: its canonical name and the values it accepts (null: any field value). */
const SECURITY_HEADER_RULES: ReadonlyMap<string, { name: string; values: readonly string[] | null; list?: true }> = new Map(
  (
    [
      ['X-Content-Type-Options', ['nosniff']],
      ['X-Frame-Options', ['DENY', 'SAMEORIGIN']],
      ['Referrer-Policy', REFERRER_POLICIES, true],
      ['Cross-Origin-Opener-Policy', ['same-origin', 'same-origin-allow-popups', 'noopener-allow-popups', 'unsafe-none']],
      ['Cross-Origin-Resource-Policy', ['same-origin', 'same-site', 'cross-origin']],
      ['Cross-Origin-Embedder-Policy', ['require-corp', 'credentialless', 'unsafe-none']],
      ['Content-Security-Policy', null],
      ['Content-Security-Policy-Report-Only', null],
      ['Permissions-Policy', null],
      ['Origin-Agent-Cluster', ['?1', '?0']],
      ['X-DNS-Prefetch-Control', ['off', 'on']],
      ['X-Download-Options', ['noopen']],
      ['X-Permitted-Cross-Domain-Policies', ['none', 'master-only', 'by-content-type', 'all']],
      ['X-XSS-Protection', ['0']],
    ] as Array<[string, readonly string[] | null, true?]>
  ).map(([name, values, list]) => [name.toLowerCase(), { name, values, ...(list ? { list } : {}) }]),
);

/**
 * The headers `transport.securityHeaders` accepts: the defaults and those it may add
 * (helmet's other headers except HSTS, which is `transport.hsts`).
 * @example SECURITY_HEADER_NAMES.includes('Content-Security-Policy') // true
 */
export const SECURITY_HEADER_NAMES: readonly string[] = [...SECURITY_HEADER_RULES.values()].map((r) => r.name);

/** Timeouts Keyward puts on the app's HTTP server; null leaves the server's own value. */
export interface ServerTimeouts {
  requestTimeoutMs: number | null;
  headersTimeoutMs: number | null;
  keepAliveTimeoutMs: number | null;
}

/** Marks a request let in over plain HTTP as a probe (`plainHttpPaths`): no session is read for it. */
export const PLAIN_HTTP_PROBE = Symbol.for('keyward.plainHttpProbe');

/** True for a request admitted over plain HTTP only because its path is in `plainHttpPaths` (either adapter's request). */
export function isPlainHttpProbe(req: unknown): boolean {
  const r = req as { [PLAIN_HTTP_PROBE]?: true; raw?: { [PLAIN_HTTP_PROBE]?: true } } | undefined;
  if (r?.[PLAIN_HTTP_PROBE] === true) return true;
  // Only a wrapped request (Fastify's) has the mark on its raw Node request; a Node request (Express's) has no `raw`.
  return !(r instanceof IncomingMessage) && r?.raw?.[PLAIN_HTTP_PROBE] === true;
}

export interface ResolvedTransport {
  trust: (address: string | undefined) => boolean;
  /** `X-Forwarded-Host` of a trusted proxy is believed (`trustForwardedHost`). */
  forwardedHost: boolean;
  requireHttps: boolean;
  redirectHttp: boolean;
  /** Canonical `scheme://host[:port]`, or null. */
  publicOrigin: string | null;
  hstsHeader: string | null;
  plainHttpPaths: ReadonlySet<string>;
  timeouts: ServerTimeouts;
  /** A proxy is trusted to say https (`trustProxy` is 'loopback' or a non-empty address list). */
  trustsProxy: boolean;
  httpsServedElsewhere: boolean;
  /** Every header of `transport.securityHeaders`, defaults first: set (or removed, value null) on every response. */
  securityHeaders: readonly SecurityHeader[];
}

const TRANSPORT_KEYS = [
  'trustProxy', 'trustForwardedHost', 'requireHttps', 'redirectHttp', 'httpsServedElsewhere', 'publicOrigin', 'hsts', 'plainHttpPaths', 'requestTimeoutMs', 'headersTimeoutMs', 'keepAliveTimeoutMs',
  'securityHeaders',
] as const;
const TIMEOUT_DEFAULTS: ServerTimeouts = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 };
/** An exact absolute path: no query, fragment, wildcard, `.`/`..` segment, empty segment or %-escape. */
function isExactPath(p: string): boolean {
  if (p.length > 256 || !/^\/[A-Za-z0-9._~!$&'()+,;=:@/-]*$/.test(p)) return false;
  const segments = p.slice(1).split('/');
  if (segments[segments.length - 1] === '') segments.pop(); // one trailing slash
  return segments.every((s) => s !== '' && s !== '.' && s !== '..');
}

/** A request as transport checks see it (Express req, Fastify request, or a raw IncomingMessage). */
export interface TransportRequest {
  headers: Record<string, string | string[] | undefined>;
  socket?: { encrypted?: boolean; remoteAddress?: string } | null;
}


export function resolveTransport(raw: unknown, production: boolean, problems: string[]): ResolvedTransport {
  const given: unknown = raw ?? {};
  if (!isPlainObject(given)) problems.push(`transport: expected an object, got ${show(raw)}.`);
  const o = (isPlainObject(given) ? given : {}) as TransportOptions;
  unknownKeys(o, TRANSPORT_KEYS, 'transport.', problems, {
    trustproxy: 'Did you mean `transport.trustProxy`?',
    'trust proxy': "Did you mean `transport.trustProxy` (false, 'loopback' or the proxy's IP addresses)?",
    plainhttp: 'Use `transport.plainHttpPaths: [\'/healthz\']` (exact paths).',
    timeout: 'Use `transport.requestTimeoutMs`, `transport.headersTimeoutMs` or `transport.keepAliveTimeoutMs`.',
    headers: 'Did you mean `transport.securityHeaders`?',
    helmet: "Use `transport.securityHeaders` (e.g. { 'X-Frame-Options': 'SAMEORIGIN' }) so every response, proxied or not, carries the same values.",
  });
  for (const flag of ['requireHttps', 'redirectHttp', 'httpsServedElsewhere', 'trustForwardedHost'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') problems.push(`transport.${flag}: expected a boolean, got ${show(o[flag])}.`);
  }
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
  else if (o.hsts === undefined) {
    // the default above
  } else if (!isPlainObject(o.hsts)) problems.push(`transport.hsts: expected false or { maxAgeSeconds, includeSubDomains, preload }, got ${show(o.hsts)}.`);
  else {
    unknownKeys(o.hsts, ['maxAgeSeconds', 'includeSubDomains', 'preload'], 'transport.hsts.', problems, { maxage: 'Did you mean `maxAgeSeconds` (seconds)?', 'max-age': 'Did you mean `maxAgeSeconds` (seconds)?' });
    const age = o.hsts.maxAgeSeconds ?? 31_536_000;
    if (!Number.isInteger(age) || age <= 0) problems.push(`transport.hsts.maxAgeSeconds: expected a positive whole number of seconds (default 31536000, one year), got ${show(age)}. To send no HSTS header, set hsts: false.`);
    for (const flag of ['includeSubDomains', 'preload'] as const) {
      if (o.hsts[flag] !== undefined && typeof o.hsts[flag] !== 'boolean') problems.push(`transport.hsts.${flag}: expected a boolean, got ${show(o.hsts[flag])}.`);
    }
    hstsHeader = `max-age=${age}${o.hsts.includeSubDomains === false ? '' : '; includeSubDomains'}${o.hsts.preload ? '; preload' : ''}`;
  }
  const publicOrigin = resolvePublicOrigin(o.publicOrigin, problems);
  if (o.redirectHttp === true && publicOrigin === null) {
    problems.push("transport.redirectHttp: needs transport.publicOrigin (e.g. 'https://app.example.com') as the redirect target; Keyward never redirects to the Host a client sent.");
  }
  return {
    trust,
    requireHttps: o.requireHttps ?? production,
    redirectHttp: o.redirectHttp === true && publicOrigin !== null,
    publicOrigin,
    hstsHeader,
    plainHttpPaths: resolvePlainHttpPaths(o.plainHttpPaths, problems),
    timeouts: resolveTimeouts(o, problems),
    trustsProxy: o.trustProxy === 'loopback' || (Array.isArray(o.trustProxy) && o.trustProxy.length > 0),
    forwardedHost: o.trustForwardedHost === true,
    httpsServedElsewhere: o.httpsServedElsewhere === true,
    securityHeaders: resolveSecurityHeaders(o.securityHeaders, problems),
  };
}

function resolveSecurityHeaders(v: unknown, problems: string[]): readonly SecurityHeader[] {
  const values = new Map<string, SecurityHeader>();
  for (const [name, value] of Object.entries(DEFAULT_SECURITY_HEADERS)) values.set(name.toLowerCase(), { name, lower: name.toLowerCase(), value });
  if (v === undefined) return [...values.values()];
  if (!isPlainObject(v)) {
    problems.push(`transport.securityHeaders: expected an object of header names to values (or false), such as { 'X-Frame-Options': 'SAMEORIGIN' }, got ${show(v)}.`);
    return [...values.values()];
  }
  const seen = new Set<string>();
  for (const [given, value] of Object.entries(v)) {
    const lower = given.toLowerCase();
    const at = `transport.securityHeaders[${show(given)}]`;
    const rule = SECURITY_HEADER_RULES.get(lower);
    if (seen.has(lower)) {
      problems.push(`${at}: the same header is named twice (header names ignore case); name it once.`);
      continue;
    }
    seen.add(lower);
    if (!rule) {
      const hint = lower === 'strict-transport-security' ? 'Strict-Transport-Security is set by `transport.hsts`.' : `Accepted: ${SECURITY_HEADER_NAMES.join(', ')}.`;
      problems.push(`${at}: not a security header Keyward sends. ${hint}`);
      continue;
    }
    if (value === false) {
      values.set(lower, { name: rule.name, lower, value: null });
      continue;
    }
    const checked = typeof value === 'string' ? checkHeaderValue(rule, value) : null;
    if (checked === null) {
      const accepted = rule.values ? `${rule.list ? 'one or more (comma-separated) of ' : ''}${rule.values.map((x) => `'${x}'`).join(', ')}` : 'a header value (printable ASCII, at most 4096 characters)';
      problems.push(`${at}: expected ${accepted}, or false to send it on no response; got ${show(value)}.`);
      continue;
    }
    values.set(lower, { name: rule.name, lower, value: checked });
  }
  return [...values.values()];
}

/** The value to send (canonical case for a token), or null when the header does not accept it. */
function checkHeaderValue(rule: { values: readonly string[] | null; list?: true }, value: string): string | null {
  if (!FIELD_VALUE.test(value) || value.trim() !== value) return null;
  if (rule.values === null) return value;
  const canonical = (token: string): string | undefined => rule.values!.find((x) => x.toLowerCase() === token.toLowerCase());
  if (!rule.list) return canonical(value) ?? null;
  const tokens = value.split(',').map((t) => canonical(t.trim()));
  return tokens.every((t) => t !== undefined) ? tokens.join(', ') : null;
}

function resolvePublicOrigin(v: unknown, problems: string[]): string | null {
  if (v === undefined) return null;
  const canonical = typeof v === 'string' && /^https?:\/\//i.test(v) ? canonicalOrigin(v) : null;
  if (!canonical || canonical !== String(v).toLowerCase().replace(/\/$/, '')) {
    problems.push(`transport.publicOrigin: ${show(v)} is not an exact origin; expected scheme://host[:port] such as 'https://app.example.com' (no path, no wildcard).`);
    return null;
  }
  return canonical;
}

function resolvePlainHttpPaths(v: unknown, problems: string[]): ReadonlySet<string> {
  const out = new Set<string>();
  if (v === undefined) return out;
  if (!Array.isArray(v)) {
    problems.push(`transport.plainHttpPaths: expected an array of exact paths such as ['/healthz'], got ${show(v)}.`);
    return out;
  }
  for (const p of v) {
    if (typeof p === 'string' && isExactPath(p)) out.add(p);
    else problems.push(`transport.plainHttpPaths: ${show(p)} is not an exact path (like '/healthz': no query, wildcard, '..' or %-escape).`);
  }
  return out;
}

function resolveTimeouts(o: TransportOptions, problems: string[]): ServerTimeouts {
  const out = { ...TIMEOUT_DEFAULTS };
  for (const name of ['requestTimeoutMs', 'headersTimeoutMs', 'keepAliveTimeoutMs'] as const) {
    const v = o[name];
    if (v === undefined) continue;
    if (v === null) out[name] = null;
    else {
      const ms = duration(v, `transport.${name}`, problems, 100, 3_600_000);
      if (ms !== undefined) out[name] = ms;
    }
  }
  if (out.headersTimeoutMs !== null && out.requestTimeoutMs !== null && out.headersTimeoutMs > out.requestTimeoutMs) {
    problems.push(`transport.headersTimeoutMs: ${out.headersTimeoutMs} is longer than transport.requestTimeoutMs (${out.requestTimeoutMs}); the headers are part of the request.`);
  }
  return out;
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

/**
 * The host the client addressed: a trusted proxy's `X-Forwarded-Host`, else `Host`;
 * undefined when missing, repeated or not host syntax.
 */
export function requestHost(req: TransportRequest, t: ResolvedTransport): string | undefined {
  const forwardedHost = t.forwardedHost && t.trust(req.socket?.remoteAddress) ? lastValue(req.headers['x-forwarded-host']) : undefined;
  const host = forwardedHost ?? (Array.isArray(req.headers.host) ? undefined : req.headers.host);
  return host && HOST.test(host) ? host : undefined;
}

/** The origin the client addressed (`scheme://host`), or null if the Host header is unusable. */
export function requestOrigin(req: TransportRequest, t: ResolvedTransport): string | null {
  const host = requestHost(req, t);
  if (!host) return null;
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
