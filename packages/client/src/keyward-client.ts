import { NetworkError, KeywardClientError, SessionEndedError, errorFromResponse, pathOf } from './client-errors.js';
import { resolveClientOptions, type KeywardClientOptions, type ResolvedClientOptions } from './client-options.js';
import { parseRetryAfter, wait } from './retry-after.js';

/**
 * What a request takes: `fetch`'s options, except `credentials` (the client decides) and
 * with a per-request `retry` (`false`, or fewer/more attempts than the client's).
 * Defaults differ from `fetch` where an API call is safer so: `cache: 'no-store'`,
 * `redirect: 'error'` (an API answer never redirects; a redirect is refused, not followed).
 */
export interface KeywardRequestInit extends Omit<RequestInit, 'credentials'> {
  retry?: false | { attempts: number };
}

/** A request whose body is JSON: `json` is serialised and sent as `application/json`. */
export interface KeywardJsonInit extends KeywardRequestInit {
  json?: unknown;
}

/** What Keyward's session route answers (`GET /api/auth/session`); apps may add fields. */
export interface SessionInfo {
  user: { name?: string; id?: string; [field: string]: unknown };
  /** ISO 8601: the idle expiry. */
  expiresAt: string;
  /** ISO 8601: the absolute expiry, never extended. */
  absoluteExpiresAt: string;
  /** ISO 8601: when the session ID was last rotated (null: not since login). */
  rotatedAt?: string | null;
  [field: string]: unknown;
}

/** The client {@link createKeywardClient} returns. No method ever stores or sends a token. */
export interface KeywardClient {
  /**
   * Like `window.fetch` (resolves with any status), plus the CSRF header, same-origin
   * cookies, `Retry-After` retries and the session-ended report. Read refusals with
   * `errorFromResponse`.
   */
  fetch(path: string, init?: KeywardRequestInit): Promise<Response>;
  /** As {@link KeywardClient.fetch}, but an answer >= 400 throws its typed error. */
  request(path: string, init?: KeywardRequestInit): Promise<Response>;
  /** A request answered with JSON: the parsed body, `null` for an empty one (204). Throws typed errors. */
  json<T = unknown>(path: string, init?: KeywardJsonInit): Promise<T>;
  get<T = unknown>(path: string, init?: KeywardRequestInit): Promise<T>;
  post<T = unknown>(path: string, body?: unknown, init?: KeywardRequestInit): Promise<T>;
  put<T = unknown>(path: string, body?: unknown, init?: KeywardRequestInit): Promise<T>;
  patch<T = unknown>(path: string, body?: unknown, init?: KeywardRequestInit): Promise<T>;
  delete<T = unknown>(path: string, init?: KeywardRequestInit): Promise<T>;
  /**
   * A call through Keyward's proxy: `proxy('openai', '/models')` is
   * `<proxyPrefix>/openai/models`. The key is attached on the server. Resolves with the
   * upstream's answer (2xx); a refusal throws its typed error.
   */
  proxy(service: string, path: string, init?: KeywardJsonInit): Promise<Response>;
  /**
   * The current session, or `null` when there is none (401). Asks with `?slide=false`, so
   * polling it (a time-left display) never extends the session; `{ slide: true }` asks
   * without it.
   */
  session<T = SessionInfo>(options?: { signal?: AbortSignal; slide?: boolean }): Promise<T | null>;
  /** The absolute URL a path resolves to (refuses a path that leaves the base URL). */
  url(path: string): string;
}

/** Headers the client never sends: there is no token in the browser, and the cookie is the browser's. */
const NEVER_SENT = ['authorization', 'proxy-authorization', 'cookie'];
const SERVICE = /^(?!\.{1,2}$)[A-Za-z0-9._~-]{1,100}$/;

/**
 * Creates the browser's client for a Keyward app. Every request carries the CSRF header
 * (`X-CSRF: 1`), sends the session cookie to this origin only, and never carries a token.
 * Refusals become typed errors ({@link KeywardClientError} and its subclasses by status);
 * the first request that finds the session ended calls `onSessionEnded` (once per burst);
 * 429/503 answers can be retried after their `Retry-After` (off by default, idempotent
 * methods only).
 *
 * @example
 * const kw = createKeywardClient({ onSessionEnded: () => showLogin() });
 * await kw.post('/api/auth/login', { username, password });
 * const models = await (await kw.proxy('openai', '/models')).json();
 * const session = await kw.session(); // null when signed out; does not extend the session
 */
export function createKeywardClient(options?: KeywardClientOptions): KeywardClient {
  const pageOrigin = typeof location === 'object' && location !== null && typeof location.origin === 'string' && location.origin !== 'null' ? location.origin : undefined;
  const o: ResolvedClientOptions = resolveClientOptions(options, pageOrigin);

  // The session-ended report, once per burst: after a report, only a success of a request
  // started after it (a new login, say) re-arms it; answers to requests already in flight do not.
  let started = 0;
  let reportedAt: number | null = null;
  const succeeded = (seq: number): void => {
    if (reportedAt !== null && seq > reportedAt) reportedAt = null;
  };
  const sessionEnded = (error: SessionEndedError): void => {
    if (reportedAt !== null) return;
    reportedAt = started;
    if (!o.onSessionEnded) return;
    try {
      o.onSessionEnded(error);
    } catch (e) {
      // The caller still gets its own error; the handler's failure is reported, not swallowed
      // (reportError in a browser: the console and the window's error event).
      const report = (globalThis as { reportError?: (e: unknown) => void }).reportError ?? console.error;
      report(e);
    }
  };

  function url(path: string): string {
    if (typeof path !== 'string' || !/^\/(?![/\\])/.test(path)) throw new TypeError(`Keyward client: a path must start with a single '/', got ${JSON.stringify(String(path).slice(0, 80))}.`);
    // A path or empty base is resolved against the page; an absolute one stands alone.
    const relative = o.baseUrl === '' || o.baseUrl.startsWith('/');
    if (relative && !pageOrigin) throw new TypeError('Keyward client: outside a browser page, pass an absolute baseUrl.');
    const page = relative ? pageOrigin : undefined;
    const full = new URL(o.baseUrl + path, page);
    const base = new URL(o.baseUrl || '/', page);
    const prefix = `${base.pathname.replace(/\/+$/, '')}/`;
    if (full.origin !== base.origin || !`${full.pathname}/`.startsWith(prefix)) {
      throw new TypeError(`Keyward client: ${JSON.stringify(path.slice(0, 80))} leaves the base URL; use a path below it.`);
    }
    return full.href;
  }

  function headersFor(init: KeywardRequestInit | undefined): Headers {
    const headers = new Headers(init?.headers);
    for (const name of NEVER_SENT) {
      if (headers.has(name)) throw new TypeError(`Keyward client: refusing to send a ${name} header. The browser holds no token: Keyward's proxy attaches the key on the server, and the session cookie is sent by the browser.`);
    }
    headers.set(o.csrfHeader.name, o.csrfHeader.value);
    return headers;
  }

  const replayable = (body: RequestInit['body']): boolean => body === undefined || body === null || !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream);

  /** One request, retried after Retry-After when allowed; resolves with the last answer (any status). */
  async function send(path: string, init: KeywardRequestInit = {}): Promise<Response> {
    const seq = ++started;
    const { retry, ...rest } = init;
    const method = (init.method ?? 'GET').toUpperCase();
    const target = url(path);
    const headers = headersFor(init);
    const attempts = retry === false ? 0 : retry ? Math.min(Math.max(0, Math.trunc(retry.attempts) || 0), 5) : o.retry.attempts;
    const mayRetry = attempts > 0 && o.retry.methods.has(method) && replayable(init.body);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await globalThis.fetch(target, { cache: 'no-store', redirect: 'error', ...rest, method, headers, credentials: o.credentials });
      } catch (cause) {
        if (init.signal?.aborted) throw init.signal.reason;
        throw new NetworkError({ status: 0, code: 'NETWORK_ERROR', message: 'No answer from the server (offline, unreachable, refused by CORS, or a redirect).', method, path: pathOf(target), cause });
      }
      if (res.ok) succeeded(seq);
      if (mayRetry && attempt < attempts && (res.status === 429 || res.status === 503)) {
        const seconds = parseRetryAfter(res.headers.get('retry-after'));
        const delay = seconds === undefined ? o.retry.defaultDelayMs : seconds * 1000;
        if (delay <= o.retry.maxDelayMs) {
          await res.body?.cancel().catch(() => undefined);
          await wait(delay, init.signal);
          continue;
        }
      }
      if (res.status === 401) {
        const error = await errorFromResponse(res.clone(), method);
        if (error instanceof SessionEndedError) sessionEnded(error);
      }
      return res;
    }
  }

  async function request(path: string, init: KeywardRequestInit = {}): Promise<Response> {
    const res = await send(path, init);
    if (res.status < 400) return res;
    throw await errorFromResponse(res, (init.method ?? 'GET').toUpperCase());
  }

  function withJson(init: KeywardJsonInit | undefined): KeywardRequestInit {
    const { json, ...rest } = init ?? {};
    const headers = new Headers(rest.headers);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    if (json === undefined) return { ...rest, headers };
    if (rest.body !== undefined && rest.body !== null) throw new TypeError('Keyward client: pass either `json` or `body`, not both.');
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return { ...rest, headers, body: JSON.stringify(json) };
  }

  async function json<T>(path: string, init?: KeywardJsonInit): Promise<T> {
    const method = (init?.method ?? 'GET').toUpperCase();
    const res = await request(path, withJson(init));
    const text = await res.text();
    if (!text) return null as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new KeywardClientError({ status: res.status, code: 'INVALID_JSON', message: `The answer to ${method} ${pathOf(res.url)} is not JSON.`, method, path: pathOf(res.url), requestId: res.headers.get('x-request-id') ?? undefined, cause });
    }
  }

  const withBody = (method: string) => <T>(path: string, body?: unknown, init?: KeywardRequestInit): Promise<T> => json<T>(path, { ...init, method, json: body });

  return {
    fetch: send,
    request,
    json,
    get: (path, init) => json(path, { ...init, method: 'GET' }),
    post: withBody('POST'),
    put: withBody('PUT'),
    patch: withBody('PATCH'),
    delete: (path, init) => json(path, { ...init, method: 'DELETE' }),
    async proxy(service, path, init) {
      if (typeof service !== 'string' || !SERVICE.test(service)) throw new TypeError(`Keyward client: ${JSON.stringify(String(service).slice(0, 80))} is not a proxy service name (letters, digits, '.', '_', '~', '-').`);
      if (typeof path !== 'string') throw new TypeError('Keyward client: the proxied path must be a string.');
      const below = `${o.proxyPrefix}/${service}/`;
      const full = url(below + path.replace(/^\//, ''));
      // A path with '..' (or its encodings) is normalised by URL before it is sent: refuse it
      // here rather than reach another route.
      if (!new URL(full).pathname.startsWith(new URL(url(below)).pathname)) throw new TypeError(`Keyward client: the proxied path ${JSON.stringify(path.slice(0, 80))} leaves /${service}/.`);
      return request(below + path.replace(/^\//, ''), init && 'json' in init ? withJson(init) : init);
    },
    async session<T = SessionInfo>(options: { signal?: AbortSignal; slide?: boolean } = {}): Promise<T | null> {
      const path = options.slide === true ? o.sessionPath : `${o.sessionPath}?slide=false`;
      try {
        return await json<T>(path, { method: 'GET', ...(options.signal ? { signal: options.signal } : {}) });
      } catch (e) {
        if (e instanceof SessionEndedError) return null;
        throw e;
      }
    },
    url,
  };
}
