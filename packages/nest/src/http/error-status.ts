import type { KeywardErrorCodeValue } from '../keyward.errors.js';

const STATUS: Record<string, number> = {
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
};

/** The HTTP status of a Keyward error code; unknown codes are server errors. */
export function statusOf(code: KeywardErrorCodeValue): number {
  return STATUS[code] ?? 500;
}

/** Lets later capabilities (vault, proxy) register the statuses of their codes. */
export function registerStatus(code: `KW_${string}`, status: number): void {
  STATUS[code] = status;
}
