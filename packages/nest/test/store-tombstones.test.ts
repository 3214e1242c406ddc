import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Cluster, Redis } from 'ioredis';
import { MemoryStore, RedisStore, SessionEngine, SqliteStore, resolveKeywardOptions, type SessionStore } from '../src/index.js';
import { FakeClock } from './support/fake-clock.js';
import { RedisCluster } from './support/redis-cluster.js';
import { RedisServer, redisSuite } from './support/redis-server.js';

// Issue 23, point 1: a rotated-out ID leaves a tombstone (kept to the session's absolute
// deadline plus the grace, to detect reuse). The session's record listed only its last 32,
// so its end removed those and the older ones stayed in the store for up to weeks after a
// logout. The end of a session now removes every tombstone it left, on every store.

const SECRET = 'store-tombstones-secret-0123456789-abcdefghij';
const SEC = 1000;
const ROTATIONS = 300;

let redis: RedisServer;
const tmp = redisSuite('kw-store-tombstones-', (server) => (redis = server));

/** What a store holds, counted where it keeps it (entries, rows, keys). */
type Count = () => Promise<number>;

/** Every Map a memory store keeps, summed: sessions, tombstones, and any index of them. */
function memoryCount(store: MemoryStore): Count {
  return async () => Object.values(store).reduce((n, v) => n + (v instanceof Map ? v.size : 0), 0);
}

/** Rows of every table of the SQLite file, read through a connection of its own. */
function sqliteCount(file: string): Count {
  return async () => {
    const db = new Database(file, { readonly: true });
    try {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>;
      return tables.reduce((n, t) => n + (db.prepare(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  };
}

/** Keys under the store's prefix on every master. */
async function redisKeys(masters: Redis[], prefix: string): Promise<string[]> {
  const all: string[] = [];
  for (const m of masters) all.push(...(await m.keys(`${prefix}*`)));
  return all;
}

/**
 * Logs in, rotates the session's ID `ROTATIONS` times (every request after `rotateEveryMs`),
 * logs out, and checks that the store holds nothing of it and that old cookies are refused.
 */
async function rotateThenLogout(store: SessionStore, count: Count, elevateAt?: number): Promise<void> {
  const clock = new FakeClock();
  const engine = new SessionEngine(
    resolveKeywardOptions({ session: { secrets: [SECRET], store, clock, sweepIntervalMs: 0, rotateEveryMs: 2 * SEC, rotateGraceMs: SEC } }).session,
  );
  const ended: string[] = [];
  engine.addListener({ onSessionEnded: async (_r, reason) => void ended.push(reason) });
  const issued = await engine.create({ id: `user-${randomBytes(4).toString('hex')}` });
  const cookies = [issued.signedValue];
  let live = issued.record;
  for (let i = 0; i < ROTATIONS; i++) {
    clock.advance(2 * SEC);
    const r = await engine.resolve(cookies.at(-1)!);
    assert.ok(r.state === 'active' && r.rotated, `rotation ${i + 1}`);
    cookies.push(r.signedValue);
    live = r.record;
    if (i + 1 === elevateAt) {
      // A privilege change moves the session to a new ID and handle (regenerate): its
      // rotated-out IDs so far lead nowhere from then on.
      const moved = await engine.regenerate(live);
      assert.ok(moved);
      cookies.push(moved.signedValue);
      live = moved.record;
    }
  }
  // Before the logout: the live record and its tombstones (those since the privilege change).
  assert.ok((await count()) > ROTATIONS - (elevateAt ?? 0), 'the live record and its tombstones');
  assert.equal(await engine.end(live.key, 'logout'), true);
  assert.deepEqual(ended, ['logout']);
  assert.equal(await count(), 0, 'nothing of the session is left in the store after its logout');
  // An old cookie afterwards finds nothing: invalid, whether it is in its grace or long past it.
  for (const cookie of [cookies[0]!, cookies[ROTATIONS / 2]!, cookies.at(-2)!, cookies.at(-1)!]) {
    assert.deepEqual(await engine.resolve(cookie), { state: 'invalid' });
  }
  clock.advance(SEC / 2);
  assert.deepEqual(await engine.resolve(cookies.at(-2)!), { state: 'invalid' });
  assert.deepEqual(ended, ['logout'], 'no second end, no reuse reported for a session that is over');
}

describe(`a session rotated ${ROTATIONS} times then logged out leaves nothing in the store (issue 23.1)`, () => {
  it('memory', async () => {
    const store = new MemoryStore();
    await rotateThenLogout(store, memoryCount(store));
  });

  it('memory, with a privilege change (regenerate) after 200 rotations', async () => {
    const store = new MemoryStore();
    await rotateThenLogout(store, memoryCount(store), 200);
  });

  it('sqlite', async () => {
    const file = join(tmp, 'tombstones.sqlite');
    const store = new SqliteStore({ file });
    try {
      await rotateThenLogout(store, sqliteCount(file));
    } finally {
      await store.close();
    }
  });

  it('redis', async () => {
    const prefix = `tb${randomBytes(3).toString('hex')}:`;
    const store = new RedisStore({ url: redis.url, prefix });
    const probe = new Redis(redis.url);
    try {
      await rotateThenLogout(store, async () => (await redisKeys([probe], prefix)).length);
    } finally {
      probe.disconnect();
      await store.close();
    }
  });

  it('redis, with a privilege change (regenerate) after 200 rotations', async () => {
    const prefix = `tr${randomBytes(3).toString('hex')}:`;
    const store = new RedisStore({ url: redis.url, prefix });
    const probe = new Redis(redis.url);
    try {
      await rotateThenLogout(store, async () => (await redisKeys([probe], prefix)).length, 200);
    } finally {
      probe.disconnect();
      await store.close();
    }
  });

  describe('redis cluster', () => {
    let cluster: RedisCluster;
    before(async () => {
      cluster = await RedisCluster.launch(3);
    });
    after(async () => {
      await cluster?.destroy();
    });
    it('redis cluster', async () => {
      const store = new RedisStore({ cluster: cluster.nodes, prefix: 'tbc:' });
      const probe = new Cluster(cluster.nodes);
      if (probe.status !== 'ready') await once(probe, 'ready');
      try {
        await rotateThenLogout(store, async () => (await redisKeys(probe.nodes('master'), 'tbc:')).length);
      } finally {
        probe.disconnect();
        await store.close();
      }
    });
  });
});
