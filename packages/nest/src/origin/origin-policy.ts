/**
 * The origin/CSRF policy as a pure function of a request's method and headers: no Nest,
 * no I/O, so the guard, the proxy (at the point where the key is attached) and the
 * WebSocket upgrade check all run the very same code.
 */

export interface OriginPolicy {
  /** Origins (scheme://host[:port]) allowed besides the app's own. */
  allowedOrigins: ReadonlySet<string>;
  /** Header that must be present, and its required value. */
  csrfHeader: { name: string; value: string };
  /** Host names (or `.suffix` entries) allowed in `Host` besides IP addresses, `localhost` and the hosts of the configured origins. */
  allowedHosts?: readonly string[];
}

export type OriginVerdict =
  | { ok: true }
  | { ok: false; code: 'KW_ORIGIN_REFUSED' | 'KW_ORIGIN_MISSING' | 'KW_CSRF_HEADER_MISSING'; reason: string };

type Headers = Record<string, string | string[] | undefined>;

function one(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}

/** `scheme://host[:port]` of a URL, lower-cased, default ports dropped; null if not http(s). */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin.toLowerCase();
  } catch {
    return null;
  }
}

/** Methods that change state (everything but GET, HEAD, OPTIONS). */
export function isUnsafeMethod(method: string | undefined): boolean {
  // Node hands over the method as sent, upper case for every method it knows: that is the common case, tested first.
  if (method === undefined || method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  const m = method.toUpperCase();
  return m !== 'GET' && m !== 'HEAD' && m !== 'OPTIONS';
}

/**
 * Decides whether a cookie-authenticated request may proceed. Deny by default:
 * 1. `Sec-Fetch-Site: same-origin` passes; `none` passes only for a safe top-level
 *    navigation when `allowNavigation`; `same-site`/`cross-site` pass only with an
 *    allowlisted `Origin`.
 * 2. Without Sec-Fetch-Site, `Origin` (then `Referer`) must be the app's own origin or on
 *    the allowlist; `null` never passes. No signal at all is a refusal.
 * 3. The custom header (`X-CSRF: 1`) must be present: a cross-site form cannot set it,
 *    and a cross-site fetch cannot send it without a CORS preflight we do not grant.
 */
export function checkOrigin(
  method: string | undefined,
  headers: Headers,
  selfOrigin: string | null,
  policy: OriginPolicy,
  options: { allowNavigation?: boolean } = {},
): OriginVerdict {
  const allowed = (o: string | null | undefined): boolean =>
    !!o && o !== 'null' && (o === selfOrigin || policy.allowedOrigins.has(o.toLowerCase()));
  const site = one(headers, 'sec-fetch-site')?.toLowerCase();
  const origin = one(headers, 'origin')?.toLowerCase();
  const referer = one(headers, 'referer');

  let passed = false;
  if (site !== undefined) {
    if (site === 'same-origin') passed = true; // set by the browser itself; a page cannot forge it
    else if (site === 'none') passed = !!options.allowNavigation && !isUnsafeMethod(method);
    else if (site === 'same-site' || site === 'cross-site') passed = allowed(origin);
    if (!passed) return { ok: false, code: 'KW_ORIGIN_REFUSED', reason: 'Cross-site request refused.' };
  } else if (origin !== undefined) {
    if (!allowed(origin)) return { ok: false, code: 'KW_ORIGIN_REFUSED', reason: 'Request from a foreign origin refused.' };
  } else if (referer !== undefined) {
    if (!allowed(originOf(referer))) return { ok: false, code: 'KW_ORIGIN_REFUSED', reason: 'Request from a foreign page refused.' };
  } else {
    return { ok: false, code: 'KW_ORIGIN_MISSING', reason: 'Request without Origin, Referer or Sec-Fetch-Site refused.' };
  }

  if (one(headers, policy.csrfHeader.name) !== policy.csrfHeader.value) {
    return { ok: false, code: 'KW_CSRF_HEADER_MISSING', reason: `Missing the ${policy.csrfHeader.name} header.` };
  }
  return { ok: true };
}

/**
 * The verdict for a WebSocket upgrade. Browsers always send `Origin` on a WebSocket
 * handshake and a page cannot add custom headers to it, so the origin must be the app's
 * own or allowlisted, and a missing or `null` origin is refused.
 */
export function checkUpgradeOrigin(headers: Headers, selfOrigin: string | null, policy: OriginPolicy): OriginVerdict {
  const origin = one(headers, 'origin')?.toLowerCase();
  if (origin === undefined) return { ok: false, code: 'KW_ORIGIN_MISSING', reason: 'WebSocket handshake without Origin refused.' };
  if (origin === 'null' || (origin !== selfOrigin && !policy.allowedOrigins.has(origin))) {
    return { ok: false, code: 'KW_ORIGIN_REFUSED', reason: 'WebSocket handshake from a foreign origin refused.' };
  }
  return { ok: true };
}
