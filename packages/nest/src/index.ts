// The public entry point of @keyward/nest. Internal helpers are not exported.
export { KeywardModule } from './keyward.module.js';
export { InjectKeywardOptions, KEYWARD_MODULE_OPTIONS } from './keyward.module-definition.js';
export { ALLOW_ANONYMOUS } from './keyward.constants.js';
// The error catalogue: codes, classes, statuses.
export {
  KeywardErrorCode,
  VaultErrorCode,
  ProxyErrorCode,
  KeywardError,
  SessionRequiredError,
  StoreUnavailableError,
  StoreNotDurableError,
  StoreCorruptError,
  InvalidArgumentError,
  NotFoundError,
  HostNotAllowedError,
  HttpsRequiredError,
  OriginRefusedError,
  BodyTooLargeError,
  RedactionCapacityError,
  VaultError,
  ProxyError,
  OAuthError,
  OAuthErrorCode,
  OidcError,
  OidcErrorCode,
  type OidcErrorCodeValue,
  KeywardConfigError,
  ERROR_CATALOGUE,
  registerStatus,
  type KeywardErrorCodeValue,
  type VaultErrorCodeValue,
  type ProxyErrorCodeValue,
  type OAuthErrorCodeValue,
  type SessionRefusalCode,
  type OriginRefusalCode,
  type CatalogueEntry,
} from './keyward.errors.js';
export type {
  KeywardModuleOptions,
  SessionOptions,
  SessionCookieOptions,
  ResolvedKeywardOptions,
  ResolvedSessionOptions,
} from './options/keyward-options.interface.js';
export { resolveKeywardOptions } from './options/validate-options.js';
export { auditProduction } from './options/production-audit.js';
export { KNOWN_WEAK_SECRETS, secretWeakness } from '@keyward/core';
export type { SessionStore, StoredSession, TouchPolicy, UserEntry, SessionLink, RotateOutcome, PatchOptions, CounterHit, CounterVerdict } from './stores/session-store.interface.js';
export { MemoryStore } from './stores/memory.store.js';
export { RedisStore, type DurableEndsOptions, type RedisStoreOptions } from './stores/redis.store.js';
export { SqliteStore, type SqliteStoreOptions } from './stores/sqlite.store.js';
export { SessionEngine } from './session/session.engine.js';
export type { ResolveResult, IssuedSession } from './session/session-outcomes.js';
export { SecretRing, generateSessionId } from './session/session-id.js';
export { RequestSession, type AuthenticatedSession, type ListedSession, type HeaderWriter, type LoginInfo } from './session/request-session.js';
export { SessionService } from './session/session.service.js';
export { KeywardEvents, type SecurityEventListener } from './events/keyward-events.js';
export type { SecurityEvent, SecurityEventName, SecurityEventSink, SessionEndedReason } from './events/security-event.js';
export { idIssuedAt } from './session/id-rotation.js';
export { DEFAULT_ROTATE_EVERY_MS, DEFAULT_ROTATE_GRACE_MS } from './session/lifecycle-options.js';
export type { SessionUser, SessionInfo, SessionEndReason, SessionLifecycleListener } from './session/session.types.js';
export type { Clock } from './util/clock.js';
export type { VaultOptions } from './options/keyward-options.interface.js';
export { Vault, issuedKeysOf, type MaskedCredential, type RewrapReport, type IssuedKey } from './vault/vault.js';
export { KeyRing, parseVaultKeys } from './vault/key-ring.js';
export { Secret, maskSecret, checkUserKey, USER_KEY_MIN_LENGTH, USER_KEY_MAX_LENGTH } from './vault/secret.js';
export type { CredentialProvider, CredentialRequest } from './vault/credential-provider.interface.js';
export { CredentialService } from './vault/credential.service.js';
export { ServerKeyProvider, type ServerKeyOptions } from './vault/providers/server-key.provider.js';
export { MintedKeyProvider, type MintedKeyOptions, type KeyIssuer } from './vault/providers/minted-key.provider.js';
export { UserKeyProvider } from './vault/providers/user-key.provider.js';
export { SessionKeyProvider, type SessionKeyOptions } from './vault/providers/session-key.provider.js';
export { ProxyService, type HeldProxyResult, type ProxyCall, type ProxyResult, type ProxySettings } from './proxy/proxy.service.js';
export type { ProxyStats } from './proxy/proxy-slots.js';
export type { ProxyOptions, ProxyServiceOptions, KeyPlacement } from './proxy/proxy-options.js';
export type { ProxyCallLimit, ProxyLimitStorage, ProxyLimitRecord } from './proxy/proxy-limits.js';
export { normalizeProxyPath, type PathVerdict } from './proxy/proxy-path.js';
export { checkOrigin, checkUpgradeOrigin, originOf, type OriginPolicy, type OriginVerdict } from './origin/origin-policy.js';
export type { OriginOptions, CorsOptions } from './origin/origin-options.js';
export { DEFAULT_SECURITY_HEADERS, SECURITY_HEADER_NAMES, type TransportOptions } from './transport/transport-policy.js';
export { liveSecrets, logId, encodedForms, MIN_SCRUBBABLE_LENGTH, type LiveSecrets } from './redaction/live-secrets.js';
export type { RedactionOptions, LiveSecretsLimits } from './redaction/redaction-options.js';
export { installStdioRedaction } from './redaction/stdio-redaction.js';
export { KeywardLogger, createRedactingLogger, forNestLogger, REDACT_PATHS, type RedactingLoggerOptions, type RedactingLogger, type RedactingLogFn } from './redaction/keyward.logger.js';
export { StartupReport, type RouteReport } from './keyward.startup-report.js';
// The HTTP edge's Nest face: guards, decorators, the exception filter.
export { AllowAnonymous, CurrentSession, CurrentUser, type CurrentSessionOptions } from './http/session.decorators.js';
export { SessionGuard } from './http/session.guard.js';
export { OriginGuard, USES_CREDENTIALS, verifyOrigin } from './http/origin.guard.js';
export { SkipOriginCheck, SKIP_ORIGIN_CHECK } from './http/skip-origin-check.decorator.js';
export { KeyBodyLimit, KeyBodyLimitGuard, DEFAULT_KEY_BODY_LIMIT } from './http/key-body-limit.guard.js';
export { KeywardExceptionFilter, type ErrorBody } from './http/keyward-exception.filter.js';
// What an app's own exception filter receives for a Keyward refusal.
export { KeywardHttpException, isKeywardHttpException } from './http/keyward-http.exception.js';
export { KeywardErrorInterceptor } from './http/keyward-error.interceptor.js';
export { requestIdOf, type ProxiedCallLine } from './http/request-context.step.js';
export { ClientAddress } from './http/client-address.js';
export { UpgradeCheck } from './http/upgrade.check.js';
/** @deprecated Renamed {@link UpgradeCheck} (it is not a Nest guard); this alias goes in 1.0. */
export { UpgradeCheck as UpgradeGuard } from './http/upgrade.check.js';
export { ConnectionService, safeReturnTo, type HandleCookie } from './oauth/connection.service.js';
export type { OAuthOptions, OAuthConnectionOptions, OAuthClientAuth, OAuthEndpoints } from './oauth/oauth-options.js';
export { OidcSignInService, type OidcUserInfo, type SignInCookie } from './oidc/oidc-sign-in.service.js';
export { OidcController } from './oidc/oidc.controller.js';
export { OIDC_CREDENTIAL, type OidcOptions } from './oidc/oidc-options.js';
export { BACKCHANNEL_LOGOUT_EVENT } from './oidc/logout-token.js';
export { OAuthTokenProvider, type OAuthTokenSet, type OAuthTokenClient, type OAuthTokenProviderOptions, type ConnectionInfo } from './vault/providers/oauth-token.provider.js';
