/** One parsed `Set-Cookie` header. Attribute names are lower-cased. */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string | true>;
  raw: string;
}

/**
 * Parses a `Set-Cookie` header value (RFC 6265 §5.2): `name=value` then `;`-separated attributes.
 * Returns undefined for a header without a name-value pair. Never throws.
 */
export function parseSetCookie(header: string): SetCookie | undefined {
  const parts = header.split(';');
  const first = parts.shift() ?? '';
  const eq = first.indexOf('=');
  if (eq <= 0) return undefined;
  const name = first.slice(0, eq).trim();
  const value = first.slice(eq + 1).trim();
  if (!name) return undefined;
  const attributes = new Map<string, string | true>();
  for (const p of parts) {
    const i = p.indexOf('=');
    const k = (i === -1 ? p : p.slice(0, i)).trim().toLowerCase();
    if (!k) continue;
    attributes.set(k, i === -1 ? true : p.slice(i + 1).trim());
  }
  return { name, value, attributes, raw: header };
}

/** Lifetime in seconds from Max-Age (preferred) or Expires, or undefined for a session cookie. */
export function cookieLifetimeSeconds(c: SetCookie, now = Date.now()): number | undefined {
  const maxAge = c.attributes.get('max-age');
  if (typeof maxAge === 'string' && /^-?\d+$/.test(maxAge)) return Number(maxAge);
  const expires = c.attributes.get('expires');
  if (typeof expires === 'string') {
    const t = Date.parse(expires);
    if (!Number.isNaN(t)) return Math.round((t - now) / 1000);
  }
  return undefined;
}

/** True when the header deletes the cookie (empty value, Max-Age <= 0 or Expires in the past). */
export function isDeletion(c: SetCookie): boolean {
  const life = cookieLifetimeSeconds(c);
  return c.value === '' || (life !== undefined && life <= 0);
}
