/**
 * The one catalogue of Keyward's errors: every `KW_*` code, the class that carries it and
 * the HTTP status it is answered with, in static tables that nothing changes at run time.
 * This file imports nothing; every layer imports it. A rejected request or failed
 * operation is a {@link KeywardError} (a subclass per family) with a stable `code`; the
 * HTTP edge turns the code into a status with {@link statusOf}, in one place.
 * Messages never contain a secret, a session ID or a cookie value.
 */

/** Stable error codes. Never renamed once released; safe to match on. */
export const KeywardErrorCode = {
  SessionRequired: 'KW_SESSION_REQUIRED',
  SessionInvalid: 'KW_SESSION_INVALID',
  SessionExpired: 'KW_SESSION_EXPIRED',
  SessionNotFound: 'KW_SESSION_NOT_FOUND',
  StoreUnavailable: 'KW_STORE_UNAVAILABLE',
  /** An end of a session was not confirmed by the store's replicas in time (`durableEnds`). */
  StoreNotDurable: 'KW_STORE_NOT_DURABLE',
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

/** Codes of the vault and the credential providers, carried by {@link VaultError}. */
export const VaultErrorCode = {
  DecryptFailed: 'KW_VAULT_DECRYPT_FAILED',
  UnknownKeyId: 'KW_VAULT_UNKNOWN_KEY_ID',
  Malformed: 'KW_VAULT_ENTRY_MALFORMED',
  /** A session data key in the unbound format of earlier versions: refused, never opened. */
  LegacyEntry: 'KW_VAULT_LEGACY_ENTRY',
  CredentialMissing: 'KW_CREDENTIAL_MISSING',
  CredentialUnavailable: 'KW_CREDENTIAL_UNAVAILABLE',
} as const;

/** Codes of the proxy and its upstreams, carried by {@link ProxyError}. */
export const ProxyErrorCode = {
  UnknownService: 'KW_PROXY_UNKNOWN_SERVICE',
  MethodNotAllowed: 'KW_PROXY_METHOD_NOT_ALLOWED',
  BadPath: 'KW_PROXY_BAD_PATH',
  BadHeader: 'KW_PROXY_BAD_HEADER',
  BodyTooLarge: 'KW_PROXY_BODY_TOO_LARGE',
  Busy: 'KW_UPSTREAM_BUSY',
  /** One session has its share of the service's calls in flight (`maxConcurrentPerSession`). */
  SessionBusy: 'KW_PROXY_SESSION_BUSY',
  /** One user has their share of the service's calls in flight over all their sessions (`maxConcurrentPerUser`). */
  UserBusy: 'KW_PROXY_USER_BUSY',
  /** One session's answers not yet taken by its client hold `proxy.maxBufferedBytesPerSession`. */
  SessionBufferFull: 'KW_PROXY_SESSION_BUFFER_FULL',
  /** Answers not yet taken by their clients hold `proxy.maxBufferedBytes` in this process. */
  BufferFull: 'KW_PROXY_BUFFER_FULL',
  /** A call limit or quota of `proxy.limits` is used up for this session or user until its window ends. */
  RateLimited: 'KW_PROXY_RATE_LIMITED',
  Unavailable: 'KW_UPSTREAM_UNAVAILABLE',
  Timeout: 'KW_UPSTREAM_TIMEOUT',
  Failed: 'KW_UPSTREAM_ERROR',
  AuthFailed: 'KW_UPSTREAM_AUTH_FAILED',
  Redirect: 'KW_UPSTREAM_REDIRECT',
  ResponseTooLarge: 'KW_UPSTREAM_RESPONSE_TOO_LARGE',
  Encoding: 'KW_UPSTREAM_ENCODING',
} as const;

/** Codes of connected accounts (OAuth authorization-code flows and their tokens), carried by {@link OAuthError}. */
export const OAuthErrorCode = {
  /** No connection of that name is configured. */
  UnknownConnection: 'KW_OAUTH_UNKNOWN_CONNECTION',
  /** The callback came without a pending transaction: none started, already used (a replay), or its cookie was lost. */
  TransactionMissing: 'KW_OAUTH_TRANSACTION_MISSING',
  /** The pending transaction is older than `oauth.transactionTtlMs`. */
  TransactionExpired: 'KW_OAUTH_TRANSACTION_EXPIRED',
  /** The callback's `state` is not the transaction's. */
  StateMismatch: 'KW_OAUTH_STATE_MISMATCH',
  /** The callback arrived with another session's cookie than the one that started the flow. */
  SessionMismatch: 'KW_OAUTH_SESSION_MISMATCH',
  /** The authorization server answered the authorization request with `error=`. */
  ProviderError: 'KW_OAUTH_PROVIDER_ERROR',
  /** The token endpoint refused the authorization code (wrong PKCE verifier, used or expired code, bad ID token). */
  ExchangeFailed: 'KW_OAUTH_EXCHANGE_FAILED',
  /** The session has no token for this connection: connect the account first. */
  NotConnected: 'KW_OAUTH_NOT_CONNECTED',
  /** The refresh token was refused (`invalid_grant`): the connection was removed; connect again. */
  Reconnect: 'KW_OAUTH_RECONNECT',
  /** The authorization server could not be reached or failed; nothing was sent without a token. */
  Unavailable: 'KW_OAUTH_UNAVAILABLE',
} as const;

/** Codes of sign-in with OpenID Connect (docs/oidc-sign-in.md), carried by {@link OidcError}; its flow's refusals use {@link OAuthErrorCode}. */
export const OidcErrorCode = {
  /** A `/api/auth/oidc/*` route was called but the module has no `oidc` options. */
  NotConfigured: 'KW_OIDC_NOT_CONFIGURED',
  /** The token response validated but carried no ID token or no usable `sub`: no session was started. */
  NoSubject: 'KW_OIDC_NO_SUBJECT',
} as const;

/** A code of the OpenID Connect sign-in family. */
export type OidcErrorCodeValue = (typeof OidcErrorCode)[keyof typeof OidcErrorCode];
/** A code of the connected-accounts family. */
export type OAuthErrorCodeValue = (typeof OAuthErrorCode)[keyof typeof OAuthErrorCode];

/** A code of the vault family. */
export type VaultErrorCodeValue = (typeof VaultErrorCode)[keyof typeof VaultErrorCode];
/** A code of the proxy family. */
export type ProxyErrorCodeValue = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];
/** A code of a session refusal. */
export type SessionRefusalCode = typeof KeywardErrorCode.SessionRequired | typeof KeywardErrorCode.SessionInvalid | typeof KeywardErrorCode.SessionExpired;
/** A code of an origin/CSRF refusal. */
export type OriginRefusalCode = typeof KeywardErrorCode.OriginRefused | typeof KeywardErrorCode.OriginMissing | typeof KeywardErrorCode.CsrfHeaderMissing;

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
  constructor(code: SessionRefusalCode = KeywardErrorCode.SessionRequired, message = 'Authentication required. Log in and try again.') {
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

/**
 * A write that ends or narrows a session (a logout, a revocation, an ID rotation's claim)
 * reached the Redis master but not, within `durableEnds.timeoutMs`, the replicas it needs:
 * a failover could still lose it. HTTP 503 with `Retry-After`; the client must not believe
 * the change happened (it may or may not be on a replica). `written` (not enumerable, never
 * logged) holds what the write returned, so the caller can finish what it started.
 */
export class StoreNotDurableError extends KeywardError {
  override readonly name = 'StoreNotDurableError';
  readonly retryAfterSeconds = 1;
  declare readonly written: unknown;
  constructor(written?: unknown) {
    super(KeywardErrorCode.StoreNotDurable, 'The session store could not confirm this change on a replica; it may not have taken effect. Retry shortly.');
    Object.defineProperty(this, 'written', { value: written, enumerable: false });
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

/** The `Host` (or trusted `X-Forwarded-Host`) is not served here (DNS rebinding, misrouting). HTTP 421. Fix: `origin.allowedHosts` or `transport.publicOrigin`. */
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

/** The origin/CSRF check refused a request, wherever it ran (guard, proxy route, point of use, CORS preflight). HTTP 403. */
export class OriginRefusedError extends KeywardError {
  override readonly name = 'OriginRefusedError';
  constructor(code: OriginRefusalCode, message: string) {
    super(code, message);
  }
}

/** A request body over a route's limit (`@KeyBodyLimit()`). HTTP 413. */
export class BodyTooLargeError extends KeywardError {
  override readonly name = 'BodyTooLargeError';
  constructor(message: string) {
    super(KeywardErrorCode.BodyTooLarge, message);
  }
}

/** The redaction registry refused a user's secret rather than forget another's: `KW_KEY_LIMIT` (409) or `KW_REDACTION_CAPACITY` (503). Nothing was stored. */
export class RedactionCapacityError extends KeywardError {
  override readonly name = 'RedactionCapacityError';
  constructor(code: typeof KeywardErrorCode.KeyLimit | typeof KeywardErrorCode.RedactionCapacity, message: string) {
    super(code, message);
  }
}

/**
 * A vault entry could not be opened, or a credential could not be had. The message never
 * contains key material. Carries a {@link VaultErrorCode} only (an ended session is a
 * {@link SessionRequiredError}).
 */
export class VaultError extends KeywardError {
  override readonly name = 'VaultError';
  constructor(code: VaultErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A proxied call was refused or failed ({@link ProxyErrorCode} only). The message names the service, never the key. */
export class ProxyError extends KeywardError {
  override readonly name = 'ProxyError';
  /** For a refusal worth retrying (busy): seconds the client should wait, sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ProxyErrorCodeValue, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(code, message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** A connected-account flow or token was refused or could not be had ({@link OAuthErrorCode}); never quotes a token, code, state or verifier. */
export class OAuthError extends KeywardError {
  override readonly name = 'OAuthError';
  constructor(code: OAuthErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A sign-in with OpenID Connect was refused (see {@link OidcErrorCode}); never quotes a token, code, state, nonce or claim. */
export class OidcError extends KeywardError {
  override readonly name = 'OidcError';
  constructor(code: OidcErrorCodeValue, message: string) {
    super(code, message);
  }
}

/** Thrown at startup when options are wrong or production settings insecure; `problems` lists each issue with its fix. */
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

/** One row of the catalogue: the class that carries a code, and the status it is answered with (null: never an answer). */
export interface CatalogueEntry {
  readonly class: string;
  readonly status: number | null;
}

const row = (cls: string, status: number | null): CatalogueEntry => Object.freeze({ class: cls, status });

/**
 * Every code Keyward produces, with its class and its HTTP status. Static: nothing adds to
 * it or changes it at run time. `docs/errors.md` has a row for each (checked by a test).
 */
export const ERROR_CATALOGUE: Readonly<Record<string, CatalogueEntry>> = Object.freeze({
  // Sessions and stores.
  KW_SESSION_REQUIRED: row('SessionRequiredError', 401),
  KW_SESSION_INVALID: row('SessionRequiredError', 401),
  KW_SESSION_EXPIRED: row('SessionRequiredError', 401),
  KW_SESSION_NOT_FOUND: row('NotFoundError', 404),
  KW_STORE_UNAVAILABLE: row('StoreUnavailableError', 503),
  KW_STORE_NOT_DURABLE: row('StoreNotDurableError', 503),
  KW_STORE_CORRUPT: row('StoreCorruptError', 401),
  KW_INVALID_ARGUMENT: row('InvalidArgumentError', 400),
  // The edge: Host allowlist, HTTPS, origin/CSRF, body limits.
  KW_HOST_NOT_ALLOWED: row('HostNotAllowedError', 421),
  KW_HTTPS_REQUIRED: row('HttpsRequiredError', 403),
  KW_ORIGIN_REFUSED: row('OriginRefusedError', 403),
  KW_ORIGIN_MISSING: row('OriginRefusedError', 403),
  KW_CSRF_HEADER_MISSING: row('OriginRefusedError', 403),
  KW_BODY_TOO_LARGE: row('BodyTooLargeError', 413),
  // The vault, credentials and the redaction registry.
  KW_VAULT_DECRYPT_FAILED: row('VaultError', 500),
  KW_VAULT_UNKNOWN_KEY_ID: row('VaultError', 500),
  KW_VAULT_ENTRY_MALFORMED: row('VaultError', 500),
  KW_VAULT_LEGACY_ENTRY: row('VaultError', 401),
  KW_CREDENTIAL_MISSING: row('VaultError', 409),
  KW_CREDENTIAL_UNAVAILABLE: row('VaultError', 503),
  KW_KEY_LIMIT: row('RedactionCapacityError', 409),
  KW_REDACTION_CAPACITY: row('RedactionCapacityError', 503),
  // The proxy.
  KW_PROXY_UNKNOWN_SERVICE: row('ProxyError', 404),
  KW_PROXY_METHOD_NOT_ALLOWED: row('ProxyError', 405),
  KW_PROXY_BAD_PATH: row('ProxyError', 400),
  KW_PROXY_BAD_HEADER: row('ProxyError', 400),
  KW_PROXY_BODY_TOO_LARGE: row('ProxyError', 413),
  KW_UPSTREAM_BUSY: row('ProxyError', 503),
  KW_PROXY_SESSION_BUSY: row('ProxyError', 429),
  KW_PROXY_USER_BUSY: row('ProxyError', 429),
  KW_PROXY_SESSION_BUFFER_FULL: row('ProxyError', 429),
  KW_PROXY_BUFFER_FULL: row('ProxyError', 503),
  KW_PROXY_RATE_LIMITED: row('ProxyError', 429),
  KW_UPSTREAM_UNAVAILABLE: row('ProxyError', 502),
  KW_UPSTREAM_TIMEOUT: row('ProxyError', 504),
  KW_UPSTREAM_ERROR: row('ProxyError', 502),
  KW_UPSTREAM_AUTH_FAILED: row('ProxyError', 502),
  KW_UPSTREAM_REDIRECT: row('ProxyError', 502),
  KW_UPSTREAM_RESPONSE_TOO_LARGE: row('ProxyError', 502),
  KW_UPSTREAM_ENCODING: row('ProxyError', 502),
  // Connected accounts (OAuth).
  KW_OAUTH_UNKNOWN_CONNECTION: row('OAuthError', 404),
  KW_OAUTH_TRANSACTION_MISSING: row('OAuthError', 400),
  KW_OAUTH_TRANSACTION_EXPIRED: row('OAuthError', 400),
  KW_OAUTH_STATE_MISMATCH: row('OAuthError', 400),
  KW_OAUTH_SESSION_MISMATCH: row('OAuthError', 403),
  KW_OAUTH_PROVIDER_ERROR: row('OAuthError', 400),
  KW_OAUTH_EXCHANGE_FAILED: row('OAuthError', 400),
  KW_OAUTH_NOT_CONNECTED: row('OAuthError', 401),
  KW_OAUTH_RECONNECT: row('OAuthError', 401),
  KW_OAUTH_UNAVAILABLE: row('OAuthError', 503),
  // Sign-in with OpenID Connect.
  KW_OIDC_NOT_CONFIGURED: row('OidcError', 404),
  KW_OIDC_NO_SUBJECT: row('OidcError', 400),
  // Never an answer of their own: thrown at startup, or process warnings.
  KW_CONFIG_INVALID: row('KeywardConfigError', null),
  KW_INSECURE_PRODUCTION: row('KeywardConfigError', null),
  KW_PEER_MISSING: row('KeywardConfigError', null),
  KW_CLOCK_SKEW: row('process warning', null),
  KW_LISTENER_FAILED: row('process warning', null),
  // Whatever is not Keyward's: answered 500 without details.
  KW_INTERNAL: row('KeywardError', 500),
});

/** Statuses of an application's own `KW_*` codes, given with {@link registerStatus}; never one of Keyward's. */
const appStatus = new Map<string, number>();

/** The HTTP status of an error code; codes nobody gave a status are server errors. */
export function statusOf(code: KeywardErrorCodeValue): number {
  return (Object.hasOwn(ERROR_CATALOGUE, code) ? ERROR_CATALOGUE[code]!.status : appStatus.get(code)) ?? 500;
}

/**
 * Gives an application's own error code (thrown as a `KeywardError`) its HTTP status.
 * Keyward's own codes cannot be remapped: that throws a `TypeError`.
 *
 * @example
 * registerStatus('KW_MYAPP_QUOTA', 429);
 */
export function registerStatus(code: `KW_${string}`, status: number): void {
  if (Object.hasOwn(ERROR_CATALOGUE, code)) throw new TypeError(`${code} is one of Keyward's own codes; its status (${ERROR_CATALOGUE[code]!.status ?? 500}) cannot be changed.`);
  if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError(`registerStatus('${code}', ${String(status)}): the status must be an integer from 400 to 599.`);
  appStatus.set(code, status);
}
