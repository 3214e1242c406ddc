import { KeywardError, type KeywardErrorCodeValue } from '../keyward.errors.js';
import { registerStatus } from '../http/error-status.js';

/** Stable codes of the proxy, with their HTTP statuses. */
export const ProxyErrorCode = {
  UnknownService: 'KW_PROXY_UNKNOWN_SERVICE',
  MethodNotAllowed: 'KW_PROXY_METHOD_NOT_ALLOWED',
  BadPath: 'KW_PROXY_BAD_PATH',
  BadHeader: 'KW_PROXY_BAD_HEADER',
  BodyTooLarge: 'KW_PROXY_BODY_TOO_LARGE',
  Busy: 'KW_UPSTREAM_BUSY',
  /** One session has its share of the service's calls in flight (`maxConcurrentPerSession`). */
  SessionBusy: 'KW_PROXY_SESSION_BUSY',
  Unavailable: 'KW_UPSTREAM_UNAVAILABLE',
  Timeout: 'KW_UPSTREAM_TIMEOUT',
  Failed: 'KW_UPSTREAM_ERROR',
  AuthFailed: 'KW_UPSTREAM_AUTH_FAILED',
  Redirect: 'KW_UPSTREAM_REDIRECT',
  ResponseTooLarge: 'KW_UPSTREAM_RESPONSE_TOO_LARGE',
  Encoding: 'KW_UPSTREAM_ENCODING',
} as const;

const STATUS: Record<string, number> = {
  KW_PROXY_UNKNOWN_SERVICE: 404,
  KW_PROXY_METHOD_NOT_ALLOWED: 405,
  KW_PROXY_BAD_PATH: 400,
  KW_PROXY_BAD_HEADER: 400,
  KW_PROXY_BODY_TOO_LARGE: 413,
  KW_UPSTREAM_BUSY: 503,
  KW_PROXY_SESSION_BUSY: 429,
  KW_UPSTREAM_UNAVAILABLE: 502,
  KW_UPSTREAM_TIMEOUT: 504,
  KW_UPSTREAM_ERROR: 502,
  KW_UPSTREAM_AUTH_FAILED: 502,
  KW_UPSTREAM_REDIRECT: 502,
  KW_UPSTREAM_RESPONSE_TOO_LARGE: 502,
  KW_UPSTREAM_ENCODING: 502,
  KW_ORIGIN_REFUSED: 403,
  KW_ORIGIN_MISSING: 403,
  KW_CSRF_HEADER_MISSING: 403,
};
for (const [code, status] of Object.entries(STATUS)) registerStatus(code as `KW_${string}`, status);

/** A proxied call was refused or failed. The message names the service, never the key. */
export class ProxyError extends KeywardError {
  override readonly name = 'ProxyError';
  /** For a refusal worth retrying (busy): seconds the client should wait, sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: KeywardErrorCodeValue, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(code, message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}
