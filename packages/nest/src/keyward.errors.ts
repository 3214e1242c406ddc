/**
 * Errors raised by Keyward. A rejected request or failed operation is a
 * {@link KeywardError} with a stable `code`; the HTTP edge maps codes to statuses.
 * Messages never contain a secret, a session ID or a cookie value.
 */

/** Stable error codes. Never renamed once released; safe to match on. */
export const KeywardErrorCode = {
  SessionRequired: 'KW_SESSION_REQUIRED',
  SessionInvalid: 'KW_SESSION_INVALID',
  SessionExpired: 'KW_SESSION_EXPIRED',
  SessionNotFound: 'KW_SESSION_NOT_FOUND',
  StoreUnavailable: 'KW_STORE_UNAVAILABLE',
  StoreCorrupt: 'KW_STORE_CORRUPT',
  InvalidArgument: 'KW_INVALID_ARGUMENT',
  Config: 'KW_CONFIG_INVALID',
  InsecureProduction: 'KW_INSECURE_PRODUCTION',
  Internal: 'KW_INTERNAL',
  /** An optional peer dependency a feature needs (a store driver, pino) is not installed. */
  PeerMissing: 'KW_PEER_MISSING',
  // Key submission and redaction limits (issue 13).
  BodyTooLarge: 'KW_BODY_TOO_LARGE',
  KeyLimit: 'KW_KEY_LIMIT',
  RedactionCapacity: 'KW_REDACTION_CAPACITY',
  HostNotAllowed: 'KW_HOST_NOT_ALLOWED',
  HttpsRequired: 'KW_HTTPS_REQUIRED',
  OriginRefused: 'KW_ORIGIN_REFUSED',
  OriginMissing: 'KW_ORIGIN_MISSING',
  CsrfHeaderMissing: 'KW_CSRF_HEADER_MISSING',
} as const;

/** One of the {@link KeywardErrorCode} values, or a code defined by a later capability. */
export type KeywardErrorCodeValue = (typeof KeywardErrorCode)[keyof typeof KeywardErrorCode] | `KW_${string}`;

/**
 * Base class of every error Keyward throws for a rejected request or failed operation.
 *
 * @example
 * try { await sessions.revoke(userId, handle); }
 * catch (e) { if (e instanceof KeywardError && e.code === 'KW_SESSION_NOT_FOUND') ... }
 */
export class KeywardError extends Error {
  override readonly name: string = 'KeywardError';
  readonly code: KeywardErrorCodeValue;

  constructor(code: KeywardErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** No valid session on a route that requires one. HTTP 401. */
export class SessionRequiredError extends KeywardError {
  override readonly name = 'SessionRequiredError';
  constructor(code: KeywardErrorCodeValue = KeywardErrorCode.SessionRequired, message = 'Authentication required. Log in and try again.') {
    super(code, message);
  }
}

/** The session store could not be reached; the request fails closed. HTTP 503. */
export class StoreUnavailableError extends KeywardError {
  override readonly name = 'StoreUnavailableError';
  constructor(options?: { cause?: unknown }) {
    super(KeywardErrorCode.StoreUnavailable, 'The session store is unavailable. Retry shortly.', options);
  }
}

/** A stored record could not be decoded. Treated as no session; never a crash. */
export class StoreCorruptError extends KeywardError {
  override readonly name = 'StoreCorruptError';
  constructor(what: string) {
    super(KeywardErrorCode.StoreCorrupt, `A stored ${what} record is malformed and was ignored.`);
  }
}

/** A caller passed a value Keyward cannot accept at request time. HTTP 400. */
export class InvalidArgumentError extends KeywardError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string) {
    super(KeywardErrorCode.InvalidArgument, message);
  }
}

/** A named thing (session handle, credential) does not exist. HTTP 404. */
export class NotFoundError extends KeywardError {
  override readonly name = 'NotFoundError';
  constructor(code: KeywardErrorCodeValue, message: string) {
    super(code, message);
  }
}

/**
 * The request's `Host` (or trusted `X-Forwarded-Host`) is not one this app serves: a
 * DNS-rebinding page, or a misrouted request. HTTP 421. Fix: list the name in
 * `origin.allowedHosts` or set `transport.publicOrigin`.
 */
export class HostNotAllowedError extends KeywardError {
  override readonly name = 'HostNotAllowedError';
  constructor() {
    super(KeywardErrorCode.HostNotAllowed, 'This host name is not served here. Use the address the app is published at.');
  }
}

/** A plain-HTTP request where HTTPS is required. HTTP 403. */
export class HttpsRequiredError extends KeywardError {
  override readonly name = 'HttpsRequiredError';
  constructor() {
    super(KeywardErrorCode.HttpsRequired, 'HTTPS is required.');
  }
}

/** The origin/CSRF check refused a request (foreign or missing origin, missing custom header). HTTP 403. */
export class OriginRefusedError extends KeywardError {
  override readonly name = 'OriginRefusedError';
}

/**
 * Thrown at startup when options are wrong, or when production settings are insecure.
 * `problems` lists every issue found, each with its fix.
 */
export class KeywardConfigError extends TypeError {
  override readonly name = 'KeywardConfigError';
  readonly code: KeywardErrorCodeValue;
  readonly problems: readonly string[];

  constructor(problems: readonly string[], code: KeywardErrorCodeValue = KeywardErrorCode.Config) {
    const title =
      code === KeywardErrorCode.InsecureProduction
        ? `Keyward refuses to start in production: ${problems.length} insecure setting(s).`
        : `Invalid Keyward options: ${problems.length} problem(s).`;
    super([title, ...problems.map((p, i) => `  ${i + 1}. ${p}`)].join('\n'));
    this.code = code;
    this.problems = problems;
  }
}
