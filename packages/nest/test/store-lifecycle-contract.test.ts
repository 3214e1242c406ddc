import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { MemoryStore, RedisStore, SqliteStore, type RotateOutcome, type SessionLink, type SessionStore, type StoredSession, type TouchPolicy } from '../src/index.js';
import { RedisCluster } from './support/redis-cluster.js';
import { RedisServer, redisSuite } from './support/redis-server.js';

// Issue 17: the store steps of ID rotation (rotate) and the per-user cap (trimUser), on every store.

const MIN = 60_000;
const DAY = 86_400_000;
const noTouch = (now: number): TouchPolicy => ({ now, touchAfterMs: DAY, idleMs: 30 * MIN });

let redis: RedisServer;
const tmp = redisSuite('kw-store-life-', (server) => (redis = server));

function record(over: Partial<StoredSession> = {}): StoredSession {
  const t0 = over.createdAt ?? Date.now();
  return {
    key: randomBytes(32).toString('base64url'),
    handle: randomBytes(16).toString('base64url'),
    userId: `user-${randomBytes(6).toString('hex')}`,
    createdAt: t0,
    lastSeenAt: t0,
    idleExpiresAt: t0 + 30 * MIN,
    absoluteExpiresAt: t0 + 12 * 60 * MIN,
    version: 1,
    data: { 'kw.user': '{"id":"someone"}', theme: '"dark"' },
    ...over,
  };
}

function successorOf(s: StoredSession, data: Record<string, string> = s.data): { next: StoredSession; link: SessionLink } {
  const now = Date.now();
  const next: StoredSession = { ...s, key: randomBytes(32).toString('base64url'), version: 1, lastSeenAt: now, data: { ...data } };
  const link: SessionLink = { key: next.key, sealedId: randomBytes(40).toString('base64url'), rotatedAt: now, graceUntil: now + 60_000, keepUntil: s.absoluteExpiresAt + 60_000 };
  return { next, link };
}

function lifecycleContract(name: string, open: () => Promise<SessionStore>): void {
  describe(`${name}: rotate and trimUser contract`, () => {
    let store: SessionStore;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store?.close();
    });

    it('rotate: the successor holds the data; the old key is a tombstone with the link; writes to it land on the successor', async () => {
      const r = record();
      await store.create(r);
      const { next, link } = successorOf(r);
      assert.deepEqual(await store.rotate!({ key: r.key, version: 1 }, next, link), { state: 'rotated' });
      const tomb = await store.load(r.key, noTouch(Date.now()));
      assert.ok(tomb?.movedTo, 'a tombstone');
      assert.deepEqual(tomb.movedTo, link);
      assert.deepEqual(tomb.data, {}, 'the tombstone keeps no data');
      const live = await store.load(next.key, noTouch(Date.now()));
      assert.equal(live?.data.theme, '"dark"');
      assert.equal(live?.movedTo, undefined);
      assert.equal(await store.patch(r.key, { late: '1' }, ['theme']), true);
      const after = await store.load(next.key, noTouch(Date.now()));
      assert.equal(after?.data.late, '1');
      assert.equal(after?.data.theme, undefined);
      assert.equal(await store.setIfAbsent(r.key, 'kw.dek', 'x'), null, 'set-if-absent never lands on a tombstone');
      // A value bound to the old key itself (the vault's data key) is not carried over (issue 23, point 5).
      assert.equal(await store.patch(r.key, { 'kw.dek': 'bound-to-the-old-key' }, [], { followMoved: false }), false);
      assert.equal((await store.load(next.key, noTouch(Date.now())))?.data['kw.dek'], undefined);
      assert.equal(await store.patch(next.key, { own: '1' }, [], { followMoved: false }), true, 'the live record itself is written');
      const listed = await store.listByUser(r.userId);
      assert.deepEqual(listed.map((s) => s.key), [next.key], 'tombstones are not listed');
      assert.ok(!(await store.expiredKeys(Date.now() + DAY, 100)).includes(r.key), 'tombstones are never swept as sessions');
    });

    it('rotate: a second caller gets the first successor; a stale version or a missing record is said so', async () => {
      const r = record();
      await store.create(r);
      const first = successorOf(r);
      assert.equal((await store.rotate!({ key: r.key, version: 1 }, first.next, first.link)).state, 'rotated');
      const second = successorOf(r);
      assert.deepEqual(await store.rotate!({ key: r.key, version: 1 }, second.next, second.link), { state: 'moved', link: first.link });
      assert.equal(await store.load(second.next.key, noTouch(Date.now())), null, 'the loser left nothing');
      const s = record();
      await store.create(s);
      await store.patch(s.key, { x: '1' }, []);
      const stale = successorOf(s);
      assert.deepEqual(await store.rotate!({ key: s.key, version: 1 }, stale.next, stale.link), { state: 'stale' });
      assert.equal(await store.load(stale.next.key, noTouch(Date.now())), null);
      const gone = successorOf(record());
      assert.deepEqual(await store.rotate!({ key: randomBytes(32).toString('base64url'), version: 1 }, gone.next, gone.link), { state: 'gone' });
    });

    it('rotate: 50 concurrent callers, exactly one rotated, all others moved to its link, no stray successor', async () => {
      const r = record();
      await store.create(r);
      const tries = Array.from({ length: 50 }, () => successorOf(r));
      const outcomes = await Promise.all(tries.map((t) => store.rotate!({ key: r.key, version: 1 }, t.next, t.link)));
      const winners = outcomes.flatMap((o, i) => (o.state === 'rotated' ? [i] : []));
      assert.equal(winners.length, 1);
      const link = tries[winners[0]!]!.link;
      for (const o of outcomes) if (o.state !== 'rotated') assert.deepEqual(o, { state: 'moved', link });
      const loaded = await Promise.all(tries.map((t) => store.load(t.next.key, noTouch(Date.now()))));
      assert.equal(loaded.filter(Boolean).length, 1);
      assert.deepEqual((await store.listByUser(r.userId)).map((s) => s.key), [link.key]);
    });

    it('take of a tombstone returns it with its link (the engine ends the successor)', async () => {
      const r = record();
      await store.create(r);
      const { next, link } = successorOf(r);
      await store.rotate!({ key: r.key, version: 1 }, next, link);
      const taken = await store.take(r.key);
      assert.deepEqual(taken?.movedTo, link);
      assert.ok(await store.load(next.key, noTouch(Date.now())), 'the successor is the engine\'s to end');
    });

    it('trimUser: removes the oldest beyond max (never keep) and returns them; the rest stay', async () => {
      const user = `trim-${randomBytes(4).toString('hex')}`;
      const t0 = Date.now();
      const all = Array.from({ length: 5 }, (_, i) => record({ userId: user, createdAt: t0 + i * 1000 }));
      for (const s of all) await store.create(s);
      const removed = await store.trimUser!(user, 3, all[4]!.key, t0 + 10_000);
      assert.deepEqual(removed.map((s) => s.key), [all[0]!.key, all[1]!.key]);
      assert.equal(removed[0]!.data.theme, '"dark"', 'removed records come back whole, for their lifecycle');
      assert.deepEqual((await store.listByUser(user)).map((s) => s.key).sort(), all.slice(2).map((s) => s.key).sort());
      assert.deepEqual(await store.trimUser!(user, 3, all[4]!.key, t0 + 10_000), []);
      // The kept one survives even when it is the oldest.
      const kept = await store.trimUser!(user, 1, all[2]!.key, t0 + 10_000);
      assert.deepEqual(kept.map((s) => s.key).sort(), [all[3]!.key, all[4]!.key].sort());
    });

    it('trimUser: concurrent trims after concurrent creates leave exactly max and return each record once', async () => {
      const user = `trim-${randomBytes(4).toString('hex')}`;
      const all = Array.from({ length: 12 }, (_, i) => record({ userId: user, createdAt: Date.now() + i }));
      await Promise.all(all.map((s) => store.create(s)));
      const removed = (await Promise.all(all.map((s) => store.trimUser!(user, 4, s.key, Date.now())))).flat();
      assert.equal(new Set(removed.map((s) => s.key)).size, removed.length, 'each removed once');
      assert.equal((await store.listByUser(user)).length, 4);
      assert.equal(removed.length, 8);
    });

    it('trimUser: an expired record goes first, whatever its age; the oldest live one stays (issue 23.2)', async () => {
      // Regression: on Redis the cap ended the oldest live session while an expired one kept its slot.
      const user = `trim-${randomBytes(4).toString('hex')}`;
      const now = Date.now();
      const t0 = now - 10 * MIN;
      const oldest = record({ userId: user, createdAt: t0 });
      const expired = record({ userId: user, createdAt: t0 + 1000, lastSeenAt: t0 + 1000, idleExpiresAt: now - MIN });
      const younger = record({ userId: user, createdAt: t0 + 2000 });
      const fresh = record({ userId: user, createdAt: t0 + 3000 });
      for (const s of [oldest, expired, younger, fresh]) await store.create(s);
      const removed = await store.trimUser!(user, 3, fresh.key, now);
      assert.deepEqual(removed.map((s) => s.key), [expired.key], 'the expired record, not the oldest live one');
      assert.equal(removed[0]!.data.theme, '"dark"', 'returned whole, for its lifecycle');
      assert.deepEqual((await store.listByUser(user)).map((s) => s.key).sort(), [oldest.key, younger.key, fresh.key].sort());
      // Beyond the expired ones, the oldest live go next.
      const more = await store.trimUser!(user, 2, fresh.key, now);
      assert.deepEqual(more.map((s) => s.key), [oldest.key]);
    });

    it('listByUser while 30 callers race to rotate one session shows it exactly once, every time (issue 23.3)', async () => {
      // Regression: on Redis, a listing during the race showed the old record, the winner's
      // successor and a loser's successor: one session three times.
      for (let round = 0; round < 8; round++) {
        const r = record();
        await store.create(r);
        const tries = Array.from({ length: 30 }, () => successorOf(r));
        const listings: StoredSession[][] = [];
        let racing = true;
        const poll = async (): Promise<void> => {
          do {
            listings.push(await store.listByUser(r.userId));
            // A turn of the event loop each time: a store that answers at once must let the racers run.
            if (!racing || listings.length % 2 === 0) await setImmediate();
          } while (racing);
        };
        // Pollers and racers start over several turns of the event loop, so that listings
        // land between every step of the racers (a single Redis pipelines each turn's commands).
        const pollers: Array<Promise<void>> = [];
        const racers: Array<Promise<RotateOutcome>> = [];
        for (const [i, t] of tries.entries()) {
          if (i % 5 === 0) {
            pollers.push(poll());
            await setImmediate();
          }
          racers.push(store.rotate!({ key: r.key, version: 1 }, t.next, t.link));
        }
        const outcomes = await Promise.all(racers);
        racing = false;
        await Promise.all(pollers);
        assert.equal(outcomes.filter((o) => o.state === 'rotated').length, 1);
        for (const listed of listings) {
          assert.deepEqual(listed.map((s) => s.handle), [r.handle], `round ${round}: listed ${listed.length} times (${listings.length} listings)`);
          assert.equal(listed[0]!.movedTo, undefined);
        }
        const winner = tries[outcomes.findIndex((o) => o.state === 'rotated')]!.next.key;
        assert.deepEqual((await store.listByUser(r.userId)).map((s) => s.key), [winner]);
      }
    });

    it('trimUser follows a rotation: the successor takes the rotated session\'s place, by its creation time', async () => {
      const user = `trim-${randomBytes(4).toString('hex')}`;
      const t0 = Date.now();
      const old = record({ userId: user, createdAt: t0 });
      const young = record({ userId: user, createdAt: t0 + 1000 });
      await store.create(old);
      await store.create(young);
      const { next, link } = successorOf(old);
      await store.rotate!({ key: old.key, version: 1 }, next, link);
      const fresh = record({ userId: user, createdAt: t0 + 2000 });
      await store.create(fresh);
      const removed = await store.trimUser!(user, 2, fresh.key, t0 + 3000);
      assert.deepEqual(removed.map((s) => s.key), [next.key], 'the rotated session, created first, is the oldest');
    });
  });
}

lifecycleContract('memory', async () => new MemoryStore());
lifecycleContract('sqlite', async () => new SqliteStore({ file: join(tmp, 'life.sqlite') }));
lifecycleContract('redis', async () => new RedisStore({ url: redis.url, prefix: `lc${randomBytes(3).toString('hex')}:` }));

describe('redis cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await RedisCluster.launch(3);
  });
  after(async () => {
    await cluster?.destroy();
  });
  lifecycleContract('redis cluster', async () => new RedisStore({ cluster: cluster.nodes, prefix: 'lcc:' }));
});
