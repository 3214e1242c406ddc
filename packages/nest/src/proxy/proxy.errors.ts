import { KeywardError, type KeywardErrorCodeValue } from '../keyward.errors.js';

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
