/**
 * Issue 18, point 2: "sweeps never stall the server". A sweep of a large backlog of expired
 * sessions held the event loop (SQLite: 10k sessions in one 23 s piece; Redis: 485 ms)
 * because batches ran back to back and each batch ended its 500 sessions at once.
 *
 * Pinned here without a wall-clock threshold (timings live in bench/scale.mjs): a probe in
 * the same process counts turns of the event loop during the sweep and how many sessions
 * ended between two turns. Only turns the sweep gave up itself count: a turn taken while
 * a store call is in flight is the network's (a Redis round trip lets the loop turn
 * whether or not the sweep is sliced), so with Redis too the test fails if a whole batch
 * ends without the sweep yielding. Every expired session still ends exactly once, with its
 * listeners and its `session.ended` event; live sessions are untouched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  RedisStore,
  SessionEngine,
  SessionService,
  SqliteStore,
  resolveKeywardOptions,
  type SecurityEventSink,
  type SessionStore,
  type StoredSession,
} from '../src/index.js';
import { SWEEP_BATCH, SWEEP_CONCURRENCY } from '../src/session/session.engine.js';
import { FakeClock } from './support/fake-clock.js';
import { RedisServer, redisSuite } from './support/redis-server.js';

const MIN = 60_000;
const IDLE = 30 * MIN;
const EXPIRED = 3_000;
const LIVE = 50;

let redis: RedisServer;
const dir = redisSuite('kw-sweep-stall-', (s) => (redis = s));

const stores: Array<[string, () => SessionStore]> = [
  ['sqlite', () => new SqliteStore({ file: join(dir, `sweep-${randomBytes(4).toString('hex')}.sqlite`) })],
  ['redis', () => new RedisStore({ url: redis.url, prefix: `sweep-${randomBytes(4).toString('hex')}:` })],
];

function record(userId: string, now: number, idleExpiresAt: number, absoluteExpiresAt: number): StoredSession {
  const key = randomBytes(32).toString('base64url');
  return { key, handle: key.slice(0, 16), userId, createdAt: now - IDLE, lastSeenAt: now - IDLE, idleExpiresAt, absoluteExpiresAt, version: 1, data: { note: '"x"' } };
}

interface Setup {
  store: SessionStore;
  /** Store calls under way now (see {@link counted}). */
  inFlight: () => number;
  clock: FakeClock;
  engine: SessionEngine;
  expired: StoredSession[];
  live: StoredSession[];
  ended: Map<string, number>;
  events: Array<Parameters<SecurityEventSink['emit']>[0]>;
}

/**
 * The same store, counting its calls under way: a call is in flight from the moment it is
 * made until its promise settles (then the caller goes on in the same microtask drain, so
 * at the next turn of the loop it has either made its next call or yielded).
 */
function counted(store: SessionStore): { store: SessionStore; inFlight: () => number } {
  let n = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const out = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (!(out instanceof Promise)) return out;
        n++;
        return out.finally(() => n--);
      };
    },
  });
  return { store: wrapped, inFlight: () => n };
}

async function setup(open: () => SessionStore, count = EXPIRED): Promise<Setup> {
  const { store, inFlight } = counted(open());
  const clock = new FakeClock(Date.now());
  const events: Array<Parameters<SecurityEventSink['emit']>[0]> = [];
  const options = resolveKeywardOptions({ session: { secrets: [randomBytes(32).toString('base64url')], store, clock, sweepIntervalMs: 0, idleTimeoutMs: IDLE } });
  const engine = new SessionEngine(options.session, { emit: (e) => void events.push(e) });
  const ended = new Map<string, number>();
  engine.addListener({ onSessionEnded: async (r) => void ended.set(r.key, (ended.get(r.key) ?? 0) + 1) });
  const now = clock.now();
  // Half passed their idle deadline, half their absolute one.
  const expired = Array.from({ length: count }, (_, i) =>
    i % 2 === 0 ? record(`u${i % 97}`, now, now - 1000 - i, now + IDLE) : record(`u${i % 97}`, now, now + IDLE, now - 1000 - i),
  );
  const live = Array.from({ length: LIVE }, (_, i) => record(`u${i % 97}`, now, now + IDLE, now + 2 * IDLE));
  for (let i = 0; i < expired.length; i += 500) await Promise.all(expired.slice(i, i + 500).map((r) => store.create(r)));
  await Promise.all(live.map((r) => store.create(r)));
  return { store, inFlight, clock, engine, expired, live, ended, events };
}

async function assertEachEndedOnce(s: Setup): Promise<void> {
  const count = s.expired.length;
  assert.equal(s.ended.size, count, 'a listener ran for every expired session');
  for (const r of s.expired) assert.equal(s.ended.get(r.key), 1, 'each expired session ended exactly once');
  for (const r of s.live) assert.equal(s.ended.has(r.key), false, 'no live session ended');
  const endedEvents = s.events.filter((e) => e.event === 'session.ended');
  assert.equal(endedEvents.length, count, 'one session.ended event per expired session');
  assert.equal(endedEvents.filter((e) => e.reason === 'idle').length, Math.ceil(count / 2));
  assert.equal(endedEvents.filter((e) => e.reason === 'absolute').length, Math.floor(count / 2));
  assert.deepEqual(await s.store.expiredKeys(s.clock.now(), 10), [], 'nothing expired is left');
  const policy = { now: s.clock.now(), touchAfterMs: 60_000, idleMs: IDLE };
  for (const r of s.live) assert.ok(await s.store.load(r.key, policy), 'live sessions are still stored');
}

/**
 * Runs `work` while a probe counts turns of the event loop (setImmediate) that the sweep
 * gave up itself (no store call in flight), and the most sessions that ended between two
 * such turns.
 */
async function probeLoop<T>(s: Setup, work: () => Promise<T>): Promise<{ result: T; turns: number; mostBetweenTurns: number }> {
  let turns = 0;
  let endedAtLastTurn = 0;
  let mostBetweenTurns = 0;
  let running = true;
  const probe = (): void => {
    if (!running) return;
    setImmediate(probe);
    if (s.inFlight() > 0) return; // the network's turn, not the sweep's
    turns++;
    mostBetweenTurns = Math.max(mostBetweenTurns, s.ended.size - endedAtLastTurn);
    endedAtLastTurn = s.ended.size;
  };
  setImmediate(probe);
  const result = await work();
  running = false;
  mostBetweenTurns = Math.max(mostBetweenTurns, s.ended.size - endedAtLastTurn);
  return { result, turns, mostBetweenTurns };
}

for (const [kind, open] of stores) {
  describe(`sweep of ${EXPIRED} expired sessions lets the event loop turn (${kind})`, () => {
    it('the loop turns between batches and never more than one batch ends between two turns', async () => {
      const s = await setup(open);
      const service = new SessionService(s.engine);
      try {
        const { result: total, turns, mostBetweenTurns } = await probeLoop(s, () => service.sweep());

        assert.equal(total, EXPIRED);
        const batches = Math.ceil(EXPIRED / SWEEP_BATCH);
        assert.ok(turns >= batches, `the event loop turned ${turns} times during ${batches} batches`);
        assert.ok(mostBetweenTurns <= SWEEP_BATCH, `at most one batch (${SWEEP_BATCH}) ends between two turns; saw ${mostBetweenTurns}`);
        await assertEachEndedOnce(s);
        assert.equal(await service.sweep(), 0, 'a second sweep finds nothing');
      } finally {
        await s.store.close();
      }
    });

    it('within a batch, the loop turns once the slice has used its time (a slow synchronous listener)', async () => {
      const s = await setup(open, 200);
      // Each end holds the thread 1 ms, so one chunk of sessions always outlasts the slice.
      s.engine.addListener({
        onSessionEnded: async () => {
          const until = performance.now() + 1;
          while (performance.now() < until);
        },
      });
      const service = new SessionService(s.engine);
      try {
        const { result, mostBetweenTurns } = await probeLoop(s, () => service.sweep());
        assert.equal(result, 200);
        assert.ok(mostBetweenTurns <= SWEEP_CONCURRENCY, `at most one chunk (${SWEEP_CONCURRENCY}) ends between two turns; saw ${mostBetweenTurns}`);
        await assertEachEndedOnce(s);
      } finally {
        await s.store.close();
      }
    });

    it('a shutdown during a sweep stops it after the batch under way, before the store closes', async () => {
      const s = await setup(open, 1000);
      const service = new SessionService(s.engine);
      const sweep = service.sweep();
      while (s.ended.size === 0) await new Promise((r) => setImmediate(r));
      await service.onApplicationShutdown();
      const total = await sweep; // resolves: no call hit a closed store
      assert.ok(total > 0 && total < 1000, `stopped early: ${total} of 1000 ended`);
      assert.equal(total, s.ended.size, 'every session taken from the store ran its listeners');
      assert.equal(await service.sweep(), 0, 'no sweep starts after shutdown');
    });

    it('two sweepers at once (no lease) end each session exactly once', async () => {
      const s = await setup(open);
      try {
        const drain = async (): Promise<number> => {
          let total = 0;
          for (let n = await s.engine.sweep(); n > 0; n = await s.engine.sweep()) total += n;
          return total;
        };
        const [a, b] = await Promise.all([drain(), drain()]);
        assert.equal(a + b, EXPIRED, 'each session counted by one sweeper');
        await assertEachEndedOnce(s);
      } finally {
        await s.store.close();
      }
    });
  });
}
