import { SESSION_ENDED_CODES, type ClientErrorCode } from './error-codes.js';
import { parseRetryAfter } from './retry-after.js';

/**
 * What kind of refusal an error is; the discriminant of {@link AnyKeywardClientError}.
 * - `session-ended`: 401 with a session code: log in again ({@link SessionEndedError});
 * - `forbidden`: 403, the origin/CSRF guard or HTTPS ({@link ForbiddenError});
 * - `rate-limited`: 429, wait `retryAfterSeconds` ({@link RateLimitedError});
 * - `unavailable`: 503, a store or an upstream is busy or down ({@link UnavailableError});
 * - `network`: no answer at all ({@link NetworkError});
 * - `http`: any other status.
 */
export type KeywardErrorKind = 'session-ended' | 'forbidden' | 'rate-limited' | 'unavailable' | 'network' | 'http';

/** What an error is made of (the parts a server answer gives). */
export interface KeywardClientErrorInit {
  status: number;
  code: ClientErrorCode;
  message: string;
  method: string;
  /** The path of the request (no origin, no query string). */
  path: string;
  requestId?: string | undefined;
  retryAfterSeconds?: number | undefined;
  /** The parsed JSON body of the answer, when it had one. */
  body?: unknown;
  cause?: unknown;
}

/**
 * A request Keyward (or the app, or an upstream through the proxy) refused, or that got no
 * answer. `code` is stable: match on it, not on `message` (the server's `error` text, which
 * never holds a secret). `status` is 0 when there was no answer.
 *
 * @example
 * try { await kw.put('/api/keys/openai', { key }); }
 * catch (e) {
 *   if (e instanceof KeywardClientError) show(`${e.code}: ${e.message} (request ${e.requestId})`);
 *   else throw e;
 * }
 */
export class KeywardClientError extends Error {
  override readonly name: string = 'KeywardClientError';
  readonly kind: KeywardErrorKind = 'http';
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  /** Keyward's `code` (see `docs/errors.md`), an app's own, or one the client gives. */
  readonly code: ClientErrorCode;
  /** The answer's request id (body `requestId`, else the `X-Request-Id` header): quote it when reporting a problem. */
  readonly requestId: string | undefined;
  /** Seconds the server asked to wait (`Retry-After`), when it said. */
  readonly retryAfterSeconds: number | undefined;
  readonly method: string;
  /** The request's path, without origin or query string. */
  readonly path: string;
  /** The parsed JSON body of the answer, when it had one (Keyward's is `{ error, code, requestId }`). */
  readonly body: unknown;

  constructor(init: KeywardClientErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.method = init.method;
    this.path = init.path;
    this.body = init.body;
  }
}

/**
 * 401 with a session code (`KW_SESSION_REQUIRED`, `KW_SESSION_EXPIRED`, ...): this browser
 * has no session any more. The client reports it once per burst to `onSessionEnded`.
 */
export class SessionEndedError extends KeywardClientError {
  override readonly name = 'SessionEndedError';
  override readonly kind = 'session-ended' as const;
}

/** 403: the origin/CSRF guard (`KW_ORIGIN_REFUSED`, `KW_CSRF_HEADER_MISSING`, ...) or HTTPS refused it. */
export class ForbiddenError extends KeywardClientError {
  override readonly name = 'ForbiddenError';
  override readonly kind = 'forbidden' as const;
}

/** 429: too many requests (`KW_PROXY_RATE_LIMITED`, `KW_PROXY_SESSION_BUSY`, an app's login limit); wait `retryAfterSeconds`. */
export class RateLimitedError extends KeywardClientError {
  override readonly name = 'RateLimitedError';
  override readonly kind = 'rate-limited' as const;
}

/** 503: a store, key source or upstream is down or busy (`KW_STORE_UNAVAILABLE`, `KW_UPSTREAM_BUSY`), or a logout not yet confirmed by a replica (`KW_STORE_NOT_DURABLE`: the session may still be live); retry later. */
export class UnavailableError extends KeywardClientError {
  override readonly name = 'UnavailableError';
  override readonly kind = 'unavailable' as const;
}

/** No answer: offline, DNS, a refused connection, a CORS refusal. `status` 0, code `NETWORK_ERROR`. */
export class NetworkError extends KeywardClientError {
  override readonly name = 'NetworkError';
  override readonly kind = 'network' as const;
}

/** Every error the client throws for a refusal, discriminated by `kind`. */
export type AnyKeywardClientError = SessionEndedError | ForbiddenError | RateLimitedError | UnavailableError | NetworkError | (KeywardClientError & { readonly kind: 'http' });

const CODE = /^[A-Za-z0-9_.:-]{1,100}$/;
const MAX_MESSAGE = 500;

/** The class for an answer's status and code. */
function classFor(status: number, code: string): typeof KeywardClientError {
  if (status === 401 && (SESSION_ENDED_CODES as readonly string[]).includes(code)) return SessionEndedError;
  if (status === 403) return ForbiddenError;
  if (status === 429) return RateLimitedError;
  if (status === 503) return UnavailableError;
  return KeywardClientError;
}

/**
 * Turns a refused answer (status >= 400) into its typed error, reading the body (so the
 * response cannot be read again). A body of Keyward's shape `{ error, code, requestId }`
 * gives the message, code and request id; anything else gives `HTTP_<status>`.
 *
 * @example
 * const res = await kw.fetch('/api/report.csv');
 * if (!res.ok) throw await errorFromResponse(res, 'GET');
 */
export async function errorFromResponse(res: Response, method: string): Promise<AnyKeywardClientError> {
  let body: unknown;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof fields.code === 'string' && CODE.test(fields.code) ? fields.code : `HTTP_${res.status}`;
  const text = typeof fields.error === 'string' && fields.error.trim() ? fields.error.trim() : `Request failed with status ${res.status}${res.statusText ? ` (${res.statusText})` : ''}.`;
  const requestId = typeof fields.requestId === 'string' ? fields.requestId : (res.headers.get('x-request-id') ?? undefined);
  const Class = classFor(res.status, code);
  return new Class({
    status: res.status,
    code,
    message: text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text,
    method,
    path: pathOf(res.url),
    requestId,
    retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after')),
    body,
  }) as AnyKeywardClientError;
}

/** The path of a URL (no origin, no query string, no fragment); '' when it is not one. */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
