/**
 * Issue 18, point 2: the sliced sweep on Redis ran about 4x slower under load, because each
 * session it ended cost two round trips and four commands (the take script, then the
 * user's set, the expiry index and the user's sessions by age), each reply waiting its
 * turn behind the requests. RedisStore.takeMany ends a whole batch with one script: pinned
 * here by the server's own command count, with both clients Keyward supports, and by the
 * index entries it must leave behind (none).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { RedisStore, type SessionLink, type StoredSession } from '../src/index.js';
import { RedisServer, redisSuite } from './support/redis-server.js';

let redis: RedisServer;
redisSuite('kw-take-many-', (s) => (redis = s));

function record(userId: string): StoredSession {
  const t0 = Date.now();
  const key = randomBytes(32).toString('base64url');
  return { key, handle: key.slice(0, 22), userId, createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 60_000, absoluteExpiresAt: t0 + 3_600_000, version: 1, data: { 'kw.user': `{"id":"${userId}"}`, note: '"x"' } };
}

const clients: Array<[string, (prefix: string) => Promise<{ store: RedisStore; done: () => Promise<void> }>]> = [
  ['ioredis', async (prefix) => {
    const store = new RedisStore({ url: redis.url, prefix });
    return { store, done: () => store.close() };
  }],
  ['node-redis', async (prefix) => {
    const client = createClient({ url: redis.url });
    await client.connect();
    const store = new RedisStore({ client, prefix });
    return { store, done: async () => void (await client.quit()) };
  }],
];

for (const [name, open] of clients) {
  describe(`RedisStore.takeMany (${name})`, () => {
    it('ends a batch of 25 sessions with one command to Redis and leaves no index entry behind', async () => {
      const prefix = `tm-${randomBytes(4).toString('hex')}:`;
      const { store, done } = await open(prefix);
      const admin = createClient({ url: redis.url });
      await admin.connect();
      try {
        const records = Array.from({ length: 25 }, (_, i) => record(`user-${i % 4}`));
        for (const r of records) await store.create(r);
        const missing = randomBytes(32).toString('base64url');
        await store.takeMany([missing]); // the script is cached from here on (EVALSHA, no NOSCRIPT retry)

        // MONITOR shows every command the server runs; those a script runs are marked "lua".
        const seen: string[] = [];
        const monitor = createClient({ url: redis.url });
        await monitor.connect();
        await monitor.monitor((line: string) => void seen.push(line));
        await admin.ping(); // the monitor is live once it reports this
        const taken = await store.takeMany([...records.map((r) => r.key), missing]);
        await admin.set(`${prefix}fence`, '1');
        for (let i = 0; i < 100 && !seen.some((l) => l.includes('fence')); i++) await new Promise((r) => setTimeout(r, 10));
        await monitor.disconnect();
        const start = seen.findIndex((l) => /"ping"/i.test(l));
        const fence = seen.findIndex((l) => l.includes('fence'));
        const fromStore = seen.slice(start + 1, fence).filter((l) => !/ lua\]/.test(l));
        assert.equal(fromStore.length, 1, `one command for the whole batch; saw ${fromStore.map((l) => l.split('"')[1]).join(', ')}`);
        assert.equal(seen.slice(start + 1, fence).filter((l) => / lua\]/.test(l) && /"del"/i.test(l)).length, 25, 'which deleted the 25 records');
        assert.deepEqual(taken, [...records, null], 'each record as written, in key order; null where none');

        for (let u = 0; u < 4; u++) {
          assert.deepEqual(await admin.sMembers(`${prefix}u:{user-${u}}`), [], "the user's set lost its members");
          assert.deepEqual(await admin.zRange(`${prefix}uc:{user-${u}}`, 0, -1), [], "the user's sessions by age too");
        }
        assert.equal(await admin.zCard(`${prefix}exp`), 0, 'the expiry index is empty');
        assert.equal((await admin.keys(`${prefix}s:*`)).length, 0, 'no record is left');
        assert.deepEqual(await store.takeMany(records.map((r) => r.key)), records.map(() => null), 'a second take finds nothing');
      } finally {
        await admin.quit();
        await done();
      }
    });
  });
}

describe('RedisStore: a rotated-out ID\'s tombstone is judged by the engine\'s clock', () => {
  // The memory and SQLite stores stop answering with a tombstone once keepUntil has passed by
  // the now they are given; Redis answered until its own clock passed the key's expiry.
  it('before keepUntil the tombstone leads on, from it there is none', async () => {
    const store = new RedisStore({ url: redis.url, prefix: `kw-tomb-${randomBytes(4).toString('hex')}:` });
    try {
      const old = record('u-tomb');
      const next = record('u-tomb');
      await store.create(old);
      const keepUntil = Date.now() + 3_600_000;
      const link: SessionLink = { key: next.key, sealedId: 'sealed', rotatedAt: Date.now(), graceUntil: Date.now() + 60_000, keepUntil };
      assert.deepEqual(await store.rotate({ key: old.key, version: old.version }, next, link), { state: 'rotated' });
      const at = (now: number) => store.load(old.key, { now, touchAfterMs: 60_000, idleMs: 60_000 });
      assert.equal((await at(keepUntil - 1))?.movedTo?.key, next.key);
      assert.equal(await at(keepUntil), null, 'a clock moved past keepUntil sees no tombstone');
    } finally {
      await store.close();
    }
  });
});
