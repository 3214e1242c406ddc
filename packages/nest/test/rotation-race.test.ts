import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { KeywardEvents, RedisStore, SqliteStore, type KeywardModuleOptions, type SecurityEvent, type SessionStore } from '../src/index.js';
import { AppClient } from './support/clients.js';
import { FakeClock } from './support/fake-clock.js';
import type { Reply } from './support/clients.js';
import { RedisCluster } from './support/redis-cluster.js';
import { RedisServer, redisSuite } from './support/redis-server.js';
import type { AdapterName } from './support/adapters.js';
import { startTestApp as startSessionApp, type RunningApp } from './support/test-app.js';

// Issue 17: exactly one successor per ID when many requests on several instances race at
// the rotation moment, and the rotation costs no store command on requests that do not rotate.

const ROTATE = 15 * 60_000;
const SECRET = randomBytes(32).toString('base64url');
const INSTANCES: AdapterName[] = ['express', 'fastify', 'express'];

let redis: RedisServer;
const tmp = redisSuite('kw-rotation-race-', (server) => (redis = server));

function sidOf(reply: Reply): string | undefined {
  return reply.setCookies.find((c) => c.startsWith('sid='))?.split(';')[0]!.slice(4);
}

interface Fleet {
  apps: RunningApp[];
  stores: SessionStore[];
  events: SecurityEvent[];
  clock: FakeClock;
}

async function startFleet(openStore: () => SessionStore): Promise<Fleet> {
  const clock = new FakeClock(Date.now());
  const fleet: Fleet = { apps: [], stores: [], events: [], clock };
  for (const adapter of INSTANCES) {
    const store = openStore();
    const options: KeywardModuleOptions = { session: { secrets: [SECRET], store, clock, sweepIntervalMs: 0 } };
    const app = await startSessionApp(adapter, options);
    app.app.get(KeywardEvents).on((e) => fleet.events.push(e));
    fleet.apps.push(app);
    fleet.stores.push(store);
  }
  return fleet;
}

/**
 * Logs in on instance 0, lets the rotation fall due, then sends `n` requests at once with
 * the same (old) cookie, spread over the instances. Returns the replies and the user.
 */
async function race(fleet: Fleet, n: number): Promise<{ replies: Reply[]; user: string; old: string }> {
  const user = `racer-${randomBytes(4).toString('hex')}`;
  const c = new AppClient(fleet.apps[0]!.url);
  assert.equal((await c.post('/login', { user })).status, 200);
  assert.equal((await c.put('/data/before', { value: 'kept' })).status, 204);
  const old = c.jar.get('sid')!;
  fleet.clock.advance(ROTATE + 1);
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) => new AppClient(fleet.apps[i % fleet.apps.length]!.url).get('/me', { cookie: `sid=${old}` })),
  );
  return { replies, user, old };
}

async function assertOneSuccessor(fleet: Fleet, n: number): Promise<void> {
  const rotatedBefore = fleet.events.filter((e) => e.event === 'session.rotated').length;
  const { replies, user, old } = await race(fleet, n);
  const failed = replies.filter((r) => r.status !== 200);
  assert.equal(failed.length, 0, `failed: ${failed.map((r) => `${r.status} ${r.text}`).slice(0, 3).join('; ')}`);
  const cookies = new Set(replies.map(sidOf).filter((v): v is string => v !== undefined));
  assert.equal(cookies.size, 1, `distinct successor cookies handed out: ${cookies.size}`);
  const successor = [...cookies][0]!;
  assert.notEqual(successor, old);
  const given = replies.filter((r) => sidOf(r) === successor).length;
  assert.ok(given >= n * 0.9, `the successor cookie reached ${given} of ${n} racers`);
  for (const store of fleet.stores) {
    const live = await store.listByUser(user);
    assert.equal(live.length, 1, `live records: ${live.length}`);
    assert.equal(live[0]!.data.before, '"kept"');
  }
  assert.equal(fleet.events.filter((e) => e.event === 'session.rotated').length - rotatedBefore, 1, 'one session.rotated event across instances');
  // Both IDs lead to the same session afterwards, on every instance.
  for (const app of fleet.apps) {
    const viaNew = await new AppClient(app.url).get('/me', { cookie: `sid=${successor}` });
    assert.equal(viaNew.status, 200);
    assert.equal(sidOf(viaNew), undefined, 'the successor does not rotate again');
  }
}

describe('rotation race: 3 instances (Express, Fastify, Express) on one Redis', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet(() => new RedisStore({ url: redis.url, prefix: 'race:' }));
  });
  after(async () => {
    await Promise.all(fleet?.apps.map((a) => a.close()) ?? []);
  });

  it('200 concurrent requests at the rotation moment: exactly one successor, none fails, all get its cookie', async () => {
    await assertOneSuccessor(fleet, 200);
    // No loser's successor is left behind: one live record and one tombstone.
    const raw = new Redis(redis.url);
    try {
      const records = await raw.keys('race:s:*');
      assert.equal(records.length, 2, `session hashes: ${records.length}`);
    } finally {
      raw.disconnect();
    }
  });

  it('again on the successor, a rotation period later (a chain of rotations stays single)', async () => {
    await assertOneSuccessor(fleet, 120);
  });
});

describe('rotation race: 3 instances sharing one SQLite file', () => {
  let fleet: Fleet;
  before(async () => {
    const file = join(tmp, 'race.sqlite');
    fleet = await startFleet(() => new SqliteStore({ file }));
  });
  after(async () => {
    await Promise.all(fleet?.apps.map((a) => a.close()) ?? []);
  });

  it('200 concurrent requests at the rotation moment: exactly one successor, none fails', async () => {
    await assertOneSuccessor(fleet, 200);
  });
});

describe('rotation race: 3 instances on a 3-master Redis Cluster', () => {
  let fleet: Fleet;
  let cluster: RedisCluster;
  before(async () => {
    cluster = await RedisCluster.launch(3);
    fleet = await startFleet(() => new RedisStore({ cluster: cluster.nodes, prefix: 'race:' }));
  });
  after(async () => {
    await Promise.all(fleet?.apps.map((a) => a.close()) ?? []);
    await cluster?.destroy();
  });

  it('100 concurrent requests at the rotation moment: exactly one successor, none fails', async () => {
    await assertOneSuccessor(fleet, 100);
  });
});

describe('rotation cost: store commands per request (Redis MONITOR, deterministic)', () => {
  let app: RunningApp;
  let monitor: Awaited<ReturnType<Redis['monitor']>>;
  let monitorBase: Redis;
  const clock = new FakeClock(Date.now());
  const seen: string[] = [];

  before(async () => {
    app = await startSessionApp('express', { session: { secrets: [SECRET], store: new RedisStore({ url: redis.url, prefix: 'cost:' }), clock, sweepIntervalMs: 0 } });
    monitorBase = new Redis(redis.url);
    monitor = await monitorBase.monitor();
    // Only commands the app sent (not those a script ran inside Redis, source 'lua').
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && String(args[1] ?? '').startsWith('cost:')) seen.push(String(args[0]).toLowerCase());
      else if (source !== 'lua' && /^(evalsha|eval)$/i.test(String(args[0])) && String(args[3] ?? '').startsWith('cost:')) seen.push(String(args[0]).toLowerCase());
    });
  });
  after(async () => {
    monitor?.disconnect();
    monitorBase?.disconnect();
    await app?.close();
  });

  async function commandsOf(send: () => Promise<Reply>): Promise<{ reply: Reply; commands: string[] }> {
    await sleep(100);
    seen.length = 0;
    const reply = await send();
    await sleep(150); // the MONITOR feed trails the replies
    return { reply, commands: [...seen] };
  }

  it('a request that does not rotate costs one command (HGETALL); a rotating one costs the rotation', async (t) => {
    const c = new AppClient(app.url);
    assert.equal((await c.post('/login', { user: 'cost' })).status, 200);
    clock.advance(1000);
    const plain = await commandsOf(() => c.get('/me'));
    assert.equal(plain.reply.status, 200);
    assert.deepEqual(plain.commands, ['hgetall'], `non-rotating request: ${plain.commands.join(' ')}`);

    const old = c.jar.get('sid')!;
    clock.advance(ROTATE);
    const rotating = await commandsOf(() => c.get('/me'));
    assert.equal(rotating.reply.status, 200);
    assert.ok(sidOf(rotating.reply));
    const followed = await commandsOf(() => c.get('/me', { cookie: `sid=${old}` }));
    assert.equal(followed.reply.status, 200);
    // The first request with the new ID's own cookie marks it used (one write per rotation:
    // an unused successor lets a lost rotation answer's client back in once), then one command again.
    const first = await commandsOf(() => c.get('/me'));
    assert.equal(first.commands[0], 'hgetall');
    assert.equal(first.commands.length, 2, `first use of the new ID: ${first.commands.join(' ')}`);
    const after = await commandsOf(() => c.get('/me'));
    assert.deepEqual(after.commands, ['hgetall'], 'back to one command on the successor');
    t.diagnostic(`store commands: non-rotating ${plain.commands.length} (${plain.commands.join(' ')}); rotating ${rotating.commands.length} (${rotating.commands.join(' ')}); previous ID in grace ${followed.commands.length} (${followed.commands.join(' ')})`);
    assert.ok(rotating.commands.length <= 12, `rotating request: ${rotating.commands.join(' ')}`);
  });
});
