// @keyward/client: the browser side of a Keyward backend-for-frontend. No dependencies; runs
// in any browser with fetch (and in Node >= 20 against an absolute baseUrl).
export { createKeywardClient, type KeywardClient, type KeywardJsonInit, type KeywardRequestInit, type SessionInfo } from './keyward-client.js';
export { resolveClientOptions, type KeywardClientOptions, type ResolvedClientOptions, type RetryOptions } from './client-options.js';
export {
  KeywardClientError,
  SessionEndedError,
  ForbiddenError,
  RateLimitedError,
  UnavailableError,
  NetworkError,
  errorFromResponse,
  type AnyKeywardClientError,
  type KeywardClientErrorInit,
  type KeywardErrorKind,
} from './client-errors.js';
export {
  KEYWARD_ERROR_STATUS,
  KEYWARD_ERROR_CODES,
  SESSION_ENDED_CODES,
  isKeywardErrorCode,
  type KeywardErrorCode,
  type KeywardFrameworkCode,
  type ClientOnlyCode,
  type ClientErrorCode,
} from './error-codes.js';
export { parseRetryAfter } from './retry-after.js';
