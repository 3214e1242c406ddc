/**
 * The codes a Keyward server answers with, and their HTTP statuses: the answered rows of
 * `@keyward/nest`'s `ERROR_CATALOGUE` (every code whose status is not null). A test of this
 * package compares this table with the catalogue and with `docs/errors.md`, so the two cannot
 * drift. Codes that are never an answer (startup errors, process warnings) are not here.
 *
 * @example
 * KEYWARD_ERROR_STATUS.KW_CSRF_HEADER_MISSING // 403
 */
export const KEYWARD_ERROR_STATUS = Object.freeze({
  // Sessions and stores.
  KW_SESSION_REQUIRED: 401,
  KW_SESSION_INVALID: 401,
  KW_SESSION_EXPIRED: 401,
  KW_SESSION_NOT_FOUND: 404,
  KW_STORE_UNAVAILABLE: 503,
  KW_STORE_NOT_DURABLE: 503,
  KW_STORE_CORRUPT: 401,
  KW_INVALID_ARGUMENT: 400,
  // The edge: Host allowlist, HTTPS, origin/CSRF, body limits.
  KW_HOST_NOT_ALLOWED: 421,
  KW_HTTPS_REQUIRED: 403,
  KW_ORIGIN_REFUSED: 403,
  KW_ORIGIN_MISSING: 403,
  KW_CSRF_HEADER_MISSING: 403,
  KW_BODY_TOO_LARGE: 413,
  // The vault, credentials and the redaction registry.
  KW_VAULT_DECRYPT_FAILED: 500,
  KW_VAULT_UNKNOWN_KEY_ID: 500,
  KW_VAULT_ENTRY_MALFORMED: 500,
  KW_VAULT_LEGACY_ENTRY: 401,
  KW_CREDENTIAL_MISSING: 409,
  KW_CREDENTIAL_UNAVAILABLE: 503,
  KW_KEY_LIMIT: 409,
  KW_REDACTION_CAPACITY: 503,
  // The proxy.
  KW_PROXY_UNKNOWN_SERVICE: 404,
  KW_PROXY_METHOD_NOT_ALLOWED: 405,
  KW_PROXY_BAD_PATH: 400,
  KW_PROXY_BAD_HEADER: 400,
  KW_PROXY_BODY_TOO_LARGE: 413,
  KW_UPSTREAM_BUSY: 503,
  KW_PROXY_SESSION_BUSY: 429,
  KW_PROXY_RATE_LIMITED: 429,
  KW_PROXY_USER_BUSY: 429,
  KW_PROXY_SESSION_BUFFER_FULL: 429,
  KW_PROXY_BUFFER_FULL: 503,
  KW_OAUTH_UNKNOWN_CONNECTION: 404,
  KW_OAUTH_TRANSACTION_MISSING: 400,
  KW_OAUTH_TRANSACTION_EXPIRED: 400,
  KW_OAUTH_STATE_MISMATCH: 400,
  KW_OAUTH_SESSION_MISMATCH: 403,
  KW_OAUTH_PROVIDER_ERROR: 400,
  KW_OAUTH_EXCHANGE_FAILED: 400,
  KW_OAUTH_NOT_CONNECTED: 401,
  KW_OAUTH_RECONNECT: 401,
  KW_OAUTH_UNAVAILABLE: 503,
  KW_OIDC_NOT_CONFIGURED: 404,
  KW_OIDC_NO_SUBJECT: 400,
  KW_UPSTREAM_UNAVAILABLE: 502,
  KW_UPSTREAM_TIMEOUT: 504,
  KW_UPSTREAM_ERROR: 502,
  KW_UPSTREAM_AUTH_FAILED: 502,
  KW_UPSTREAM_REDIRECT: 502,
  KW_UPSTREAM_RESPONSE_TOO_LARGE: 502,
  KW_UPSTREAM_ENCODING: 502,
  // Whatever is not Keyward's: answered without details.
  KW_INTERNAL: 500,
} as const);

/** A code Keyward itself answers with (see `docs/errors.md`). */
export type KeywardErrorCode = keyof typeof KEYWARD_ERROR_STATUS;

/** Every code Keyward answers with, in the catalogue's order. */
export const KEYWARD_ERROR_CODES: readonly KeywardErrorCode[] = Object.freeze(Object.keys(KEYWARD_ERROR_STATUS) as KeywardErrorCode[]);

/**
 * The 401 codes that mean "this browser has no session any more": none was sent, it was
 * tampered with, it expired, was logged out or revoked, or its record cannot be read. A 401
 * with another code is not a session end: an app's own `KW_LOGIN_FAILED`, or
 * `KW_OAUTH_NOT_CONNECTED` and `KW_OAUTH_RECONNECT` (the session is fine; a connected
 * account must be connected (again)).
 *
 * @example
 * if (SESSION_ENDED_CODES.includes(body.code)) showLogin();
 */
export const SESSION_ENDED_CODES: readonly KeywardErrorCode[] = Object.freeze(
  KEYWARD_ERROR_CODES.filter((c) => KEYWARD_ERROR_STATUS[c] === 401 && !c.startsWith('KW_OAUTH_')),
);

/** A framework error Keyward answered with a generic message (`KW_HTTP_404`, `KW_HTTP_413`). */
export type KeywardFrameworkCode = `KW_HTTP_${number}`;

/**
 * Codes the client gives an error that carried no Keyward code: `NETWORK_ERROR` (no answer:
 * offline, DNS, refused connection, CORS), `INVALID_JSON` (a success whose body is not the
 * JSON asked for) and `HTTP_<status>` (an answer without a code, such as an upstream's own
 * error passed through the proxy).
 */
export type ClientOnlyCode = 'NETWORK_ERROR' | 'INVALID_JSON' | `HTTP_${number}`;

/**
 * The `code` of a {@link KeywardClientError}: one of Keyward's, a framework code, one the
 * client gives, or an app's own (`registerStatus('KW_MYAPP_QUOTA', 429)`; any string the
 * server sent as `code`). The literal members keep editor completion.
 */
export type ClientErrorCode = KeywardErrorCode | KeywardFrameworkCode | ClientOnlyCode | (string & {});

/**
 * True when `code` is one of Keyward's own answer codes.
 *
 * @example
 * isKeywardErrorCode('KW_SESSION_EXPIRED') // true
 * isKeywardErrorCode('KW_LOGIN_FAILED')    // false: an app's own
 */
export function isKeywardErrorCode(code: unknown): code is KeywardErrorCode {
  return typeof code === 'string' && Object.hasOwn(KEYWARD_ERROR_STATUS, code);
}
