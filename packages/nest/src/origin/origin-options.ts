import { isPlainObject, show, unknownKeys } from '../util/option-checks.js';
import { originOf, type OriginPolicy } from './origin-policy.js';

/** Options of the origin/CSRF guard. */
export interface OriginOptions {
  /**
   * @deprecated An alias of {@link CorsOptions.origins} (`cors: { origins: [...] }`), the
   * one setting for a front end on another origin: the origins listed there pass the
   * origin/CSRF check and get CORS. This alias turns CORS on for its origins like
   * `cors.origins` (a startup warning says so); listed with a different `cors.origins`, or
   * with `cors: false`, it is refused. The app's own origin is always allowed; `null` never.
   * @default []
   */
  allowedOrigins?: string[];
  /**
   * The header every state-changing and proxied request must carry.
   * @default { name: 'x-csrf', value: '1' }
   */
  csrfHeader?: { name: string; value: string };
  /**
   * Host names the app answers to (the `Host` header, or `X-Forwarded-Host` from a trusted
   * proxy), as dev servers do (Vite's `server.allowedHosts`): any other name is refused
   * with 421 `KW_HOST_NOT_ALLOWED`, on every request and WebSocket upgrade. This stops DNS
   * rebinding: a page at `http://evil.example` re-pointed at the app would otherwise be
   * "same origin" and pass the origin check.
   *
   * Always allowed besides the list: IP addresses, `localhost` and `*.localhost` (a
   * rebinding page cannot make a browser send those), the host of `transport.publicOrigin`
   * and the hosts of `allowedOrigins`. Entries are host names without scheme or port
   * (the port is not compared); `.example.com` allows that name and every name below it.
   * @default [] (only the names above)
   * @example { allowedHosts: ['app.example.com', '.preview.example.com'] }
   */
  allowedHosts?: string[];
}

/**
 * A front end on another origin: the one setting. Off unless configured. The origins
 * listed get credentialed CORS (exact origins only, never a reflected one) and pass the
 * origin/CSRF check of the guard, the proxy and WebSocket upgrades; their hosts pass the
 * Host allowlist. Do not also call `app.enableCors()`: Keyward answers CORS ahead of the
 * framework, and refuses to start when both are used.
 *
 * @example
 * KeywardModule.forRoot({ session: {...}, cors: { origins: ['https://app.example.com'] } })
 */
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
  unknownKeys(o, ['allowedOrigins', 'csrfHeader', 'allowedHosts'], 'origin.', problems, {
    allowedhost: 'Use `origin.allowedHosts` (a list).',
    hosts: 'Use `origin.allowedHosts`.',
  });
  let csrfHeader = { name: 'x-csrf', value: '1' };
  if (o.csrfHeader !== undefined) {
    const h = o.csrfHeader as Record<string, unknown>;
    if (!isPlainObject(h) || typeof h.name !== 'string' || !/^[a-z0-9-]{1,64}$/i.test(h.name) || typeof h.value !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(h.value)) {
      problems.push("origin.csrfHeader: expected { name: 'x-csrf', value: '1' } (a header name and a visible-ASCII value).");
    } else if (['cookie', 'origin', 'referer', 'content-type', 'accept', 'accept-language', 'content-language'].includes(h.name.toLowerCase())) {
      problems.push(`origin.csrfHeader.name: '${h.name}' is a header a cross-site page can send; choose a custom name such as 'x-csrf'.`);
    } else csrfHeader = { name: h.name.toLowerCase(), value: h.value };
  }
  return { allowedOrigins: origins(o.allowedOrigins, 'origin.allowedOrigins', problems), csrfHeader, allowedHosts: hosts(o.allowedHosts, problems) };
}

const HOST_NAME = /^\.?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function hosts(list: unknown, problems: string[]): string[] {
  const path = 'origin.allowedHosts';
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    problems.push(`${path}: expected an array of host names such as ['app.example.com'], got ${show(list)}.`);
    return [];
  }
  const out: string[] = [];
  for (const h of list) {
    const s = typeof h === 'string' ? h : '';
    if (HOST_NAME.test(s)) {
      out.push(s);
      continue;
    }
    let fix = "a lower-case host name such as 'app.example.com', or '.example.com' for every name below it";
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) fix = `a host name, not an origin: '${originOf(s) ? new URL(s).hostname : 'app.example.com'}'`;
    else if (s.startsWith('*.')) fix = `'${s.slice(1)}' (a leading dot allows every name below it; no wildcards)`;
    else if (/:\d+$/.test(s)) fix = `'${s.replace(/:\d+$/, '')}' (no port; ports are not compared)`;
    else if (s !== s.toLowerCase() && HOST_NAME.test(s.toLowerCase())) fix = `'${s.toLowerCase()}' (lower case)`;
    problems.push(`${path}: ${show(h)} is not a host name. Use ${fix}.`);
  }
  return out;
}

/**
 * The origin policy and CORS, resolved together so that one list decides both:
 * `cors.origins` also allows those origins through the origin/CSRF check, and the
 * deprecated `origin.allowedOrigins` is read as `cors.origins` (a warning), refused when it
 * disagrees with a `cors.origins` given beside it or comes with `cors: false`.
 */
export function resolveCrossOrigin(rawOrigin: unknown, rawCors: unknown, problems: string[], warnings: string[]): { origin: OriginPolicy; cors: ResolvedCors | null } {
  const origin = resolveOrigin(rawOrigin, problems);
  let cors = resolveCors(rawCors, origin.csrfHeader.name, problems);
  const legacy = isPlainObject(rawOrigin) && rawOrigin.allowedOrigins !== undefined ? [...origin.allowedOrigins] : [];
  if (legacy.length > 0) {
    const fix = `cors: { origins: ${JSON.stringify([...new Set([...legacy, ...(cors?.origins ?? [])])])} }`;
    if (rawCors === false) {
      problems.push(`origin.allowedOrigins: a deprecated alias of cors.origins, which turns CORS on for those origins; it cannot be used with cors: false. Set ${fix}, or remove origin.allowedOrigins.`);
    } else if (cors === null && rawCors === undefined) {
      cors = resolveCors({ origins: legacy }, origin.csrfHeader.name, problems);
      warnings.push(`origin.allowedOrigins is deprecated: it is read as cors.origins (these origins get CORS and pass the origin check). Write ${fix} instead.`);
    } else if (cors !== null) {
      const same = cors.origins.size === legacy.length && legacy.every((o) => cors!.origins.has(o));
      if (!same) problems.push(`origin.allowedOrigins and cors.origins list different origins; one list decides both CORS and the origin check. Keep only ${fix}.`);
      else warnings.push(`origin.allowedOrigins is deprecated and repeats cors.origins: remove it.`);
    }
  }
  if (cors !== null) origin.allowedOrigins = new Set([...origin.allowedOrigins, ...cors.origins]);
  return { origin, cors };
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
