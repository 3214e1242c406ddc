import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, createSentinel } from 'redis';
import { KeywardConfigError, RedisStore, StoreNotDurableError } from '../src/index.js';
import type { StoredSession } from '../src/stores/session-store.interface.js';
import { ADAPTERS } from './support/adapters.js';
import { AppClient, type Reply } from './support/clients.js';
import { ask, RedisReplicas } from './support/redis-replicas.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const secrets = [randomBytes(32).toString('base64url')];

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KeywardConfigError, `a KeywardConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('no error thrown');
}

function record(key: string): StoredSession {
  const now = Date.now();
  return { key, handle: `h-${key}`, userId: `u-${key}`, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 60_000, absoluteExpiresAt: now + 120_000, version: 1, data: {} };
}

async function recordsOn(port: number, prefix: string): Promise<string[]> {
  return ((await ask(port, 'KEYS', `${prefix}s:*`)) as string[]) ?? [];
}

describe('RedisStore options: Sentinel and durable ends', () => {
  it('reports every problem at once, each with the option and a fix', () => {
    const p = problems(() => new RedisStore({ sentinels: ['127.0.0.1', 'h:99999'], sentinelName: 5 as unknown as string, durableEnds: { replicas: 0, timeout: 5 } as never, prefx: 'x:' } as never));
    assert.ok(p.some((l) => l.includes('`sentinels[0]`') && l.includes('"host:port"')), p.join('\n'));
    assert.ok(p.some((l) => l.includes('`sentinels[1]`')), p.join('\n'));
    assert.ok(p.some((l) => l.includes('`sentinelName`') && l.includes('mymaster')), p.join('\n'));
    assert.ok(p.some((l) => l.includes('`durableEnds.replicas`') && l.includes('from 1 to 16')), p.join('\n'));
    assert.ok(p.some((l) => l.includes('`durableEnds.timeout`') && l.includes('timeoutMs')), p.join('\n'));
    assert.ok(p.some((l) => l.includes('`prefx`') && l.includes('prefix')), p.join('\n'));
  });

  it('needs exactly one of url, cluster, sentinels or client', () => {
    assert.match(problems(() => new RedisStore({}))[0]!, /exactly one of `url`, `cluster`, `sentinels`.*got none/);
    const both = problems(() => new RedisStore({ url: 'redis://127.0.0.1:1', sentinels: ['127.0.0.1:26379'], sentinelName: 'mymaster' }));
    assert.ok(both.some((l) => l.includes('got `url` and `sentinels`')), both.join('\n'));
    const orphan = problems(() => new RedisStore({ url: 'redis://127.0.0.1:1', sentinelName: 'mymaster', name: 'x' } as never));
    assert.ok(orphan.some((l) => l.includes('`sentinelName`: only meaningful with `sentinels`')), orphan.join('\n'));
    assert.ok(orphan.some((l) => l.includes('`name`') && l.includes('sentinelName')), orphan.join('\n'));
  });

  it('refuses a WAIT that the command timeout would cut off, and a client it cannot use', () => {
    const p = problems(() => new RedisStore({ url: 'redis://:hunter2@127.0.0.1:1', commandTimeoutMs: 500, durableEnds: { timeoutMs: 480 } }));
    assert.equal(p.length, 1);
    assert.match(p[0]!, /durableEnds.timeoutMs`: 480 ms leaves no room within `commandTimeoutMs` \(500 ms\)/);
    assert.ok(!p.join('\n').includes('hunter2'), 'the URL (it may hold a password) is never quoted');
    const c = problems(() => new RedisStore({ client: { get: () => 1 } as never }));
    assert.match(c[0]!, /expected an ioredis client.*createSentinel\(\)/);
    const opts = problems(() => new RedisStore({ client: createClient(), redisOptions: { password: 'x' } }));
    assert.match(opts[0]!, /`redisOptions`: applies only to the client Keyward creates/);
  });
});

describe('durable ends: a master and one replica', () => {
  let set: RedisReplicas;
  before(async () => {
    set = await RedisReplicas.launch({ replicas: 1 });
  });
  after(() => set?.destroy());

  for (const adapter of ADAPTERS) {
    it(`${adapter}: a logout is answered once the replica has it; with the replica frozen it answers 503 KW_STORE_NOT_DURABLE and the client keeps its session until a retry is confirmed`, async () => {
      const [master, replica] = set.servers as [RedisReplicas['servers'][0], RedisReplicas['servers'][0]];
      const prefix = `de-${adapter}:`;
      // A wait long enough for a loaded CI machine (the default, 500 ms, is for production).
      const store = new RedisStore({ url: master.url, prefix, commandTimeoutMs: 3000, durableEnds: { timeoutMs: 1500 } });
      const app: RunningApp = await startTestApp(adapter, { session: { secrets, store, sweepIntervalMs: 0 } });
      try {
        const a = new AppClient(app.url);
        assert.equal((await a.post('/login', { user: 'alice' })).status, 200);
        assert.equal((await a.post('/logout')).status, 204);
        assert.deepEqual(await recordsOn(replica.port, prefix), [], 'the replica had the end when the client was told');

        const b = new AppClient(app.url);
        const other = new AppClient(app.url);
        assert.equal((await b.post('/login', { user: 'bob' })).status, 200);
        assert.equal((await other.post('/login', { user: 'carol' })).status, 200);
        const cookie = b.jar.get('sid')!;
        set.pause(replica);
        let refused: Reply;
        try {
          refused = await b.post('/logout', undefined, { cookie: `sid=${cookie}` });
          assert.equal(refused.status, 503, refused.text);
          assert.equal(refused.body.code, 'KW_STORE_NOT_DURABLE');
          assert.equal(refused.headers.get('retry-after'), '1');
          assert.deepEqual(refused.setCookies, [], 'the cookie is not cleared: the client must not believe it logged out');
          assert.equal(refused.headers.get('clear-site-data'), null);
          assert.ok(!refused.text.includes(cookie.slice(0, 43)));
          const all = await other.post('/logout-all');
          assert.equal(all.status, 503, 'logout-all is refused too');
          assert.equal(all.body.code, 'KW_STORE_NOT_DURABLE');
          // Session checks do not wait for replicas (reads run on their own connection).
          const login = new AppClient(app.url);
          assert.equal((await login.post('/login', { user: 'dave' })).status, 200, 'a login stays asynchronous');
          assert.equal((await login.get('/me')).status, 200);
        } finally {
          set.resume(replica);
        }
        // The retry is answered once the replica has the first attempt too; then the cookie is dead.
        const retried = await b.post('/logout', undefined, { cookie: `sid=${cookie}` });
        assert.equal(retried.status, 204, retried.text);
        assert.equal((await new AppClient(app.url).get('/me', { cookie: `sid=${cookie}` })).status, 401);
        assert.deepEqual((await recordsOn(replica.port, prefix)).length, 1, 'only dave is left (alice, bob, carol ended)');
      } finally {
        await app.close();
      }
    });
  }

  it('node-redis client, durable ends on by default with a replica: the same, at the store (take confirmed, refused while the replica is frozen, retry confirmed)', async () => {
    const [master, replica] = set.servers as [RedisReplicas['servers'][0], RedisReplicas['servers'][0]];
    // No durableEnds option: on by default, because the master had a connected replica when the store connected.
    const store = new RedisStore({ client: createClient({ url: master.url }), prefix: 'de-nr:', commandTimeoutMs: 4000 });
    try {
      await store.create(record('k1'));
      assert.equal((await store.take('k1'))?.userId, 'u-k1');
      await store.create(record('k2'));
      set.pause(replica);
      try {
        const e = await store.take('k2').then(() => undefined, (x: unknown) => x);
        assert.ok(e instanceof StoreNotDurableError, String(e));
        assert.equal((e.written as StoredSession).userId, 'u-k2', 'the caller gets what was taken, to end it properly');
        assert.ok(!JSON.stringify(e).includes('u-k2'), 'and it is not serialised');
      } finally {
        set.resume(replica);
      }
      assert.equal(await store.take('k2'), null, 'the retry finds it gone and is confirmed');
    } finally {
      await store.close();
      await (store.redis as unknown as { quit(): Promise<unknown> }).quit().catch(() => {});
    }
  });
});

describe('Sentinel: a master killed with SIGKILL', () => {
  let set: RedisReplicas;
  before(async () => {
    set = await RedisReplicas.launch({ replicas: 2, sentinels: 3 });
  });
  after(() => set?.destroy());

  it('both adapters answer 503 during the failover, recover with no restart, and an ended session stays ended', async () => {
    const apps = await Promise.all(
      ADAPTERS.map((adapter) => startTestApp(adapter, { session: { secrets, store: new RedisStore({ sentinels: set.sentinelAddresses, sentinelName: 'mymaster', prefix: 'fo:' }), sweepIntervalMs: 0 } })),
    );
    const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: set.sentinelPorts[0]! }] });
    sentinel.on('error', () => {});
    try {
      const users = apps.map((app) => ({ app, ended: new AppClient(app.url), live: new AppClient(app.url) }));
      for (const u of users) {
        assert.equal((await u.ended.post('/login', { user: 'ended' })).status, 200);
        assert.equal((await u.live.post('/login', { user: 'live' })).status, 200);
      }
      const endedCookies = users.map((u) => u.ended.jar.get('sid')!);
      for (const u of users) assert.equal((await u.ended.post('/logout')).status, 204);

      // The node-redis Sentinel client too: its ends are confirmed on the master it leases.
      await sentinel.connect();
      const nr = new RedisStore({ client: sentinel as never, prefix: 'fo-nr:' });
      await nr.create(record('n1'));
      assert.equal((await nr.take('n1'))?.userId, 'u-n1');

      const oldMaster = await set.masterPort();
      const killedAt = Date.now();
      await set.server(oldMaster).stop('SIGKILL');
      const statuses = new Map<string, number>();
      for (const [i, u] of users.entries()) {
        let first503 = 0;
        for (;;) {
          const r = await u.live.get('/me');
          statuses.set(`${r.status}`, (statuses.get(`${r.status}`) ?? 0) + 1);
          // The ended session is never served, during the failover or after it.
          const dead = await new AppClient(u.app.url).get('/me', { cookie: `sid=${endedCookies[i]}` });
          assert.ok(dead.status === 401 || dead.status === 503, `the ended session answered ${dead.status}`);
          if (r.status === 200) break;
          assert.equal(r.status, 503, r.text);
          assert.equal(r.body.code, 'KW_STORE_UNAVAILABLE');
          first503 ||= Date.now();
          assert.ok(Date.now() - killedAt < 30_000, 'recovered within 30 s');
          await sleep(50);
        }
        console.log(`# ${ADAPTERS[i]}: first success ${Date.now() - killedAt} ms after the kill; 503s seen: ${JSON.stringify([...statuses])}`);
      }
      assert.notEqual(await set.masterPort(), oldMaster, 'a replica was promoted');
      assert.ok((statuses.get('503') ?? 0) > 0, 'the failover window was seen as 503s');
      for (const [i, u] of users.entries()) {
        assert.equal((await new AppClient(u.app.url).get('/me', { cookie: `sid=${endedCookies[i]}` })).status, 401, 'ended stays ended');
        // A new session can be made and ended (scripts load again on the new master; the other replica follows it).
        const c = new AppClient(u.app.url);
        assert.equal((await c.post('/login', { user: 'after' })).status, 200);
        let out: Reply;
        const deadline = Date.now() + 15_000;
        do {
          out = await c.post('/logout');
          if (out.status === 204) break;
          assert.equal(out.status, 503, out.text);
          await sleep(100);
        } while (Date.now() < deadline);
        assert.equal(out.status, 204, 'logouts are confirmed again once the new master has a replica');
      }
    } finally {
      await Promise.all(apps.map((a) => a.close()));
      await sentinel.close().catch(() => {});
    }
  });
});
