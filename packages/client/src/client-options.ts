import type { SessionEndedError } from './client-errors.js';

/** Automatic retry of a 429 or 503 answer, after the wait its `Retry-After` asks for. */
export interface RetryOptions {
  /**
   * Retries after the first answer (0: none). At most 5.
   * @default 0
   */
  attempts?: number;
  /**
   * The longest wait honoured: an answer asking for more is not retried (its error says how
   * long, in `retryAfterSeconds`). At most 60 000.
   * @default 10_000
   */
  maxDelayMs?: number;
  /**
   * The wait when a 429/503 answer has no usable `Retry-After`.
   * @default 1_000
   */
  defaultDelayMs?: number;
  /**
   * Methods that may be retried. POST and PATCH are not idempotent: list them only for
   * routes you know are.
   * @default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']
   */
  methods?: readonly string[];
}

/** Options of {@link createKeywardClient}. Every one is optional. */
export interface KeywardClientOptions {
  /**
   * Where the Keyward app is: empty for this page's own origin, a path prefix (`/bff`), or
   * an absolute URL. Another origin needs `credentials: 'include'` (and that origin must list
   * this page in `cors.origins` and `origin.allowedOrigins`).
   * @default ''
   * @example baseUrl: 'https://app.example.com/bff'
   */
  baseUrl?: string;
  /**
   * `'same-origin'`: the cookie goes only to this page's origin. `'include'` is accepted only
   * with a `baseUrl` on another origin, and must be asked for.
   * @default 'same-origin'
   */
  credentials?: 'same-origin' | 'include';
  /**
   * The custom header Keyward's origin guard requires (`origin.csrfHeader` on the server).
   * Sent on every request.
   * @default { name: 'X-CSRF', value: '1' }
   */
  csrfHeader?: { name: string; value: string };
  /**
   * Called with the error when a request finds the session ended (401 with a session code),
   * once per burst: not again until a request sent after it succeeds (a new login).
   * @example onSessionEnded: () => showLogin('Your session has ended.')
   */
  onSessionEnded?: (error: SessionEndedError) => void;
  /** Automatic retry of 429/503 for idempotent methods; off by default. `false`: off. */
  retry?: RetryOptions | false;
  /**
   * The session probe's route, asked with `?slide=false` so that asking does not extend it.
   * @default '/api/auth/session'
   */
  sessionPath?: string;
  /**
   * Where Keyward's proxy routes start (`/api/proxy/<service>/...`).
   * @default '/api/proxy'
   */
  proxyPrefix?: string;
}

/** The options after validation, every default filled in. */
export interface ResolvedClientOptions {
  /** Absolute base (no trailing slash), or '' for the page's origin. */
  baseUrl: string;
  credentials: 'same-origin' | 'include';
  csrfHeader: { name: string; value: string };
  onSessionEnded: ((error: SessionEndedError) => void) | undefined;
  retry: { attempts: number; maxDelayMs: number; defaultDelayMs: number; methods: ReadonlySet<string> };
  sessionPath: string;
  proxyPrefix: string;
}

const KEYS = ['baseUrl', 'credentials', 'csrfHeader', 'onSessionEnded', 'retry', 'sessionPath', 'proxyPrefix'];
const RETRY_KEYS = ['attempts', 'maxDelayMs', 'defaultDelayMs', 'methods'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VISIBLE = /^[\x21-\x7e]+$/;
/** Headers a page sends on its own; a CSRF header must be one a cross-site form cannot. */
const NOT_CUSTOM = new Set(['accept', 'accept-language', 'content-language', 'content-type', 'range', 'cookie', 'authorization', 'origin', 'referer', 'host']);
/** What a path option may look like: one leading slash, no query, no fragment, no backslash. */
const PATH = /^\/(?!\/)[^?#\\\s]*$/;
const show = (v: unknown): string => (typeof v === 'string' ? `'${v.length > 60 ? `${v.slice(0, 60)}…` : v}'` : typeof v === 'function' ? 'a function' : JSON.stringify(v) ?? String(v));

function unknownKeys(o: Record<string, unknown>, known: string[], prefix: string, problems: string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = known.find((n) => n.toLowerCase() === k.toLowerCase() || n.toLowerCase().startsWith(k.toLowerCase().slice(0, 4)));
    problems.push(`${prefix}${k}: unknown option.${near ? ` Did you mean \`${near}\`?` : ` Known: ${known.join(', ')}.`}`);
  }
}

/**
 * Validates the client's options once, reporting every problem in one `TypeError` (each
 * with the bad value and the fix). `pageOrigin` is this page's origin (`location.origin`),
 * undefined outside a browser.
 *
 * @example
 * resolveClientOptions({ baseUrl: '/bff' }, 'https://app.example.com')
 */
export function resolveClientOptions(raw: KeywardClientOptions | undefined, pageOrigin: string | undefined): ResolvedClientOptions {
  const problems: string[] = [];
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TypeError(`createKeywardClient: expected an options object, got ${show(raw)}.`);
  unknownKeys(o, KEYS, '', problems);

  let baseUrl = '';
  let crossOrigin = false;
  if (o.baseUrl !== undefined && o.baseUrl !== '') {
    const b = o.baseUrl;
    if (typeof b !== 'string') problems.push(`baseUrl: expected a string (a path such as '/bff' or an absolute URL), got ${show(b)}.`);
    else if (b.startsWith('/')) {
      if (!PATH.test(b)) problems.push(`baseUrl: ${show(b)} must be a plain path: one leading '/', no '//', query, fragment or backslash.`);
      else baseUrl = b.replace(/\/+$/, '');
    } else {
      let url: URL | undefined;
      try {
        url = new URL(b);
      } catch {
        problems.push(`baseUrl: ${show(b)} is neither a path starting with '/' nor an absolute URL.`);
      }
      if (url) {
        if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`baseUrl: ${show(b)} must be an http(s) URL.`);
        else if (url.username || url.password) problems.push('baseUrl: must not contain credentials (user:password@); the session cookie is the only credential.');
        else if (url.search || url.hash) problems.push(`baseUrl: ${show(b)} must not have a query string or fragment.`);
        else {
          baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
          crossOrigin = pageOrigin !== undefined && url.origin !== pageOrigin;
        }
      }
    }
  }

  let credentials: 'same-origin' | 'include' = 'same-origin';
  if (o.credentials !== undefined) {
    if (o.credentials !== 'same-origin' && o.credentials !== 'include') problems.push(`credentials: expected 'same-origin' or 'include', got ${show(o.credentials)}.`);
    else credentials = o.credentials;
  }
  if (crossOrigin && credentials !== 'include') {
    problems.push(`baseUrl: ${show(o.baseUrl)} is another origin than this page (${pageOrigin}); the session cookie would not be sent. Pass credentials: 'include' if that app allows this page's origin, else serve the page from the app's origin.`);
  }
  if (credentials === 'include' && !crossOrigin && pageOrigin !== undefined) {
    problems.push("credentials: 'include' is only for a baseUrl on another origin; this one is the page's own. Leave it out ('same-origin').");
  }

  let csrfHeader = { name: 'X-CSRF', value: '1' };
  if (o.csrfHeader !== undefined) {
    const h = o.csrfHeader as Record<string, unknown>;
    if (typeof h !== 'object' || h === null || typeof h.name !== 'string' || typeof h.value !== 'string' || !TOKEN.test(h.name) || !VISIBLE.test(h.value)) {
      problems.push(`csrfHeader: expected { name: 'X-CSRF', value: '1' } (a header name and a visible-ASCII value, as origin.csrfHeader on the server), got ${show(o.csrfHeader)}.`);
    } else if (NOT_CUSTOM.has(h.name.toLowerCase()) || h.name.toLowerCase().startsWith('sec-')) {
      problems.push(`csrfHeader.name: '${h.name}' is not a custom header; use the one the server's origin.csrfHeader names (default 'X-CSRF').`);
    } else csrfHeader = { name: h.name, value: h.value };
  }

  let onSessionEnded: ResolvedClientOptions['onSessionEnded'];
  if (o.onSessionEnded !== undefined) {
    if (typeof o.onSessionEnded !== 'function') problems.push(`onSessionEnded: expected a function, got ${show(o.onSessionEnded)}.`);
    else onSessionEnded = o.onSessionEnded as ResolvedClientOptions['onSessionEnded'];
  }

  const retry = { attempts: 0, maxDelayMs: 10_000, defaultDelayMs: 1_000, methods: new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) };
  if (o.retry !== undefined && o.retry !== false) {
    const r = o.retry as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) problems.push(`retry: expected { attempts, maxDelayMs, methods } or false, got ${show(o.retry)}.`);
    else {
      unknownKeys(r, RETRY_KEYS, 'retry.', problems);
      const int = (key: 'attempts' | 'maxDelayMs' | 'defaultDelayMs', max: number): void => {
        const v = r[key];
        if (v === undefined) return;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) problems.push(`retry.${key}: expected an integer from 0 to ${max}, got ${show(v)}.`);
        else retry[key] = v;
      };
      int('attempts', 5);
      int('maxDelayMs', 60_000);
      int('defaultDelayMs', 60_000);
      if (r.methods !== undefined) {
        if (!Array.isArray(r.methods) || !r.methods.every((m) => typeof m === 'string' && TOKEN.test(m))) problems.push(`retry.methods: expected a list of HTTP methods such as ['GET'], got ${show(r.methods)}.`);
        else retry.methods = new Set((r.methods as string[]).map((m) => m.toUpperCase()));
      }
    }
  }

  const path = (key: 'sessionPath' | 'proxyPrefix', fallback: string): string => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !PATH.test(v)) {
      problems.push(`${key}: expected a path such as '${fallback}' (one leading '/', no query), got ${show(v)}.`);
      return fallback;
    }
    return v.replace(/\/+$/, '') || '/';
  };
  const sessionPath = path('sessionPath', '/api/auth/session');
  const proxyPrefix = path('proxyPrefix', '/api/proxy');

  if (problems.length > 0) {
    throw new TypeError([`Invalid Keyward client options: ${problems.length} problem(s).`, ...problems.map((p, i) => `  ${i + 1}. ${p}`)].join('\n'));
  }
  return { baseUrl, credentials, csrfHeader, onSessionEnded, retry, sessionPath, proxyPrefix };
}
