import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KeywardEvents, RedisStore, SqliteStore, type Clock, type KeywardModuleOptions, type SecurityEvent, type SessionStore } from '../../src/index.js';
import type { AdapterName } from './adapters.js';
import { FlowBrowser } from './browser-flow.js';
import type { TestIdp } from './oidc-provider.js';
import type { RedisServer } from './redis-server.js';
import { findSecrets, secret, vaultKey } from './secrets.js';
import { startTestApp, type RunningApp } from './test-app.js';
import type { UpstreamHandle } from './upstream.js';

/** The persistent stores connected accounts are tested on. */
export const OAUTH_STORES = ['redis', 'sqlite'] as const;
export type OAuthStoreKind = (typeof OAUTH_STORES)[number];

/** A fresh store of a kind: SQLite in `dir`, or a prefix of its own on `redis`. */
export function openOAuthStore(kind: OAuthStoreKind, dir: string, redis: RedisServer, tag: string): SessionStore {
  return kind === 'sqlite' ? new SqliteStore({ file: join(dir, `${tag}.sqlite`) }) : new RedisStore({ url: redis.url, prefix: `kw:oauth:${tag}:` });
}

/** An app with one connection `demo` at the test provider, proxied as service `api` to the test upstream. */
export interface OAuthApp {
  app: RunningApp;
  /** Every security event the app reported. */
  events: SecurityEvent[];
  clientId: string;
  /** A browser signed in to the app as `user`. */
  signedIn(user: string): Promise<FlowBrowser>;
  /** A browser signed in as `user` that connected `demo` as the provider's account `account`. */
  connected(user: string, account: string): Promise<FlowBrowser>;
  /** Tokens of the provider, and the app's cookie values, found in what any party saw (browsers, log lines, events). */
  leaks(...browsers: FlowBrowser[]): unknown[];
}

export async function startOAuthApp(
  adapter: AdapterName,
  o: {
    idp: TestIdp;
    upstream: UpstreamHandle;
    store: SessionStore;
    clientId: string;
    clock?: Clock;
    bind?: 'session' | 'user';
    session?: Partial<KeywardModuleOptions['session']>;
    revokeRetryDelaysMs?: number[];
  },
): Promise<OAuthApp> {
  const clientSecret = secret();
  const options: KeywardModuleOptions = {
    session: { secrets: [secret()], store: o.store, sweepIntervalMs: 0, ...(o.clock ? { clock: o.clock } : {}), ...o.session },
    vault: { keys: [vaultKey('k1')] },
    oauth: {
      connections: {
        demo: {
          issuer: o.idp.issuer,
          clientId: o.clientId,
          clientAuth: { secret: clientSecret },
          scopes: ['openid', 'api:read'],
          allowHttpToLoopback: true,
          refreshSkewMs: 1_000,
          revokeRetryDelaysMs: o.revokeRetryDelaysMs ?? [200, 400, 800],
          ...(o.bind ? { bind: o.bind } : {}),
        },
      },
    },
    proxy: { services: { api: { baseUrl: `${o.upstream.url}/v1/`, credential: 'demo', allowHttpToLoopback: true, timeoutMs: 5000, maxConcurrentPerSession: 64 } } },
  };
  const app = await startTestApp(adapter, options);
  const events: SecurityEvent[] = [];
  app.app.get(KeywardEvents).on((e) => events.push(e));
  o.idp.addClient({ clientId: o.clientId, clientSecret, redirectUris: [`${app.url}/api/connect/demo/callback`] });
  const signedIn = async (user: string): Promise<FlowBrowser> => {
    const b = new FlowBrowser(app.url);
    const login = await b.request('POST', '/login', { json: { user } });
    assert.equal(login.status, 200, login.text);
    return b;
  };
  return {
    app,
    events,
    clientId: o.clientId,
    signedIn,
    connected: async (user, account) => {
      const b = await signedIn(user);
      const back = await b.request('GET', await b.untilCallback('demo', { user: account }));
      assert.equal(back.status, 302, back.text);
      return b;
    },
    leaks: (...browsers) => {
      const seen = [...browsers.map((b) => b.transcript + JSON.stringify([...b.jars].map(([origin, j]) => [origin, [...j]]))), app.logger.text, JSON.stringify(events)].join('\n');
      return findSecrets(seen, o.idp.issuedSecrets());
    },
  };
}

/** The app's cookies of a browser, as one Cookie header. */
export function appCookies(b: FlowBrowser): string {
  return [...(b.jars.get(new URL(b.appUrl).origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
}
