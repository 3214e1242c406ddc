import { Module, type DynamicModule } from '@nestjs/common';
import {
  KeywardModule, MintedKeyProvider, RedisStore, ServerKeyProvider, SqliteStore, registerStatus, type ProxyServiceOptions, type SessionStore,
} from '@keyward/nest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AuthController } from './auth/auth.controller.js';
import { DemoUsers } from './auth/demo-users.service.js';
import type { DemoConfig } from './config/demo-config.js';
import { DEMO_OAUTH_SCOPES } from './config/demo-oauth-config.js';
import { DEMO_OIDC_CLAIMS, DEMO_OIDC_SCOPES } from './config/demo-oidc-config.js';
import { HealthController } from './health/health.controller.js';
import { PageController } from './page/page.controller.js';
import { DemoKeyIssuer } from './keys/demo-key-issuer.js';
import { KeysController } from './keys/keys.controller.js';
import { DemoByokProvider } from './keys/demo-byok.provider.js';
import { DEMO_INFO, DemoInfoController } from './demo-info/demo-info.controller.js';
import { LeakForTestsController } from './health/leak-for-tests.controller.js';
import { ThrottlerModule } from '@nestjs/throttler';
import { DEFAULT_LOGIN_LIMITS, LOGIN_LIMITS, LoginRateLimit } from './auth/login-rate-limit.js';

registerStatus('KW_KEY_NOT_FOUND', 404);
registerStatus('KW_KEY_SERVICE_UNKNOWN', 404);
registerStatus('KW_NOT_FOUND', 404);

/**
 * The session store the environment asks for: the master that Sentinels name (ends of
 * sessions confirmed by a replica: durable ends on), Redis (or a cluster list), else the
 * embedded SQLite file.
 */
export function storeFor(config: DemoConfig): SessionStore {
  if (config.redisSentinel) {
    return new RedisStore({ sentinels: config.redisSentinel.sentinels, sentinelName: config.redisSentinel.master, durableEnds: true });
  }
  if (config.redisUrl) {
    const urls = config.redisUrl.split(',').map((u) => u.trim()).filter(Boolean);
    if (urls.length > 1) return new RedisStore({ cluster: urls.map((u) => u.replace(/^redis:\/\//, '')) });
    return new RedisStore({ url: urls[0]! });
  }
  return new SqliteStore({ file: join(config.dataDir, 'keyward.sqlite') });
}

/** A service sending its credential the library's default way (for a connection: Authorization: Bearer). */
function withoutKey(s: ProxyServiceOptions): ProxyServiceOptions {
  const { key: _key, ...rest } = s;
  return rest;
}

/** The reference app: Keyward with every default on, plus the demo's routes. */
@Module({})
export class DemoModule {
  static register(config: DemoConfig, users: DemoUsers): DynamicModule {
    const upstream = `http://127.0.0.1:${config.upstreamPort}`;
    // Without a key from the environment (npm start passes one), use a throwaway key: calls then get 502.
    const serverKey = config.upstreamKey ?? `unset-${randomBytes(16).toString('hex')}`;
    const issuer = new DemoKeyIssuer(upstream, config.upstreamAdminToken ?? randomBytes(16).toString('hex'));
    const service = (credential: string): ProxyServiceOptions => ({
      baseUrl: `${upstream}/v1/`,
      credential,
      key: { header: 'x-api-key' },
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowHttpToLoopback: true,
      timeoutMs: config.proxyTimeoutMs,
    });
    // demo-oauth: the access token of the session's connection at the identity provider, sent as
    // Authorization: Bearer (the library's default for a connection); absent without a provider.
    const oauth = config.oauth;
    const oidc = config.oidc;
    const oauthService: Record<string, ProxyServiceOptions> = oauth
      ? { 'demo-oauth': withoutKey(service('demo-oauth')) }
      : {};
    return {
      module: DemoModule,
      imports: [
        KeywardModule.forRoot({
          production: config.production,
          demoUsers: users.names.length > 0,
          session: {
            secrets: config.sessionSecrets,
            store: storeFor(config),
            ...(config.idleTimeoutMs ? { idleTimeoutMs: config.idleTimeoutMs } : {}),
            ...(config.absoluteTimeoutMs ? { absoluteTimeoutMs: config.absoluteTimeoutMs } : {}),
            ...(config.sweepIntervalMs ? { sweepIntervalMs: config.sweepIntervalMs } : {}),
            ...(config.idRotateMs !== undefined ? { rotateEveryMs: config.idRotateMs } : {}),
            ...(config.idRotateGraceMs !== undefined ? { rotateGraceMs: config.idRotateGraceMs } : {}),
            maxPerUser: config.maxSessionsPerUser,
          },
          vault: { keys: config.vaultKeys },
          credentials: {
            demo: new ServerKeyProvider({ keys: serverKey.split(',') }),
            'demo-session': new MintedKeyProvider({ issuer, rotateEveryMs: config.mintRotateMs, graceMs: config.mintGraceMs }),
            'demo-byok': new DemoByokProvider(issuer),
          },
          ...(oauth
            ? {
                oauth: {
                  connections: {
                    'demo-oauth': {
                      issuer: oauth.issuer,
                      clientId: oauth.clientId,
                      clientAuth: { secret: oauth.clientSecret, method: oauth.method },
                      scopes: [...DEMO_OAUTH_SCOPES],
                      // The demo provider issues a refresh token for offline_access only after consent (given without asking).
                      prompt: 'consent',
                      // The demo provider on http://127.0.0.1 (development only: the config refuses it in production).
                      allowHttpToLoopback: oauth.httpLoopback && !config.production,
                    },
                  },
                },
              }
            : {}),
          // "Sign in with the demo identity provider" beside the password login; absent without a sign-in client.
          ...(oidc
            ? {
                oidc: {
                  issuer: oidc.issuer,
                  clientId: oidc.clientId,
                  clientAuth: { secret: oidc.clientSecret, method: oidc.method },
                  scopes: [...DEMO_OIDC_SCOPES],
                  claims: [...DEMO_OIDC_CLAIMS],
                  postLogoutRedirectUri: oidc.postLogoutRedirectUri,
                  allowHttpToLoopback: oidc.httpLoopback && !config.production,
                },
              }
            : {}),
          proxy: {
            services: { demo: service('demo'), 'demo-session': service('demo-session'), 'demo-byok': service('demo-byok'), ...oauthService },
            // KEYWARD_PROXY_CALLS_PER_MINUTE: one session's calls per minute, all services together (429 with Retry-After beyond).
            limits: [{ per: 'session', max: config.proxyCallsPerMinute, windowMs: 60_000 }],
          },
          // GET/HEAD /healthz also answers over plain HTTP in production, for local readiness probes (no session, no cookie).
          transport: { plainHttpPaths: ['/healthz'], ...(config.trustProxy ? { trustProxy: config.trustProxy } : {}) },
          logRequests: true,
        }),
        // Its storage counts failed logins per username and per client (see LoginRateLimit).
        ThrottlerModule.forRoot([{ name: 'login-failures', ttl: DEFAULT_LOGIN_LIMITS.windowMs, limit: config.loginFailuresPerUsername }]),
      ],
      controllers: [HealthController, AuthController, KeysController, DemoInfoController, PageController, ...(config.canaryLeakRoute ? [LeakForTestsController] : [])],
      providers: [
        { provide: DemoUsers, useValue: users },
        { provide: DemoKeyIssuer, useValue: issuer },
        { provide: LOGIN_LIMITS, useValue: { ...DEFAULT_LOGIN_LIMITS, perUsername: config.loginFailuresPerUsername, perClient: config.loginFailuresPerClient } },
        LoginRateLimit,
        { provide: DEMO_INFO, useValue: { showDemoUsers: !config.production && config.demoUsersFromDefault, trialKeys: !config.production, oauthConnection: oauth !== undefined, oidcSignIn: oidc !== undefined } },
      ],
    };
  }
}
