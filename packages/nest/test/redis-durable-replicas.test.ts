import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeywardConfigError, RedisStore, StoreNotDurableError } from '../src/index.js';
import { slotOf } from '../src/stores/redis-durable-ends.js';
import type { StoredSession } from '../src/stores/session-store.interface.js';
import { RedisClusterReplicas } from './support/redis-cluster-replicas.js';
import { ask, RedisReplicas } from './support/redis-replicas.js';
import { secret } from './support/secrets.js';

/*
 * Which replicas an end of a session waits for (issue 27). `durableEnds.replicas: 'all'` (the
 * default): every replica the master lists, so that whichever one Sentinel promotes has the
 * end; a stalled replica that stays connected holds ends back (503), one the master dropped
 * stops counting after a short hold. On a Cluster, a login's entry in its user's index lives
 * on another master than its record: it is confirmed before the record is written, so that
 * a failover cannot keep the record and lose the entry logout-all looks for.
 */

function record(key: string, userId = `u-${key}`): StoredSession {
  const now = Date.now();
  return { key, handle: `h-${key}`, userId, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 60_000, absoluteExpiresAt: now + 120_000, version: 1, data: {} };
}

async function outcome(p: Promise<unknown>): Promise<'confirmed' | 'not durable'> {
  try {
    await p;
    return 'confirmed';
  } catch (e) {
    if (e instanceof StoreNotDurableError) return 'not durable';
    throw e;
  }
}

describe('durableEnds.replicas option', () => {
  it("takes 'all' (the default) or a whole number, and names both in its problem", () => {
    assert.doesNotThrow(() => new RedisStore({ url: 'redis://127.0.0.1:1', durableEnds: { replicas: 'all' } }).close());
    assert.doesNotThrow(() => new RedisStore({ url: 'redis://127.0.0.1:1', durableEnds: { replicas: 2 } }).close());
    for (const bad of ['most', 0, 1.5, 17]) {
      try {
        new RedisStore({ url: 'redis://127.0.0.1:1', durableEnds: { replicas: bad as never } });
        assert.fail(`accepted ${String(bad)}`);
      } catch (e) {
        assert.ok(e instanceof KeywardConfigError, String(e));
        assert.match(e.problems.join('\n'), /`durableEnds.replicas`: .* is neither 'all' nor a whole number from 1 to 16/);
      }
    }
  });
});

describe("durable ends wait for every replica ('all'): a master and two replicas", () => {
  let set: RedisReplicas;
  before(async () => {
    set = await RedisReplicas.launch({ replicas: 2 });
  });
  after(() => set?.destroy());

  it('a stalled replica that is still connected refuses ends (whichever replica is promoted must have them); one the master dropped stops counting after the hold', async () => {
    const [master, , stalled] = set.servers as [RedisReplicas['servers'][0], RedisReplicas['servers'][0], RedisReplicas['servers'][0]];
    const store = new RedisStore({ url: master.url, prefix: 'all:', commandTimeoutMs: 3000, durableEnds: { timeoutMs: 1000 } });
    try {
      await store.create(record('k1'));
      assert.equal(await outcome(store.take('k1')), 'confirmed', 'both replicas have it');

      await store.create(record('k2'));
      set.pause(stalled);
      // With one replica waited for (the former default) this end was confirmed by the other.
      assert.equal(await outcome(store.take('k2')), 'not durable', 'one of the two replicas does not have it');

      // The stalled replica dies: the master drops it from its list. The first ends after
      // that are still refused (a replica that just left counts for a while), then confirmed.
      await store.create(record('k3'));
      await set.server(stalled.port).stop('SIGKILL');
      await waitForReplicaCount(master.port, 1);
      assert.equal(await outcome(store.take('k3')), 'not durable', 'a replica that just left still counts');
      const deadline = Date.now() + 20_000;
      let refused = 0;
      for (let i = 4; ; i++) {
        await store.create(record(`k${i}`));
        if ((await outcome(store.take(`k${i}`))) === 'confirmed') break;
        refused++;
        assert.ok(Date.now() < deadline, `ends still refused ${refused} times, 20 s after the master dropped the dead replica`);
        await sleep(500);
      }
    } finally {
      await store.close();
    }
  });
});

async function waitForReplicaCount(port: number, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = String(await ask(port, 'INFO', 'replication'));
    if (Number(/connected_slaves:(\d+)/.exec(info)?.[1]) === n) return;
    assert.ok(Date.now() < deadline, `the master still lists more than ${n} replica(s)`);
    await sleep(100);
  }
}

describe('Cluster with replicas: a login confirms its user-index entry before its record', () => {
  let c: RedisClusterReplicas;
  before(async () => {
    c = await RedisClusterReplicas.launch();
  });
  after(() => c?.destroy());

  /** The port of the master serving `key`'s slot. */
  async function masterOf(key: string): Promise<number> {
    const slot = slotOf(key);
    const ranges = (await ask(Number(c.seeds[0]!.split(':')[1]), 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const r = ranges.find(([from, to]) => slot >= from && slot <= to);
    assert.ok(r, `slot ${slot} is served`);
    return Number(r[2][1]);
  }

  it('with the replica of the user-index master stalled the login is refused (no record written); with only the record master\'s replica stalled it is not', async () => {
    const prefix = 'cl:';
    const store = new RedisStore({ cluster: c.seeds, prefix, commandTimeoutMs: 3000, durableEnds: { timeoutMs: 1000 } });
    try {
      // A user and a session key whose index and record live on different masters.
      let user = '';
      let key = '';
      let userMaster = 0;
      let recordMaster = 0;
      do {
        user = `user-${secret().slice(0, 8)}`;
        key = secret();
        userMaster = await masterOf(`${prefix}u:{${user}}`);
        recordMaster = await masterOf(`${prefix}s:{${key}}`);
      } while (userMaster === recordMaster);

      const indexReplica = await c.replicaOf(userMaster);
      indexReplica.pause();
      let refused: string;
      try {
        refused = await outcome(store.create(record(key, user)));
      } finally {
        indexReplica.resume();
      }
      assert.equal(refused, 'not durable', 'the index entry was not confirmed: the login fails closed');
      assert.equal(await store.load(key, { now: Date.now(), touchAfterMs: 60_000, idleMs: 60_000 }), null, 'and its record was never written');

      const recordReplica = await c.replicaOf(recordMaster);
      recordReplica.pause();
      try {
        assert.equal(await outcome(store.create(record(key, user))), 'confirmed', 'the record itself stays asynchronous');
      } finally {
        recordReplica.resume();
      }
      assert.deepEqual((await store.listByUser(user)).map((s) => s.key), [key], 'logout-all finds it');
    } finally {
      await store.close();
    }
  });

  // Regression (review of issue 27): on a Cluster the sweeper's takeMany took each record with a
  // durable take; one unconfirmed take rejected the whole batch after every record was already
  // removed, so no end ran (minted keys and tokens never revoked) and no later sweep found them.
  it('the sweeper\'s takeMany hands back every record it took, confirmed or not (a stalled replica)', async () => {
    const prefix = 'sw:';
    const store = new RedisStore({ cluster: c.seeds, prefix, commandTimeoutMs: 3000, durableEnds: { timeoutMs: 500 } });
    try {
      const keys = Array.from({ length: 12 }, () => secret());
      for (const k of keys) await store.create(record(k));
      const masters = new Set(await Promise.all(keys.map((k) => masterOf(`${prefix}s:{${k}}`))));
      assert.ok(masters.size >= 2, 'the records are spread over several masters');
      const stalled = await c.replicaOf([...masters][0]!);
      stalled.pause();
      let taken: Array<StoredSession | null>;
      try {
        taken = await store.takeMany(keys);
      } finally {
        stalled.resume();
      }
      assert.deepEqual(taken.map((r) => r?.key), keys, 'every record taken is handed back for its end to run');
      for (const k of keys) assert.equal(await store.load(k, { now: Date.now(), touchAfterMs: 60_000, idleMs: 60_000 }), null);
    } finally {
      await store.close();
    }
  });
});
