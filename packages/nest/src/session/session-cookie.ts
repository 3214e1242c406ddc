import type { ResolvedSessionOptions } from './session-options.js';

/** What was found for the session cookie in a Cookie header. */
export type CookieLookup = { kind: 'none' } | { kind: 'one'; value: string } | { kind: 'ambiguous' };

const MAX_COOKIE_HEADER = 16 * 1024;

/**
 * Finds the session cookie in a Cookie request header. A name sent twice (cookie
 * tossing from a sibling domain or path) is ambiguous and is not trusted.
 */
export function findSessionCookie(header: string | string[] | undefined, name: string): CookieLookup {
  if (header === undefined) return { kind: 'none' };
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (text.length > MAX_COOKIE_HEADER) return { kind: 'ambiguous' };
  let found: string | undefined;
  let count = 0;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    count++;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    found = value;
  }
  if (count === 0) return { kind: 'none' };
  return count === 1 && found !== undefined ? { kind: 'one', value: found } : { kind: 'ambiguous' };
}

function attributes(o: ResolvedSessionOptions): string {
  const c = o.cookie;
  const sameSite = c.sameSite === 'strict' ? 'Strict' : c.sameSite === 'lax' ? 'Lax' : 'None';
  return `Path=${c.path}${c.domain ? `; Domain=${c.domain}` : ''}; HttpOnly${c.secure ? '; Secure' : ''}; SameSite=${sameSite}`;
}

/** Set-Cookie value carrying a signed session ID, living no longer than the session. */
export function serializeSessionCookie(o: ResolvedSessionOptions, signedValue: string, maxAgeMs: number): string {
  const maxAge = Math.max(1, Math.floor(maxAgeMs / 1000));
  return `${o.cookie.name}=${signedValue}; Max-Age=${maxAge}; ${attributes(o)}`;
}

/** Set-Cookie value that removes the session cookie. */
export function serializeClearingCookie(o: ResolvedSessionOptions): string {
  return `${o.cookie.name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ${attributes(o)}`;
}
