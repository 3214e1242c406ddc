/**
 * Turns the part of a proxy URL after `/<prefix>/<service>/` into a path that is
 * guaranteed to stay below the upstream's base path, or says why it cannot.
 * Allowlist: each segment, decoded exactly once, must be non-empty, not `.`/`..`, and
 * free of `/`, `\`, `%`, control characters and NUL; it is then re-encoded canonically.
 * The query is checked against its own allowlist and forwarded as sent (URL serialisation
 * percent-encodes only its `'`).
 * Nothing is "cleaned up": a suspicious path is refused, never rewritten.
 */

export type PathVerdict = { ok: true; path: string; query: string } | { ok: false; reason: string };

const MAX_PATH = 2048;
const MAX_QUERY = 4096;
const CONTROL = /[\u0000-\u001f\u007f]/;
const RAW_ALLOWED = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]*$/;
/**
 * Query characters accepted as sent. Besides RFC 3986's query characters, `[` and `]`:
 * browsers send them unencoded (`?filter[name]=x`, `?ids[]=1`), and in the query they
 * cannot change the target's host or path. They stay refused in the path.
 */
const QUERY_ALLOWED = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?[\]]*$/;
/**
 * Unreserved characters only, not starting with a dot: decoding, NFKC and canonical
 * re-encoding all leave such a segment as it is, and it cannot be a dot segment.
 */
const PLAIN_SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** @param rest raw (undecoded) path after the service name, without a leading slash; may include `?query`. */
export function normalizeProxyPath(rest: string): PathVerdict {
  if (typeof rest !== 'string') return { ok: false, reason: 'missing path' };
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  const rawQuery = q < 0 ? '' : rest.slice(q + 1);
  if (rawPath.length > MAX_PATH || rawQuery.length > MAX_QUERY) return { ok: false, reason: 'path too long' };
  if (rest.includes('#')) return { ok: false, reason: 'fragment in path' };
  if (CONTROL.test(rest)) return { ok: false, reason: 'control character in path' };
  if (rawPath.length === 0) return { ok: false, reason: 'empty path' };
  const segments = rawPath.split('/');
  const out: string[] = [];
  for (const raw of segments) {
    if (raw.length === 0) return { ok: false, reason: 'empty segment (// or leading/trailing slash)' };
    if (PLAIN_SEGMENT.test(raw)) {
      out.push(raw);
      continue;
    }
    if (!RAW_ALLOWED.test(raw)) return { ok: false, reason: 'character not allowed in path' };
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: 'malformed percent-encoding' };
    }
    // Also refused: a dot segment with path parameters (`..;x`, Tomcat/Jetty read it as `..`) and
    // what NFKC-normalising servers read as dots or separators (fullwidth `．．`, `‥`, `／`).
    const compat = decoded.normalize('NFKC');
    const bare = (s: string): string => s.split(';', 1)[0]!;
    if ([decoded, bare(decoded), compat, bare(compat)].some((s) => s === '.' || s === '..')) return { ok: false, reason: 'dot segment' };
    if (/[/\\%]/.test(decoded) || /[/\\%]/.test(compat) || CONTROL.test(decoded)) return { ok: false, reason: 'encoded separator, percent or control character' };
    if (decoded.trim() !== decoded || decoded.length === 0) return { ok: false, reason: 'whitespace around a segment' };
    out.push(encodeSegment(decoded));
  }
  if (rawQuery && !QUERY_ALLOWED.test(rawQuery)) return { ok: false, reason: 'character not allowed in query' };
  if (rawQuery) {
    try {
      const decodedQuery = decodeURIComponent(rawQuery.replace(/\+/g, ' '));
      if (CONTROL.test(decodedQuery)) return { ok: false, reason: 'control character in query' };
    } catch {
      return { ok: false, reason: 'malformed percent-encoding in query' };
    }
  }
  return { ok: true, path: out.join('/'), query: rawQuery };
}

/**
 * Joins a checked path to a base URL and verifies the result is still below the base:
 * same origin, base path as a prefix. Throws if not (defence in depth).
 */
export function joinBelow(base: URL, path: string, query: string): URL {
  const basePath = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  const target = new URL(`${base.origin}${basePath}${path}${query ? `?${query}` : ''}`);
  if (target.origin !== base.origin || !target.pathname.startsWith(basePath)) throw new Error('proxy target escaped its base');
  return target;
}
