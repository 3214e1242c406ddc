// Issue 22, continued: call limits shared across instances (two apps on one real
// redis-server, a real Redis Cluster), counted in a @nestjs/throttler storage (the real
// ThrottlerStorageService, and one on Redis), failing closed when the counter is down,
// the option's validation, and a session without a user ID counted on its own.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { MemoryStore, RedisStore, ServerKeyProvider, resolveKeywardOptions, type KeywardModuleOptions, type StoredSession } from '../src/index.js';
import { ProxyLimiter } from '../src/proxy/proxy-limiter.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient, type Reply } from './support/clients.js';
import { configError, problemAt } from './support/config-errors.js';
import { FakeClock } from './support/fake-clock.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { RedisCluster } from './support/redis-cluster.js';
import { RedisServer } from './support/redis-server.js';
import { RedisThrottlerStorage } from './support/redis-throttler-storage.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

const ADMIN = secret();
const SERVER_KEY = `srv_${secret()}`;
let upstream: UpstreamHandle;
let redis: RedisServer;

before(async () => {
  upstream = await startUpstream({ serverKeys: [{ id: 'server-1', key: SERVER_KEY }], adminToken: ADMIN });
  redis = await RedisServer.launch();
});
after(async () => {
  await upstream?.close();
  await redis?.destroy();
});

/** The same client (its cookie) talking to another instance. */
function at(client: PageClient, app: RunningApp): PageClient {
  const moved = new PageClient(app.url);
  for (const [k, v] of client.jar) moved.jar.set(k, v);
  return moved;
}

async function login(app: RunningApp, user = `u-${randomBytes(6).toString('hex')}`): Promise<PageClient> {
  const c = new PageClient(app.url);
  assert.equal((await c.post('/login', { user })).status, 200);
  return c;
}

const echo = (c: PageClient): Promise<Reply> => c.get('/api/proxy/server/echo');

describe('two app instances (Express and Fastify) on one real redis-server share the counts', () => {
  const apps: RunningApp[] = [];
  const issuers: HttpKeyIssuer[] = [];
  before(async () => {
    const secrets = [secret()];
    const vaultKeys = [vaultKey('k1')];
    for (const adapter of ADAPTERS) {
      const issuer = new HttpKeyIssuer(upstream.url, ADMIN);
      issuers.push(issuer);
      const options = bffOptions({
        store: new RedisStore({ url: redis.url, prefix: 'shared:' }),
        upstreamUrl: upstream.url,
        serverKeys: [SERVER_KEY],
        issuer,
        vaultKeys,
        session: { secrets },
      });
      options.proxy!.limits = [{ per: 'session', max: 4, windowMs: 60_000 }, { per: 'user', max: 6, windowMs: 60_000 }];
      apps.push(await startTestApp(adapter, options));
    }
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(issuers.map((i) => i.close()));
  });

  it('one session: calls through either instance count against one allowance', async () => {
    const c = await login(apps[0]!);
    upstream.resetStats();
    for (let i = 0; i < 4; i++) assert.equal((await echo(at(c, apps[i % 2]!))).status, 200);
    for (const app of apps) {
      const r = await echo(at(c, app));
      assert.equal(r.status, 429);
      assert.equal(r.body.code, 'KW_PROXY_RATE_LIMITED');
      assert.equal(r.headers.get('retry-after'), '60');
    }
    assert.equal(upstream.stats().requests, 4);
  });

  it('one user with a session on each instance: 6 calls in all; parallel calls over both give exactly 6', async () => {
    const user = `both-${randomBytes(6).toString('hex')}`;
    const a = await login(apps[0]!, user);
    const b = await login(apps[1]!, user);
    upstream.resetStats();
    const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => echo(i % 2 ? b : a)));
    assert.equal(replies.filter((r) => r.status === 200).length, 6, replies.map((r) => r.status).join(','));
    assert.ok(replies.every((r) => r.status === 200 || r.status === 429));
    assert.equal(upstream.stats().requests, 6);
  });
});

describe('Redis Cluster: the counters of one call share a hash slot', () => {
  let cluster: RedisCluster;
  let store: RedisStore;
  before(async () => {
    cluster = await RedisCluster.launch(3);
    store = new RedisStore({ cluster: cluster.nodes, prefix: 'kw:limits:' });
  });
  after(async () => {
    await store?.close();
    await cluster?.destroy();
  });

  it('40 parallel hits of many groups against a limit of 7 give exactly 7 passes per group, on every node', async () => {
    const groups = Array.from({ length: 12 }, (_, i) => `u:cluster-user-${i}`);
    const now = Date.now();
    const counters = (g: string) => [{ name: `*|u|60000`, max: 7, windowMs: 60_000 }, { name: `svc|s|60000|${g}-h`, max: 100, windowMs: 60_000 }];
    const verdicts = await Promise.all(groups.flatMap((g) => Array.from({ length: 40 }, async () => [g, await store.hitCounters(g, counters(g), now)] as const)));
    for (const g of groups) assert.equal(verdicts.filter(([x, v]) => x === g && v.allowed).length, 7, g);
  });
});

for (const adapter of ADAPTERS) {
  describe(`a @nestjs/throttler storage as limitStorage (${adapter})`, () => {
    let issuer: HttpKeyIssuer;
    before(() => {
      issuer = new HttpKeyIssuer(upstream.url, ADMIN);
    });
    after(() => issuer?.close());

    function options(limitStorage: unknown, limits = [{ per: 'session' as const, max: 3, windowMs: 60_000 }]): KeywardModuleOptions {
      const o = bffOptions({
        store: new MemoryStore(),
        upstreamUrl: upstream.url,
        serverKeys: [SERVER_KEY],
        issuer,
        extraServices: { server: upstreamService(upstream.url, 'server', { maxConcurrentPerSession: 64 }) },
      });
      o.proxy = { ...o.proxy!, limits, limitStorage: limitStorage as never };
      return o;
    }

    it("the real ThrottlerStorageService: 3 calls pass, then 429 with Retry-After; 20 parallel calls give exactly 3", async () => {
      const storage = new ThrottlerStorageService();
      const app = await startTestApp(adapter, options(storage));
      try {
        const c = await login(app);
        upstream.resetStats();
        for (let i = 0; i < 3; i++) assert.equal((await echo(c)).status, 200);
        const r = await echo(c);
        assert.equal(r.status, 429);
        assert.equal(r.body.code, 'KW_PROXY_RATE_LIMITED');
        const retry = Number(r.headers.get('retry-after'));
        assert.ok(retry >= 59 && retry <= 60, `Retry-After ${retry}`);
        assert.equal(upstream.stats().requests, 3);

        const d = await login(app);
        upstream.resetStats();
        const replies = await Promise.all(Array.from({ length: 20 }, () => echo(d)));
        assert.equal(replies.filter((x) => x.status === 200).length, 3);
        assert.equal(upstream.stats().requests, 3);
        assert.ok([...storage.storage.keys()].every((k) => k.startsWith('keyward:proxy:u:')), 'namespaced keys, by user group');
      } finally {
        await app.close();
        storage.onApplicationShutdown();
      }
    });

    it('a storage on Redis that goes down: 503 KW_STORE_UNAVAILABLE, nothing sent upstream, never an unlimited pass; back when Redis is', async () => {
      const server = await RedisServer.launch();
      const storage = new RedisThrottlerStorage(server.url);
      const app = await startTestApp(adapter, options(storage));
      try {
        const c = await login(app);
        assert.equal((await echo(c)).status, 200);
        await server.stop();
        upstream.resetStats();
        for (let i = 0; i < 5; i++) {
          const r = await echo(c);
          assert.equal(r.status, 503, r.text);
          assert.equal(r.body.code, 'KW_STORE_UNAVAILABLE');
        }
        assert.equal(upstream.stats().requests, 0, 'fails closed: the upstream saw nothing');
        await server.start();
        let r: Reply | undefined;
        for (let i = 0; i < 100 && r?.status !== 200; i++) {
          r = await echo(c);
          if (r.status !== 200) await new Promise((res) => setTimeout(res, 50));
        }
        assert.equal(r?.status, 200, 'works again once Redis is back');
      } finally {
        await app.close();
        storage.close();
        await server.destroy();
      }
    });

    it('a storage that answers something else than a throttler record fails closed (503)', async () => {
      const app = await startTestApp(adapter, options({ increment: async () => ({ totalHits: 'many' }) }));
      try {
        const c = await login(app);
        upstream.resetStats();
        const r = await echo(c);
        assert.equal(r.status, 503);
        assert.equal(r.body.code, 'KW_STORE_UNAVAILABLE');
        assert.equal(upstream.stats().requests, 0);
      } finally {
        await app.close();
      }
    });
  });
}

describe('proxy.limits options', () => {
  const base = (proxy: Record<string, unknown>, store: unknown = new MemoryStore()): unknown => ({
    session: { secrets: [secret()], store },
    vault: { keys: [vaultKey('k1')] },
    credentials: { server: new ServerKeyProvider({ keys: [SERVER_KEY] }) },
    proxy: { services: { api: { baseUrl: 'https://api.example.com/v1/', credential: 'server' } }, ...proxy },
  });

  it('reports every problem at once, each with its path, the bad value and the fix', () => {
    const err = configError(() =>
      resolveKeywardOptions(
        base({
          limits: [
            { per: 'users', max: 0, windowMs: 60 },
            { per: 'session', ttl: 60_000, limit: 10 },
            { per: 'session', max: 5, windowMs: 60_000 },
            { per: 'session', max: 9, windowMs: 60_000 },
            'ten a minute',
          ],
          services: { api: { baseUrl: 'https://api.example.com/v1/', credential: 'server', limits: { per: 'user' } } },
          limitStorage: { hit() {} },
        }),
      ),
    );
    assert.match(problemAt(err, 'proxy.limits[0].per'), /expected 'session' or 'user', got "users"\. Did you mean 'user'\?/);
    assert.match(problemAt(err, 'proxy.limits[0].max'), /from 1 to 1,000,000,000, got 0/);
    assert.match(problemAt(err, 'proxy.limits[0].windowMs'), /got 60\. It is in milliseconds: 60_000 is a minute/);
    assert.match(problemAt(err, 'proxy.limits[1].ttl'), /`windowMs`, in milliseconds/);
    assert.match(problemAt(err, 'proxy.limits[1].limit'), /`max`/);
    assert.match(problemAt(err, 'proxy.limits[3]'), /same window \(60000 ms per session\) as proxy\.limits\[2\]/);
    assert.match(problemAt(err, 'proxy.limits[4]'), /expected \{ per, max, windowMs \}/);
    assert.match(problemAt(err, 'proxy.services.api.limits'), /expected a list of limits/);
    assert.match(problemAt(err, 'proxy.limitStorage'), /@nestjs\/throttler storage/);
  });

  it('refuses a store that cannot count, and a limitStorage without limits', () => {
    const store = new MemoryStore();
    Object.defineProperty(store, 'hitCounters', { value: undefined });
    const noCount = configError(() => resolveKeywardOptions(base({ limits: [{ per: 'user', max: 5, windowMs: 60_000 }] }, store)));
    assert.match(problemAt(noCount, 'proxy.limits'), /cannot count calls \(it has no hitCounters\(\)\).*limitStorage/);
    // The same store is fine with a throttler storage.
    resolveKeywardOptions(base({ limits: [{ per: 'user', max: 5, windowMs: 60_000 }], limitStorage: new ThrottlerStorageService() }, store));
    const idle = configError(() => resolveKeywardOptions(base({ limitStorage: new ThrottlerStorageService() })));
    assert.match(problemAt(idle, 'proxy.limitStorage'), /no limit is configured/);
  });

  it('resolves the global limits first, then the service\'s own; a service without any has none (no cost)', () => {
    const o = resolveKeywardOptions(
      base({
        limits: [{ per: 'session', max: 600, windowMs: 60_000 }],
        services: {
          api: { baseUrl: 'https://api.example.com/v1/', credential: 'server', limits: [{ per: 'user', max: 10_000, windowMs: 86_400_000 }] },
          other: { baseUrl: 'https://other.example.com/', credential: 'server' },
        },
      }),
    );
    assert.deepEqual(o.proxy.get('api')!.limits.rules, [
      { per: 'session', max: 600, windowMs: 60_000, service: null },
      { per: 'user', max: 10_000, windowMs: 86_400_000, service: 'api' },
    ]);
    assert.deepEqual(o.proxy.get('other')!.limits.rules, [{ per: 'session', max: 600, windowMs: 60_000, service: null }]);
    const none = resolveKeywardOptions(base({}));
    assert.deepEqual(none.proxy.get('api')!.limits, { rules: [], storage: undefined });
  });
});

describe('ProxyLimiter: a session without a user ID', () => {
  it("counts its per-user limits on its own, never in a bucket shared by every such session", async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const o = resolveKeywardOptions({
      session: { secrets: [secret()], store },
      vault: { keys: [vaultKey('k1')] },
      credentials: { server: new ServerKeyProvider({ keys: [SERVER_KEY] }) },
      proxy: { services: { api: { baseUrl: 'https://api.example.com/v1/', credential: 'server' } }, limits: [{ per: 'user', max: 2, windowMs: 60_000 }] },
    });
    const limiter = new ProxyLimiter(store, clock);
    const svc = o.proxy.get('api')!;
    const anon = (handle: string): StoredSession => ({ key: `k-${handle}`, handle, userId: '', createdAt: 0, lastSeenAt: 0, idleExpiresAt: 1e15, absoluteExpiresAt: 1e15, version: 1, data: {} });
    for (const s of [anon('a'), anon('b')]) {
      await limiter.admit(s, svc);
      await limiter.admit(s, svc);
      await assert.rejects(limiter.admit(s, svc), (e: Error & { code?: string; retryAfterSeconds?: number }) => {
        assert.equal(e.code, 'KW_PROXY_RATE_LIMITED');
        assert.equal(e.retryAfterSeconds, 60);
        assert.match(e.message, /for this session over all services/);
        return true;
      });
    }
  });
});
