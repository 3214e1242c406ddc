import { isPlainObject, show, unknownKeys } from '../options/option-checks.js';
import { originOf, type OriginPolicy } from './origin-policy.js';

/** Options of the origin/CSRF guard. */
export interface OriginOptions {
  /**
   * Origins allowed besides the app's own (a separate front end, for example). The app's
   * own origin (scheme and Host of the request) is always allowed. `null` is never allowed.
   * @default []
   */
  allowedOrigins?: string[];
  /**
   * The header every state-changing and proxied request must carry.
   * @default { name: 'x-csrf', value: '1' }
   */
  csrfHeader?: { name: string; value: string };
}

/** Options of CORS: off unless configured; credentials only to allowlisted origins. */
export interface CorsOptions {
  /** Exact origins, e.g. `https://app.example.com`. No wildcards, no `null`. */
  origins: string[];
  /** @default ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] */
  methods?: string[];
  /** Request headers a cross-origin page may send. @default ['content-type', <csrf header>] */
  allowedHeaders?: string[];
  /** @default 600 */
  maxAgeSeconds?: number;
}

export interface ResolvedCors {
  origins: ReadonlySet<string>;
  methods: string;
  allowedHeaders: string;
  maxAge: string;
}

function origins(list: unknown, path: string, problems: string[]): Set<string> {
  const out = new Set<string>();
  if (list === undefined) return out;
  if (!Array.isArray(list)) {
    problems.push(`${path}: expected an array of origins such as 'https://app.example.com'.`);
    return out;
  }
  for (const o of list) {
    const normalized = typeof o === 'string' && o !== 'null' && !o.includes('*') ? originOf(o) : null;
    if (!normalized || normalized !== String(o).toLowerCase().replace(/\/$/, '')) {
      problems.push(`${path}: ${show(o)} is not an exact origin (scheme://host[:port], no path, no wildcard, never 'null').`);
    } else out.add(normalized);
  }
  return out;
}

export function resolveOrigin(raw: unknown, problems: string[]): OriginPolicy {
  const o = raw === undefined ? {} : raw;
  if (!isPlainObject(o)) {
    problems.push(`origin: expected an object, got ${show(raw)}.`);
    return { allowedOrigins: new Set(), csrfHeader: { name: 'x-csrf', value: '1' } };
  }
  unknownKeys(o, ['allowedOrigins', 'csrfHeader'], 'origin.', problems);
  let csrfHeader = { name: 'x-csrf', value: '1' };
  if (o.csrfHeader !== undefined) {
    const h = o.csrfHeader as Record<string, unknown>;
    if (!isPlainObject(h) || typeof h.name !== 'string' || !/^[a-z0-9-]{1,64}$/i.test(h.name) || typeof h.value !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(h.value)) {
      problems.push("origin.csrfHeader: expected { name: 'x-csrf', value: '1' } (a header name and a visible-ASCII value).");
    } else if (['cookie', 'origin', 'referer', 'content-type', 'accept', 'accept-language', 'content-language'].includes(h.name.toLowerCase())) {
      problems.push(`origin.csrfHeader.name: '${h.name}' is a header a cross-site page can send; choose a custom name such as 'x-csrf'.`);
    } else csrfHeader = { name: h.name.toLowerCase(), value: h.value };
  }
  return { allowedOrigins: origins(o.allowedOrigins, 'origin.allowedOrigins', problems), csrfHeader };
}

export function resolveCors(raw: unknown, csrfHeader: string, problems: string[]): ResolvedCors | null {
  if (raw === undefined || raw === false) return null;
  if (!isPlainObject(raw)) {
    problems.push(`cors: expected { origins: [...] }, got ${show(raw)}.`);
    return null;
  }
  unknownKeys(raw, ['origins', 'methods', 'allowedHeaders', 'maxAgeSeconds'], 'cors.', problems);
  const set = origins(raw.origins, 'cors.origins', problems);
  if (set.size === 0) problems.push('cors.origins: list at least one exact origin, or leave cors unset (off).');
  const methods = Array.isArray(raw.methods) ? raw.methods.map((m) => String(m).toUpperCase()) : ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const headers = Array.isArray(raw.allowedHeaders) ? raw.allowedHeaders.map((h) => String(h).toLowerCase()) : ['content-type', csrfHeader];
  if (headers.some((h) => !/^[a-z0-9-]{1,64}$/.test(h))) problems.push('cors.allowedHeaders: expected header names.');
  const maxAge = raw.maxAgeSeconds === undefined ? 600 : Number(raw.maxAgeSeconds);
  if (!Number.isInteger(maxAge) || maxAge < 0 || maxAge > 86_400) problems.push('cors.maxAgeSeconds: expected an integer between 0 and 86400.');
  return { origins: set, methods: methods.join(', '), allowedHeaders: headers.join(', '), maxAge: String(maxAge) };
}
