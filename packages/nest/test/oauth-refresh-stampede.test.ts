import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore, type KeywardModuleOptions } from '../src/index.js';
import { FlowBrowser } from './support/browser-flow.js';
import { startTestIdp, type TestIdp } from './support/oidc-provider.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

// Issue 24: an access token due for refresh, 200 concurrent proxied calls of one session
// spread over 3 app instances (Express, Fastify, Express) on one real Redis: exactly one
// token request reaches the authorization server; every call carries a token.

let redis: RedisServer;
redisSuite('kw-oauth-stampede-', (r) => (redis = r));

describe('OAuth refresh is single-flight across instances', () => {
  let idp: TestIdp;
  let upstream: UpstreamHandle;
  const apps: RunningApp[] = [];

  before(async () => {
    idp = await startTestIdp();
    upstream = await startUpstream({ serverKeys: [secret()], adminToken: secret() });
    upstream.acceptBearer((t) => idp.isActiveAccessToken(t));
    const clientSecret = secret();
    const sessionSecret = secret();
    const keys = [vaultKey('k1')];
    for (const adapter of ['express', 'fastify', 'express'] as const) {
      const options: KeywardModuleOptions = {
        session: { secrets: [sessionSecret], store: new RedisStore({ url: redis.url, prefix: 'kw:oauth-stampede:' }), sweepIntervalMs: 0 },
        vault: { keys },
        oauth: { connections: { demo: { issuer: idp.issuer, clientId: 'stampede', clientAuth: { secret: clientSecret }, scopes: ['openid', 'api:read'], allowHttpToLoopback: true, refreshSkewMs: 1_000 } } },
        proxy: { services: { api: { baseUrl: `${upstream.url}/v1/`, credential: 'demo', allowHttpToLoopback: true, maxConcurrent: 256, maxConcurrentPerSession: 256, timeoutMs: 10_000 } } },
      };
      apps.push(await startTestApp(adapter, options));
    }
    idp.addClient({ clientId: 'stampede', clientSecret, redirectUris: [`${apps[0]!.url}/api/connect/demo/callback`] });
  });
  after(async () => {
    for (const a of apps) await a.close();
    await upstream.close();
    await idp.close();
  });

  it('200 calls at expiry on 3 instances: one refresh, 200 answers with a token', async () => {
    idp.setAccessTokenTtl(2);
    const b = new FlowBrowser(apps[0]!.url);
    assert.equal((await b.request('POST', '/login', { json: { user: 'alice' } })).status, 200);
    const cb = await b.untilCallback('demo');
    assert.equal((await b.request('GET', cb)).status, 302);
    const cookie = [...b.jars.get(new URL(apps[0]!.url).origin)!].map(([k, v]) => `${k}=${v}`).join('; ');
    const browsers = apps.map((a) => new FlowBrowser(a.url));
    assert.equal((await browsers[1]!.request('GET', '/api/proxy/api/echo', { cookie })).status, 200, 'the session works on every instance');

    // The refreshed token lives long: a batch slower than the 2 s token's skew (a loaded machine)
    // must not find the new token due again, which would be a second, legitimate refresh.
    idp.setAccessTokenTtl(3600);
    await new Promise((r) => setTimeout(r, 1_100));
    const refreshes = idp.tokenRequests('refresh_token');
    const calls = await Promise.all(Array.from({ length: 200 }, (_, i) => browsers[i % 3]!.request('GET', '/api/proxy/api/echo', { cookie })));
    const statuses = new Map<number, number>();
    for (const c of calls) statuses.set(c.status, (statuses.get(c.status) ?? 0) + 1);
    assert.deepEqual([...statuses], [[200, 200]], calls.find((c) => c.status !== 200)?.text);
    assert.equal(idp.tokenRequests('refresh_token') - refreshes, 1, 'exactly one token request');
    assert.ok(calls.every((c) => c.body.keyId === 'oauth'));
  });
});
