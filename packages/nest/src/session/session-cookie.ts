import type { ResolvedSessionOptions } from './session-options.js';

/** What was found for the session cookie in a Cookie header. */
export type CookieLookup = { kind: 'none' } | { kind: 'one'; value: string } | { kind: 'ambiguous' };

const MAX_COOKIE_HEADER = 16 * 1024;
const NONE: CookieLookup = Object.freeze({ kind: 'none' });
const AMBIGUOUS: CookieLookup = Object.freeze({ kind: 'ambiguous' });

/**
 * Finds the session cookie in a Cookie request header. A name sent twice (cookie
 * tossing from a sibling domain or path) is ambiguous and is not trusted.
 *
 * Runs on every request, on headers a client chooses, so it is linear in the header's
 * length (and the header is bounded): it walks the header in place instead of splitting
 * it, and each search (`;`, `=`, the cookie's name) resumes where its last hit lies
 * instead of scanning the rest of the header again for every pair. A pair whose name part
 * does not contain the cookie's name is skipped without copying it.
 */
export function findSessionCookie(header: string | string[] | undefined, name: string): CookieLookup {
  if (header === undefined) return NONE;
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (text.length > MAX_COOKIE_HEADER) return AMBIGUOUS;
  let found: string | undefined;
  let count = 0;
  // The next '=' and the next occurrence of the name at or after the current pair (-1: none left).
  let nextEq = -2;
  let nextName = -2;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    if (nextEq !== -1 && nextEq < start) nextEq = text.indexOf('=', start);
    if (nextEq >= 0 && nextEq < end) {
      if (name.length === 0) nextName = start;
      else if (nextName !== -1 && nextName < start) nextName = text.indexOf(name, start);
      if (nextName >= 0 && nextName + name.length <= nextEq && text.slice(start, nextEq).trim() === name) {
        count++;
        let value = text.slice(nextEq + 1, end).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        found = value;
      }
    }
    start = end + 1;
  }
  if (count === 0) return NONE;
  return count === 1 && found !== undefined ? { kind: 'one', value: found } : AMBIGUOUS;
}

/** The value of the cookie `name` in a Cookie header, or undefined when it is absent or sent twice (same parser as the session cookie's). */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  const found = findSessionCookie(header, name);
  return found.kind === 'one' ? found.value : undefined;
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
