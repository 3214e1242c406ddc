import type { RedactionOptions, ResolvedRedactionOptions } from '../redaction/redaction-options.js';
import type { Clock } from '../util/clock.js';
import type { ResolvedSessionOptions } from '../session/session-options.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import type { CredentialProvider } from '../vault/credential-provider.interface.js';
import type { KeyRing } from '../vault/key-ring.js';
import type { CorsOptions, OriginOptions, ResolvedCors } from '../origin/origin-options.js';
import type { OriginPolicy } from '../origin/origin-policy.js';
import type { ProxyOptions, ResolvedProxyService } from '../proxy/proxy-options.js';
import type { ResolvedTransport, TransportOptions } from '../transport/transport-policy.js';
import type { OAuthOptions, ResolvedOAuthOptions } from '../oauth/oauth-options.js';
import type { Connection } from '../oauth/connection.service.js';
import type { OidcOptions, ResolvedOidcOptions } from '../oidc/oidc-options.js';
import type { OidcRuntime } from '../oidc/oidc-runtime.js';

/** Cookie attributes of the session cookie. Every default is the safe one. */
export interface SessionCookieOptions {
  /**
   * Cookie name.
   * @default '__Host-sid' when Secure and Path=/, '__Secure-sid' when Secure with a narrower path, 'sid' otherwise
   */
  name?: string;
  /**
   * Send the cookie over HTTPS only. Cannot be turned off in production.
   * @default true in production, false in development (plain-HTTP localhost)
   */
  secure?: boolean;
  /**
   * `strict` keeps the cookie off every cross-site request; `lax` allows top-level
   * navigations. `none` is refused in production.
   * @default 'strict'
   */
  sameSite?: 'strict' | 'lax' | 'none';
  /**
   * Narrow the cookie to a path (e.g. `/api`, as the advisory suggests). Not compatible
   * with the `__Host-` prefix, which requires `/`.
   * @default '/'
   */
  path?: string;
  /** Cookie domain. Leave unset (host-only cookie); not allowed with `__Host-`. */
  domain?: string;
}

/** Options of the session engine. */
export interface SessionOptions {
  /**
   * Signing secrets, newest first. The newest signs; all verify, so a secret can rotate
   * without logging anybody out. In production each must be >= 32 characters with >= 128
   * bits of estimated entropy (e.g. 32 random bytes as base64url, or 16 or 32 as hex);
   * placeholders, English passphrases and encoded low-entropy strings are refused.
   * @example [process.env.SESSION_SECRET_NEW, process.env.SESSION_SECRET_OLD]
   */
  secrets: string[];
  /** Where sessions live: `new RedisStore({ url })`, `new SqliteStore({ file })`, or `new MemoryStore()` (tests only). */
  store: SessionStore;
  cookie?: SessionCookieOptions;
  /**
   * A session unused for this long ends (server-side). Also the cookie's Max-Age.
   * Production refuses more than 24 hours.
   * @default 1_800_000 (30 minutes)
   */
  idleTimeoutMs?: number;
  /**
   * A session ends this long after login, however active. `null` disables it
   * (development only; production refuses it, and anything above 30 days).
   * @default 43_200_000 (12 hours)
   */
  absoluteTimeoutMs?: number | null;
  /**
   * Idle expiry is extended at most once per interval, not on every request.
   * @default 60_000 (1 minute)
   */
  touchIntervalMs?: number;
  /**
   * Every route needs a session unless marked `@AllowAnonymous()`.
   * @default true
   */
  requireByDefault?: boolean;
  /**
   * How often expired sessions are swept (their keys revoked, their records removed).
   * `0` disables the sweeper.
   * @default 60_000
   */
  sweepIntervalMs?: number;
  /** Time source. Inject a fake clock in tests. @default the system clock */
  clock?: Clock;
  /**
   * The session ID is replaced this often while the user is active: the next request after
   * it gets a new ID in a new cookie (data, vault entries and minted keys carry over), so a
   * stolen cookie stops working soon even while the real user stays active. `false` turns
   * rotation off (only this value does).
   * @default 900_000 (15 minutes)
   * @example rotateEveryMs: 5 * 60_000
   */
  rotateEveryMs?: number | false;
  /**
   * After a rotation the previous ID keeps working this long (requests in flight, parallel
   * tabs, retries get the new cookie); after it, using the previous ID ends the whole
   * session (a `session.ended` event with reason `reuse`). Shorter than `rotateEveryMs`.
   * @default 60_000 (or half of `rotateEveryMs` when that is shorter than 2 minutes)
   */
  rotateGraceMs?: number;
  /**
   * At most this many sessions per user: a login beyond it ends the user's oldest session
   * (its minted keys revoked, as at logout). Unset: no cap.
   * @default undefined (no cap)
   * @example maxPerUser: 10
   */
  maxPerUser?: number | null;
}

/** Options of `KeywardModule.forRoot()` / `forRootAsync()`. */
export interface KeywardModuleOptions {
  /**
   * Production mode: turns on every refusal of the startup self-audit. Cannot be false
   * when `NODE_ENV=production`.
   * @default process.env.NODE_ENV === 'production'
   */
  production?: boolean;
  session: SessionOptions;
  /**
   * Declare that the app ships demo or test users (fixed passwords). Production refuses.
   * @default false
   */
  demoUsers?: boolean;
  /** The encrypted credential vault. Required when `credentials` are configured. */
  vault?: VaultOptions;
  /**
   * Where each named credential comes from. A provider may expose `problems(): string[]`
   * (configuration it found wrong, e.g. an empty key source); they are reported with every
   * other option problem, as `credentials.<name>: ...`.
   * @example { openai: new ServerKeyProvider({ env: 'OPENAI_API_KEY' }), mine: new UserKeyProvider() }
   */
  credentials?: Record<string, CredentialProvider>;
  /** The origin/CSRF guard (always on; these options tune it). */
  origin?: OriginOptions;
  /** CORS; off unless configured. */
  cors?: CorsOptions;
  /** HTTPS enforcement and trusted proxies. */
  transport?: TransportOptions;
  /** The backend-for-frontend proxy. */
  proxy?: ProxyOptions;
  /**
   * Keyward's request log, through Nest's `Logger` (so through whatever logger the app
   * installed, e.g. nestjs-pino's, whose pino-http never sees proxied calls: Keyward answers
   * them before Nest).
   * - `'proxied'`: one line per proxied call (context `KeywardProxy`): `service`, `method`,
   *   `path` (without its query), `status`, `ms`, `bytes` (response body, when known),
   *   `requestId`, `outcome` (`forwarded`, `refused`, `failed`, `aborted`) and, for a
   *   refusal or failure, its `code`. Never a key, cookie, session ID, query or header value.
   * - `true`: that, plus one line for every other request (context `KeywardHttp`).
   * - `false`: no request log.
   * @default 'proxied'
   * @example logRequests: true // every request, e.g. when nothing else logs requests
   */
  logRequests?: boolean | 'proxied';
  /**
   * Bounds of the redaction registry, the process's one list of live secrets that every log
   * line, error and upstream echo is scrubbed of (see docs/memory.md).
   * @example { capacity: 50_000, perUser: 16 }
   * @default { capacity: 20_000, maxBytes: 64 MiB, userCapacity: 20_000, userMaxBytes: 64 MiB, perUser: 32, perUserBytes: 1 MiB, userIdleMs: 900_000 }
   */
  redaction?: RedactionOptions;
  /**
   * Connected accounts: OAuth 2.0 / OpenID Connect providers users link so the app can call
   * them on their behalf; the tokens stay on the server (docs/connected-accounts.md). Each
   * connection name is also a credential a proxy service can name.
   * @default undefined (none)
   * @example { connections: { github: { endpoints: { authorization: 'https://github.com/login/oauth/authorize', token: 'https://github.com/login/oauth/access_token' }, clientId: process.env.GITHUB_CLIENT_ID!, clientAuth: { secret: process.env.GITHUB_CLIENT_SECRET! }, scopes: ['read:user'] } } }
   */
  oauth?: OAuthOptions;
  /**
   * Sign in with an OpenID provider (docs/oidc-sign-in.md): routes `/api/auth/oidc/*` and
   * `/api/auth/user`; the session is an ordinary Keyward session, its tokens the `oidc`
   * credential a proxy service can name. Needs `vault`.
   * @default undefined (none)
   * @example { issuer: 'https://accounts.example.com', clientId: process.env.OIDC_CLIENT_ID!, clientAuth: { secret: process.env.OIDC_CLIENT_SECRET! }, scopes: ['openid', 'profile', 'email'] }
   */
  oidc?: OidcOptions;
}

/** Options of the credential vault. */
export interface VaultOptions {
  /**
   * Key-encryption keys as `id:base64key` (32 random bytes each), newest first. The newest wraps
   * new data keys; older ones still unwrap until everything is re-wrapped. Production refuses
   * weak keys (all-zero, repeated or sequential bytes, the base64 of a text) and the same
   * key material under two ids; development warns.
   * @example process.env.KEYWARD_VAULT_KEYS!.split(',')
   */
  keys: string[];
}

export type { ResolvedSessionOptions } from '../session/session-options.js';

export interface ResolvedKeywardOptions {
  production: boolean;
  session: ResolvedSessionOptions;
  demoUsers: boolean;
  /** Null when no vault is configured. */
  keyRing: KeyRing | null;
  credentials: ReadonlyMap<string, CredentialProvider>;
  origin: OriginPolicy;
  cors: ResolvedCors | null;
  transport: ResolvedTransport;
  proxy: ReadonlyMap<string, ResolvedProxyService>;
  /** Which requests get a log line: `all`, `proxied` (calls to the proxy route) or `none`. */
  logRequests: 'all' | 'proxied' | 'none';
  redaction: ResolvedRedactionOptions;
  /** Connected accounts: validated options and, per connection, its client and token provider. */
  oauth: ResolvedOAuthOptions & { runtime: ReadonlyMap<string, Connection> };
  /** Sign-in with OpenID Connect: validated options, its client and token provider; null when not configured. */
  oidc: (ResolvedOidcOptions & { runtime: OidcRuntime }) | null;
  /**
   * Development only: what production would refuse about secrets and vault keys (weak,
   * placeholder, duplicated), by position, never the value. Logged once at startup.
   */
  warnings: readonly string[];
}
