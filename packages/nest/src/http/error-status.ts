import type { KeywardErrorCodeValue } from '../keyward.errors.js';

/** Every code's HTTP status, in one table that nothing changes at run time. */
const STATUS: Readonly<Record<string, number>> = Object.freeze({
  KW_SESSION_REQUIRED: 401,
  KW_SESSION_INVALID: 401,
  KW_SESSION_EXPIRED: 401,
  KW_SESSION_NOT_FOUND: 404,
  KW_STORE_UNAVAILABLE: 503,
  KW_STORE_CORRUPT: 401,
  KW_INVALID_ARGUMENT: 400,
  KW_VAULT_DECRYPT_FAILED: 500,
  KW_VAULT_UNKNOWN_KEY_ID: 500,
  KW_VAULT_ENTRY_MALFORMED: 500,
  KW_VAULT_LEGACY_ENTRY: 401,
  KW_CREDENTIAL_MISSING: 409,
  KW_CREDENTIAL_UNAVAILABLE: 503,
  KW_BODY_TOO_LARGE: 413,
  KW_KEY_LIMIT: 409,
  KW_REDACTION_CAPACITY: 503,
  // The edge: Host allowlist, HTTPS, origin/CSRF.
  KW_HOST_NOT_ALLOWED: 421,
  KW_HTTPS_REQUIRED: 403,
  KW_ORIGIN_REFUSED: 403,
  KW_ORIGIN_MISSING: 403,
  KW_CSRF_HEADER_MISSING: 403,
  // The proxy.
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
});

/** Statuses of an application's own `KW_*`-style codes; never one of Keyward's. */
const appStatus = new Map<string, number>();

/** The HTTP status of a Keyward error code; unknown codes are server errors. */
export function statusOf(code: KeywardErrorCodeValue): number {
  return STATUS[code] ?? appStatus.get(code) ?? 500;
}

/**
 * Gives an application's own error code (thrown as a `KeywardError`) its HTTP status.
 * Keyward's own codes cannot be remapped: that throws a `TypeError`.
 *
 * @example
 * registerStatus('KW_MYAPP_QUOTA', 429);
 */
export function registerStatus(code: `KW_${string}`, status: number): void {
  if (Object.hasOwn(STATUS, code)) throw new TypeError(`${code} is one of Keyward's own codes; its status (${STATUS[code]}) cannot be changed.`);
  if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError(`registerStatus('${code}', ${String(status)}): the status must be an integer from 400 to 599.`);
  appStatus.set(code, status);
}

