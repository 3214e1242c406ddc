import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { createClient } from 'redis';
import {
  MemoryStore,
  RedisStore,
  SessionEngine,
  SqliteStore,
  StoreUnavailableError,
  resolveKeywardOptions,
  type SessionStore,
  type StoredSession,
  type TouchPolicy,
} from '../src/index.js';
import { RedisServer, redisSuite } from './support/redis-server.js';

const MIN = 60_000;
const DAY = 86_400_000;
const IDLE = 30 * MIN;
const ABS = 12 * 60 * MIN;
// Child processes and threads import only the SQLite store (not all of Nest): quicker to start.
const SQLITE_JS = new URL('../src/stores/sqlite.store.js', import.meta.url).href;

/** A fresh record at `t0` (real time by default: Redis expires keys by the wall clock). */
function newRecord(over: Partial<StoredSession> = {}): StoredSession {
  const t0 = over.createdAt ?? Date.now();
  const key = randomBytes(32).toString('base64url');
  return {
    key,
    handle: randomBytes(16).toString('base64url'),
    userId: `user-${randomBytes(6).toString('hex')}`,
    createdAt: t0,
    lastSeenAt: t0,
    idleExpiresAt: t0 + IDLE,
    absoluteExpiresAt: t0 + ABS,
    version: 1,
    data: { 'kw.user': '{"id":"someone"}', theme: '"dark"' },
    ...over,
  };
}

const noTouch = (now: number): TouchPolicy => ({ now, touchAfterMs: DAY, idleMs: IDLE });

/** An object whose listed keys are all own data properties, even `__proto__`. */
function own(entries: Array<[string, string]>): Record<string, string> {
  return Object.fromEntries(entries);
}

/** What every store implementation must do. Runs once per store. */
function storeContract(name: string, open: () => Promise<SessionStore>): void {
  describe(`${name}: SessionStore contract`, () => {
    let store: SessionStore;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store?.close();
    });

    it('create then load returns the record exactly as written', async () => {
      const r = newRecord();
      await store.create(r);
      assert.deepEqual(await store.load(r.key, noTouch(r.createdAt + 1000)), r);
    });

    it('load of an unknown key is null', async () => {
      assert.equal(await store.load(randomBytes(32).toString('base64url'), noTouch(Date.now())), null);
    });

    it('touch: nothing is written before touchAfterMs, once after, and the touch is persisted', async () => {
      const r = newRecord();
      const t0 = r.createdAt;
      await store.create(r);
      const early = await store.load(r.key, { now: t0 + MIN - 1, touchAfterMs: MIN, idleMs: IDLE });
      assert.deepEqual(early, r, 'no change (and no version bump) within the interval');

      const touched = await store.load(r.key, { now: t0 + MIN, touchAfterMs: MIN, idleMs: IDLE });
      assert.equal(touched?.lastSeenAt, t0 + MIN);
      assert.equal(touched?.idleExpiresAt, t0 + MIN + IDLE);
      assert.equal(touched?.version, r.version + 1);
      assert.equal(touched?.absoluteExpiresAt, r.absoluteExpiresAt);
      assert.deepEqual(touched?.data, r.data);

      const again = await store.load(r.key, { now: t0 + MIN + 1, touchAfterMs: MIN, idleMs: IDLE });
      assert.deepEqual(again, touched, 'persisted, and not touched again within the next interval');
    });

    it('touch never revives an idle-expired or absolute-expired record', async () => {
      const now = Date.now();
      const idleExpired = newRecord({ createdAt: now - 2 * IDLE, lastSeenAt: now - IDLE - 1, idleExpiresAt: now - 1 });
      const absExpired = newRecord({ createdAt: now - ABS, lastSeenAt: now - 5 * MIN, idleExpiresAt: now + 25 * MIN, absoluteExpiresAt: now });
      for (const r of [idleExpired, absExpired]) {
        await store.create(r);
        const loaded = await store.load(r.key, { now, touchAfterMs: 0, idleMs: IDLE });
        assert.deepEqual(loaded, r, 'returned as stored, not extended');
        assert.ok(Math.min(loaded!.idleExpiresAt, loaded!.absoluteExpiresAt) <= now);
        assert.deepEqual(await store.load(r.key, noTouch(now)), r, 'nothing was written');
      }
    });

    it('touch never extends past the absolute deadline', async () => {
      const r = newRecord();
      r.absoluteExpiresAt = r.createdAt + 10 * MIN;
      r.idleExpiresAt = r.absoluteExpiresAt;
      await store.create(r);
      const touched = await store.load(r.key, { now: r.createdAt + 5 * MIN, touchAfterMs: 0, idleMs: IDLE });
      assert.equal(touched?.lastSeenAt, r.createdAt + 5 * MIN);
      assert.equal(touched?.idleExpiresAt, r.absoluteExpiresAt);
    });

    it('patch sets and unsets only the named fields and bumps the version', async () => {
      const r = newRecord({ data: { a: '1', b: '2', c: '3' } });
      await store.create(r);
      assert.equal(await store.patch(r.key, { b: '20', d: '4' }, ['c', 'never-existed']), true);
      const loaded = await store.load(r.key, noTouch(r.createdAt));
      assert.deepEqual(loaded?.data, { a: '1', b: '20', d: '4' });
      assert.equal(loaded?.version, 2);
      assert.deepEqual({ ...loaded, data: r.data, version: 1 }, r, 'metadata untouched');
    });

    it('patch of a missing or ended record returns false and creates nothing', async () => {
      const ghost = randomBytes(32).toString('base64url');
      assert.equal(await store.patch(ghost, { x: '1' }, []), false);
      assert.equal(await store.load(ghost, noTouch(Date.now())), null);
      const r = newRecord();
      await store.create(r);
      await store.take(r.key);
      assert.equal(await store.patch(r.key, { x: '1' }, ['theme']), false);
      assert.equal(await store.load(r.key, noTouch(Date.now())), null);
    });

    it('200 concurrent patches of different fields all survive, also while touches run', async () => {
      const r = newRecord({ data: {} });
      await store.create(r);
      const patches = Array.from({ length: 200 }, (_, i) => store.patch(r.key, { [`f${i}`]: `v${i}` }, []));
      const touches = Array.from({ length: 50 }, (_, i) => store.load(r.key, { now: r.createdAt + i + 1, touchAfterMs: 0, idleMs: IDLE }));
      const results = await Promise.all([...patches, ...touches]);
      assert.ok(results.slice(0, 200).every((ok) => ok === true));
      const loaded = await store.load(r.key, noTouch(r.createdAt));
      assert.deepEqual(loaded?.data, Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, `v${i}`])));
      assert.ok(loaded!.version >= 201, `version ${loaded!.version} counts every patch`);
    });

    it('take returns the record to exactly one of 50 concurrent callers', async () => {
      const r = newRecord();
      await store.create(r);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.take(r.key)));
      const winners = results.filter((x) => x !== null);
      assert.equal(winners.length, 1);
      assert.deepEqual(winners[0], r);
      assert.equal(await store.load(r.key, noTouch(Date.now())), null);
      assert.equal(await store.take(r.key), null);
      assert.deepEqual(await store.listByUser(r.userId), []);
    });

    it('takeMany (where a store has it): results in key order, each record to exactly one caller among takes and takeManys', async (t) => {
      if (name.toLowerCase().includes('sqlite')) assert.equal(typeof store.takeMany, 'function', 'the SQLite store takes a chunk in one transaction');
      if (name.toLowerCase().includes('redis')) assert.equal(typeof store.takeMany, 'function', 'the Redis store takes a chunk in one script');
      if (!store.takeMany) return t.skip(`${name} has no takeMany; the engine calls take per key`);
      const records = Array.from({ length: 20 }, () => newRecord());
      for (const r of records) await store.create(r);
      const keys = records.map((r) => r.key);
      const missing = randomBytes(32).toString('base64url');
      assert.deepEqual(await store.takeMany([keys[0]!, missing, keys[1]!]), [records[0], null, records[1]]);
      const rest = keys.slice(2);
      const results = await Promise.all([store.takeMany(rest), store.takeMany([...rest].reverse()), ...rest.map((k) => store.take(k))]);
      const taken = results.flat().filter((x) => x !== null).map((x) => x!.key).sort();
      assert.deepEqual(taken, [...rest].sort(), 'each record taken exactly once');
      assert.deepEqual(await store.takeMany(keys), keys.map(() => null));
      assert.deepEqual(await store.listByUser(records[0]!.userId), []);
    });

    it("listByUser returns only that user's records and drops ended ones", async () => {
      const userId = `list-${randomBytes(4).toString('hex')}`;
      const mine = [newRecord({ userId }), newRecord({ userId }), newRecord({ userId })];
      const theirs = newRecord();
      for (const r of [...mine, theirs]) await store.create(r);
      const keys = async (u: string) => (await store.listByUser(u)).map((s) => s.key).sort();
      assert.deepEqual(await keys(userId), mine.map((r) => r.key).sort());
      const listed = (await store.listByUser(userId)).find((s) => s.key === mine[0]!.key);
      assert.deepEqual(listed, mine[0], 'full records, data included');
      await store.take(mine[1]!.key);
      assert.deepEqual(await keys(userId), [mine[0]!.key, mine[2]!.key].sort());
      assert.deepEqual(await keys(theirs.userId), [theirs.key]);
      assert.deepEqual(await store.listByUser(`nobody-${randomBytes(4).toString('hex')}`), []);
    });

    it('expiredKeys lists expired records only, oldest first, at most `limit`', async () => {
      const now = Date.now();
      // Far older than anything else in this store, so they sort first.
      const old = now - 20 * DAY;
      const expired = [3, 1, 2].map((n) =>
        newRecord({ createdAt: old - ABS, lastSeenAt: old - IDLE, idleExpiresAt: old + n, absoluteExpiresAt: old + ABS }),
      );
      const absExpired = newRecord({ createdAt: old - ABS, lastSeenAt: old - 1, idleExpiresAt: old + IDLE, absoluteExpiresAt: old + 4 });
      const live = newRecord();
      for (const r of [...expired, absExpired, live]) await store.create(r);
      const byAge = [expired[1]!, expired[2]!, expired[0]!, absExpired].map((r) => r.key);
      assert.deepEqual(await store.expiredKeys(now, 2), byAge.slice(0, 2));
      const all = await store.expiredKeys(now, 10_000);
      assert.deepEqual(all.slice(0, 4), byAge);
      assert.ok(!all.includes(live.key));
      await store.take(byAge[0]!);
      assert.deepEqual((await store.expiredKeys(now, 2)), byAge.slice(1, 3), 'taken records leave the list');
      for (const k of byAge.slice(1)) await store.take(k);
    });

    it('expiredKeys follows touches: a touched session is not listed at its old expiry', async () => {
      const r = newRecord();
      const t0 = r.createdAt;
      r.idleExpiresAt = t0 + 1000;
      await store.create(r);
      const touched = await store.load(r.key, { now: t0 + 900, touchAfterMs: 0, idleMs: 1000 });
      assert.equal(touched?.idleExpiresAt, t0 + 1900);
      assert.ok(!(await store.expiredKeys(t0 + 1500, 10_000)).includes(r.key), 'not expired at its old deadline');
      assert.ok(!(await store.expiredKeys(t0 + 1899, 10_000)).includes(r.key));
      assert.ok((await store.expiredKeys(t0 + 1900, 10_000)).includes(r.key), 'expired at its new deadline');
      await store.take(r.key);
    });

    it('user entries: set, overwrite, list, delete, per user', async () => {
      const u1 = `ue-${randomBytes(4).toString('hex')}`;
      const u2 = `ue-${randomBytes(4).toString('hex')}`;
      assert.deepEqual(await store.getUserEntries(u1), {});
      await store.setUserEntry(u1, 'demo-byok', { value: 'cipher-1', updatedAt: 1 });
      await store.setUserEntry(u1, 'other', { value: 'cipher-2', updatedAt: 2 });
      await store.setUserEntry(u2, 'demo-byok', { value: 'cipher-3', updatedAt: 3 });
      await store.setUserEntry(u1, 'demo-byok', { value: 'cipher-1b', updatedAt: 4 });
      assert.deepEqual(await store.getUserEntries(u1), { 'demo-byok': { value: 'cipher-1b', updatedAt: 4 }, other: { value: 'cipher-2', updatedAt: 2 } });
      assert.deepEqual(await store.getUserEntries(u2), { 'demo-byok': { value: 'cipher-3', updatedAt: 3 } });
      assert.equal(await store.deleteUserEntry(u1, 'other'), true);
      assert.equal(await store.deleteUserEntry(u1, 'other'), false);
      assert.equal(await store.deleteUserEntry(u1, 'never'), false);
      assert.deepEqual(await store.getUserEntries(u1), { 'demo-byok': { value: 'cipher-1b', updatedAt: 4 } });
    });

    it('user entries with hostile names and values round-trip exactly', async () => {
      const u = `ue-ünï-${randomBytes(4).toString('hex')} \r\n`;
      const names = ['__proto__', 'constructor', 'toString', 'ключ 🔑', 'a\r\nb', 'x'.repeat(500)];
      for (const [i, n] of names.entries()) await store.setUserEntry(u, n, { value: `v${i}\r\n\0é${'z'.repeat(i * 1000)}`, updatedAt: i });
      const got = await store.getUserEntries(u);
      assert.equal(Object.getPrototypeOf(got), Object.prototype, 'a name cannot change the prototype');
      assert.deepEqual(Object.keys(got).sort(), [...names].sort());
      for (const [i, n] of names.entries()) assert.deepEqual(Object.getOwnPropertyDescriptor(got, n)?.value, { value: `v${i}\r\n\0é${'z'.repeat(i * 1000)}`, updatedAt: i }, n);
    });

    it('acquireLease: exclusive, renewable by its owner, free again after it lapses', async () => {
      const lease = `sweep-${randomBytes(4).toString('hex')}`;
      assert.equal(await store.acquireLease(lease, 'a', 1000), true);
      assert.equal(await store.acquireLease(lease, 'b', 1000), false);
      assert.equal(await store.acquireLease(lease, 'a', 1000), true, 'the owner renews');
      const contenders = await Promise.all(['b', 'c', 'd', 'e'].map((o) => store.acquireLease(lease, o, 1000)));
      assert.deepEqual(contenders, [false, false, false, false]);
      await sleep(1150);
      const race = await Promise.all(['b', 'c', 'd', 'e'].map((o) => store.acquireLease(lease, o, 5000)));
      assert.equal(race.filter(Boolean).length, 1, 'exactly one contender takes the lapsed lease');
      assert.equal(await store.acquireLease(lease, 'a', 300), false);
      assert.equal(await store.acquireLease(`${lease}-other`, 'a', 300), true, 'leases are independent by name');
    });

    it('hostile field names and values (unicode, CR/LF, NUL, 100 KB, prototype names, metadata names) round-trip', async () => {
      const big = 'ß'.repeat(50_000) + 'x'.repeat(3_000); // > 100 KB in UTF-8
      const entries: Array<[string, string]> = [
        ['__proto__', '"proto"'],
        ['constructor', '"ctor"'],
        ['toString', '"ts"'],
        ['hasOwnProperty', '"hop"'],
        ['ünïcødé-名前-🔑', 'värde 😀'],
        ['line\r\nbreak', 'CR\rLF\nCRLF\r\n'],
        ['tab\tname', 'NUL\0inside'],
        ['d:nested', 'prefix-lookalike'],
        // Names a store might use for its own metadata:
        ['u', 'not the user'], ['h', 'not the handle'], ['c', 'x'], ['l', 'x'], ['ie', 'x'], ['ae', 'x'], ['v', 'x'],
        ['key', 'x'], ['name', 'x'], ['value', 'x'],
        ['big', big],
        ['empty', ''],
        ['n'.repeat(1000), 'long name'],
      ];
      const r = newRecord({ userId: `ünï ${randomBytes(4).toString('hex')}`, data: own(entries) });
      assert.ok(Buffer.byteLength(big) > 100 * 1024);
      await store.create(r);
      const loaded = await store.load(r.key, noTouch(r.createdAt));
      assert.ok(loaded);
      assert.equal(Object.getPrototypeOf(loaded.data), Object.prototype, 'a field name cannot change the prototype');
      assert.deepEqual(loaded, r, 'after create');
      assert.deepEqual((await store.listByUser(r.userId))[0], r, 'through listByUser');

      const patched: Array<[string, string]> = entries.map(([k, v]) => [k, `${v}|patched\r\n`]);
      assert.equal(await store.patch(r.key, own(patched), []), true);
      assert.deepEqual((await store.load(r.key, noTouch(r.createdAt)))?.data, own(patched), 'after patch');
      assert.equal(await store.patch(r.key, {}, entries.map(([k]) => k)), true);
      assert.deepEqual((await store.load(r.key, noTouch(r.createdAt)))?.data, {}, 'after unsetting every field');
      const loadedAfter = await store.load(r.key, noTouch(r.createdAt));
      assert.equal(loadedAfter?.userId, r.userId);
      assert.equal(loadedAfter?.handle, r.handle);
    });

    it('setIfAbsent: exactly one of 50 concurrent writers wins; everyone sees the winner', async () => {
      const r = newRecord();
      await store.create(r);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.setIfAbsent(r.key, 'minted', `key-${i}`)));
      const winner = results[0];
      assert.match(String(winner), /^key-\d+$/);
      assert.ok(results.every((v) => v === winner), 'all callers get the same value');
      const loaded = await store.load(r.key, noTouch(r.createdAt));
      assert.equal(loaded?.data.minted, winner);
      assert.equal(loaded?.version, r.version + 1, 'one write, one version bump');
      assert.equal(await store.setIfAbsent(r.key, 'theme', '"light"'), '"dark"', 'an existing field is kept');
    });

    it('setIfAbsent on a missing record returns null and creates nothing', async () => {
      const ghost = randomBytes(32).toString('base64url');
      assert.equal(await store.setIfAbsent(ghost, 'minted', 'k'), null);
      assert.equal(await store.load(ghost, noTouch(Date.now())), null);
    });

    it('setIfAbsent treats inherited names (toString, constructor, __proto__) as absent fields', async () => {
      const r = newRecord({ data: {} });
      await store.create(r);
      for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
        assert.equal(await store.setIfAbsent(r.key, name, `v-${name}`), `v-${name}`, name);
      }
      const data = (await store.load(r.key, noTouch(r.createdAt)))!.data;
      assert.equal(Object.getPrototypeOf(data), Object.prototype);
      assert.deepEqual(Object.keys(data).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
      assert.equal(Object.getOwnPropertyDescriptor(data, '__proto__')?.value, 'v-__proto__');
    });

    it('setUserEntryIfAbsent: first writer wins under concurrency', async () => {
      const u = `uei-${randomBytes(4).toString('hex')}`;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setUserEntryIfAbsent(u, 'demo-byok', { value: `c${i}`, updatedAt: i })));
      assert.ok(results.every((e) => e.value === results[0]!.value && e.updatedAt === results[0]!.updatedAt));
      assert.deepEqual(await store.getUserEntries(u), { 'demo-byok': results[0] });
      assert.deepEqual(await store.setUserEntryIfAbsent(u, 'demo-byok', { value: 'late', updatedAt: 99 }), results[0]);
    });

    it('scanSessionKeys and scanUserIds list every key and user', async () => {
      const records = [newRecord(), newRecord()];
      for (const r of records) await store.create(r);
      const users = [`scan-${randomBytes(4).toString('hex')}`, `scan-ünï-${randomBytes(4).toString('hex')}`];
      for (const u of users) await store.setUserEntry(u, 'x', { value: 'v', updatedAt: 1 });
      const keys = new Set<string>();
      for await (const batch of store.scanSessionKeys()) for (const k of batch) keys.add(k);
      const ids = new Set<string>();
      for await (const batch of store.scanUserIds()) for (const u of batch) ids.add(u);
      for (const r of records) assert.ok(keys.has(r.key), 'session key listed');
      for (const u of users) assert.ok(ids.has(u), `user ${u} listed`);
      await store.take(records[0]!.key);
      const after = new Set<string>();
      for await (const batch of store.scanSessionKeys()) for (const k of batch) after.add(k);
      assert.ok(!after.has(records[0]!.key) && after.has(records[1]!.key));
    });

    it('ping answers while the store is up', async () => {
      await store.ping();
    });

    // hitCounters (issue 22): the proxy's call limits, counted in the session store.
    const group = () => `u:counter-${randomBytes(6).toString('hex')}`;

    it('hitCounters: allows max hits per window, then refuses with the time left; all or nothing', async () => {
      const g = group();
      const t0 = Date.now();
      const pair = [{ name: 'a', max: 3, windowMs: 10_000 }, { name: 'b', max: 5, windowMs: 60_000 }];
      for (let i = 0; i < 3; i++) assert.deepEqual(await store.hitCounters!(g, pair, t0 + i), { allowed: true });
      assert.deepEqual(await store.hitCounters!(g, pair, t0 + 4000), { allowed: false, refusedBy: 0, retryAfterMs: 6000 });
      // The refused hit counted nowhere: b has 3 of 5, so two more pass on b alone, then it is full.
      const b = [pair[1]!];
      assert.deepEqual(await store.hitCounters!(g, b, t0 + 5000), { allowed: true });
      assert.deepEqual(await store.hitCounters!(g, b, t0 + 5001), { allowed: true });
      assert.deepEqual(await store.hitCounters!(g, b, t0 + 5002), { allowed: false, refusedBy: 0, retryAfterMs: 54_998 });
      // Both full: the verdict names the one that frees up last.
      assert.deepEqual(await store.hitCounters!(g, pair, t0 + 9000), { allowed: false, refusedBy: 1, retryAfterMs: 51_000 });
    });

    it('hitCounters: a window that ended starts over at the next hit (judged by the caller\'s clock)', async () => {
      const g = group();
      const t0 = Date.now();
      const one = [{ name: 'w', max: 2, windowMs: 1000 }];
      await store.hitCounters!(g, one, t0);
      await store.hitCounters!(g, one, t0 + 1);
      assert.equal((await store.hitCounters!(g, one, t0 + 999)).allowed, false);
      assert.deepEqual(await store.hitCounters!(g, one, t0 + 1000), { allowed: true }, 'window over: fresh count');
      assert.deepEqual(await store.hitCounters!(g, one, t0 + 1500), { allowed: true });
      assert.deepEqual(await store.hitCounters!(g, one, t0 + 1600), { allowed: false, refusedBy: 0, retryAfterMs: 400 }, 'the new window ends 1000 ms after its first hit');
    });

    it('hitCounters: 60 concurrent hits against a limit of 7 give exactly 7 passes', async () => {
      const g = group();
      const now = Date.now();
      const limits = [{ name: 'c', max: 7, windowMs: 60_000 }, { name: 'd', max: 100, windowMs: 60_000 }];
      const verdicts = await Promise.all(Array.from({ length: 60 }, () => store.hitCounters!(g, limits, now)));
      assert.equal(verdicts.filter((v) => v.allowed).length, 7);
      // d counted only the 7 passes: 93 left.
      const d = [limits[1]!];
      const more = await Promise.all(Array.from({ length: 100 }, () => store.hitCounters!(g, d, now)));
      assert.equal(more.filter((v) => v.allowed).length, 93);
    });

    it('hitCounters: groups and names are separate counters; hostile names round-trip', async () => {
      const now = Date.now();
      const names = ['x', 'x|y', 'ünï©ødé', 'line\r\nbreak', '__proto__', `${'n'.repeat(300)}`];
      const [g1, g2] = [group(), group()];
      for (const g of [g1, g2]) {
        for (const name of names) {
          assert.deepEqual(await store.hitCounters!(g, [{ name, max: 1, windowMs: 60_000 }], now), { allowed: true }, `${g} ${name}`);
          assert.equal((await store.hitCounters!(g, [{ name, max: 1, windowMs: 60_000 }], now)).allowed, false, `${g} ${name} full`);
        }
      }
    });

    it('hitCounters: expiredKeys (the sweep) is not disturbed by counters, and ended windows start over after it', async () => {
      const g = group();
      const t0 = Date.now();
      const one = [{ name: 'sweep', max: 1, windowMs: 1000 }];
      await store.hitCounters!(g, one, t0);
      const listed = await store.expiredKeys(t0 + 5000, 1000);
      assert.ok(listed.every((k) => !k.includes('sweep')), 'counters are never listed as sessions');
      assert.deepEqual(await store.hitCounters!(g, one, t0 + 5000), { allowed: true });
    });
  });
}

// ---------------------------------------------------------------------------------------

/** The ioredis client under a RedisStore made from a URL, to look at what it wrote. */
const raw = (store: RedisStore): Redis => store.redis as Redis;

let redis: RedisServer;
const tmp = redisSuite('kw-store-contract-', (server) => (redis = server));

storeContract('MemoryStore', async () => new MemoryStore());
storeContract('SqliteStore', async () => new SqliteStore({ file: join(tmp, 'contract', 'sessions.sqlite') }));
// A long grace keeps deliberately old expired records around for the expiredKeys checks.
storeContract('RedisStore', async () => new RedisStore({ url: redis.url, prefix: 'contract:', sweepGraceMs: 30 * DAY }));

// A node-redis client of the app's own (what connect-redis users have), in both protocols:
// RESP3 is node-redis 6's default (HGETALL comes back as an object), RESP2 that of 4 and 5.
const nodeRedisClients: Array<{ destroy(): void }> = [];
after(() => {
  for (const c of nodeRedisClients) c.destroy();
});
for (const RESP of [3, 2] as const) {
  storeContract(`RedisStore (node-redis client, RESP${RESP})`, async () => {
    const client = createClient({ url: redis.url, RESP });
    nodeRedisClients.push(client);
    await client.connect();
    return new RedisStore({ client, prefix: `contract-nr${RESP}:`, sweepGraceMs: 30 * DAY });
  });
}

describe('RedisStore with a node-redis client', () => {
  it('connects a client that is not open yet, and does not close it', async () => {
    const client = createClient({ url: redis.url });
    nodeRedisClients.push(client);
    const store = new RedisStore({ client, prefix: 'nr-lazy:' });
    const r = newRecord();
    await store.create(r);
    assert.deepEqual(await store.load(r.key, noTouch(r.createdAt)), r);
    await store.close();
    assert.equal(client.isOpen, true, 'the caller owns the client');
    assert.equal(await client.ping(), 'PONG');
  });

  it('refuses something that is not a Redis client, naming both kinds', () => {
    assert.throws(() => new RedisStore({ client: {} as never }), (e: Error) => e instanceof TypeError && /ioredis.*node-redis/.test(e.message));
  });
});

describe('SqliteStore specifics', () => {
  it('call counters whose window ended are deleted by the sweep (expiredKeys), live ones kept', async () => {
    const file = join(tmp, 'counters', 'c.sqlite');
    const store = new SqliteStore({ file });
    const t0 = Date.now();
    await store.hitCounters('u:old', [{ name: 'n', max: 5, windowMs: 1000 }], t0);
    await store.hitCounters('u:live', [{ name: 'n', max: 5, windowMs: 3_600_000 }], t0);
    const rows = () => new Database(file, { readonly: true }).prepare('SELECT grp FROM kw_counters ORDER BY grp').all().map((r) => (r as { grp: string }).grp);
    assert.deepEqual(rows(), ['u:live', 'u:old']);
    await store.expiredKeys(t0 + 1000, 100);
    assert.deepEqual(rows(), ['u:live']);
    await store.close();
  });

  it('keeps sessions and user entries across close and reopen, in a private file', async () => {
    const file = join(tmp, 'persist', 'nested', 'keyward.sqlite');
    const r = newRecord();
    let store = new SqliteStore({ file });
    await store.create(r);
    await store.patch(r.key, { later: '"yes"' }, ['theme']);
    await store.setUserEntry(r.userId, 'demo-byok', { value: 'c', updatedAt: 5 });
    await store.close();
    await store.close(); // idempotent

    assert.equal(statSync(file).mode & 0o777, 0o600, 'database file is 0600');
    assert.equal(statSync(join(tmp, 'persist', 'nested')).mode & 0o777, 0o700, 'created folder is 0700');

    store = new SqliteStore({ file });
    try {
      const loaded = await store.load(r.key, noTouch(r.createdAt));
      assert.deepEqual(loaded, { ...r, version: 2, data: { 'kw.user': r.data['kw.user']!, later: '"yes"' } });
      assert.deepEqual(await store.getUserEntries(r.userId), { 'demo-byok': { value: 'c', updatedAt: 5 } });
    } finally {
      await store.close();
    }
  });

  it('after close, calls fail with StoreUnavailableError (no crash, no silent success)', async () => {
    const store = new SqliteStore({ file: join(tmp, 'closed.sqlite') });
    await store.close();
    await assert.rejects(store.load('k', noTouch(Date.now())), StoreUnavailableError);
    await assert.rejects(store.patch('k', { a: '1' }, []), StoreUnavailableError);
    await assert.rejects(store.ping(), StoreUnavailableError);
  });

  it('refuses a missing file option with a TypeError', () => {
    assert.throws(() => new SqliteStore({} as never), TypeError);
    assert.throws(() => new SqliteStore({ file: '' }), TypeError);
  });

  it('a process killed mid-write loses no acknowledged write and leaves a sound database', async () => {
    const file = join(tmp, 'crash', 'keyward.sqlite');
    const r = newRecord({ data: {} });
    const seed = new SqliteStore({ file });
    await seed.create(r);
    await seed.close();

    const script = `
      const { SqliteStore } = await import(${JSON.stringify(SQLITE_JS)});
      const store = new SqliteStore({ file: ${JSON.stringify(file)} });
      for (let i = 0; ; i++) {
        await store.patch(${JSON.stringify(r.key)}, { ['f' + i]: 'v'.repeat(2000) + i }, []);
        process.stdout.write(i + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = -1;
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) acked = Number(l);
        if (acked >= 60 && child.exitCode === null && !child.killed) {
          process.kill(child.pid!, 'SIGKILL');
          resolve();
        }
      });
      child.once('exit', (code) => (acked >= 60 ? resolve() : reject(new Error(`writer exited early (${code}): ${stderr}`))));
    });
    await new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res(null) : child.once('exit', res)));

    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
    const store = new SqliteStore({ file });
    try {
      const loaded = await store.load(r.key, noTouch(r.createdAt));
      assert.ok(loaded);
      for (let i = 0; i <= acked; i++) assert.equal(loaded.data[`f${i}`], 'v'.repeat(2000) + i, `acknowledged write f${i}`);
    } finally {
      await store.close();
    }
  });

  it('regression "database is locked": two connections sharing one file never fail on concurrent touches, patches and takes', async () => {
    const file = join(tmp, 'shared', 'keyward.sqlite');
    const records = Array.from({ length: 2 }, () => newRecord({ data: {} }));
    const seed = new SqliteStore({ file });
    for (const r of records) await seed.create(r);
    await seed.close();

    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.index).then(async ({ SqliteStore }) => {
        const store = new SqliteStore({ file: workerData.file });
        const failures = [];
        for (let i = 0; i < 30; i++) {
          for (const key of workerData.keys) {
            try {
              await store.load(key, { now: workerData.t0 + i * 10 + workerData.id, touchAfterMs: 0, idleMs: 1800000 });
              await store.patch(key, { ['w' + workerData.id + '-' + i]: 'x' }, []);
            } catch (e) { failures.push(String(e && e.cause && e.cause.message || e)); }
          }
        }
        const taken = [];
        for (const key of workerData.keys) {
          try { if (await store.take(key)) taken.push(key); } catch (e) { failures.push(String(e && e.cause && e.cause.message || e)); }
        }
        await store.close();
        parentPort.postMessage({ failures, taken });
      });`;
    const run = (id: number) =>
      new Promise<{ failures: string[]; taken: string[] }>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { id, file, index: SQLITE_JS, keys: records.map((r) => r.key), t0: records[0]!.createdAt } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    const [a, b] = await Promise.all([run(1), run(2)]);
    assert.deepEqual([...a.failures, ...b.failures].slice(0, 5), [], 'no store call failed');
    assert.deepEqual([...a.taken, ...b.taken].sort(), records.map((r) => r.key).sort(), 'each record taken exactly once');
  });
});

describe('RedisStore specifics', () => {
  it('call counters: one key per counter under the prefix, hash-tagged by group, expiring with its window', async () => {
    const store = new RedisStore({ url: redis.url, prefix: 'ctr:' });
    try {
      const now = Date.now();
      await store.hitCounters('u:ann', [{ name: '*|u|60000', max: 5, windowMs: 60_000 }, { name: 'svc|s|1000|h1', max: 5, windowMs: 1000 }], now);
      const r = raw(store);
      const keys = ((await r.keys('ctr:rl:*')) as string[]).sort();
      assert.deepEqual(keys, ['ctr:rl:{u:ann}:*|u|60000', 'ctr:rl:{u:ann}:svc|s|1000|h1']);
      const ttl = Number(await r.pttl(keys[0]!));
      assert.ok(ttl > 55_000 && ttl <= 60_000, `expires with its window (${ttl} ms)`);
      assert.ok(Number(await r.pttl(keys[1]!)) <= 1000);
      assert.deepEqual(await r.hgetall(keys[0]!), { c: '1', r: String(now + 60_000) });
    } finally {
      await store.close();
    }
  });

  it('namespaces every key with its prefix and never stores the raw session ID or cookie value', async () => {
    const store = new RedisStore({ url: redis.url, prefix: 'ns-test:' });
    const other = new RedisStore({ url: redis.url, prefix: 'ns-other:' });
    try {
      await store.ping(); // connected before using the raw client
      await other.ping();
      const before = new Set(await raw(store).keys('*'));
      const session = resolveKeywardOptions({ session: { secrets: [randomBytes(32).toString('base64url')], store } }).session;
      const engine = new SessionEngine(session);
      const issued = await engine.create({ id: 'ns-user', name: 'NS' });
      const id = issued.signedValue.slice(0, 43);
      const sig = issued.signedValue.slice(44);
      await engine.patch(issued.record.key, { note: '"hello"' });
      await store.setUserEntry('ns-user', 'demo-byok', { value: 'cipher', updatedAt: 1 });
      await store.acquireLease('sweep', 'me', 10_000);

      const created = (await raw(store).keys('*')).filter((k) => !before.has(k));
      assert.ok(created.length >= 4, `keys created: ${created.length}`);
      for (const k of created) assert.ok(k.startsWith('ns-test:'), `key ${JSON.stringify(k)} is namespaced`);

      // Dump every key and value this store wrote.
      const dump: string[] = [];
      for (const k of created) {
        dump.push(k);
        const type = await raw(store).type(k);
        if (type === 'hash') dump.push(...Object.entries(await raw(store).hgetall(k)).flat());
        else if (type === 'set') dump.push(...(await raw(store).smembers(k)));
        else if (type === 'zset') dump.push(...(await raw(store).zrange(k, '0', '-1')));
        else if (type === 'string') dump.push((await raw(store).get(k)) ?? '');
      }
      const text = dump.join('\n');
      assert.ok(text.includes('hello'), 'the dump does hold the session data');
      assert.ok(!text.includes(id), 'no raw session ID in any key or value');
      assert.ok(!text.includes(sig), 'no signature in any key or value');
      assert.ok(!text.includes(issued.signedValue));

      // Another prefix on the same server does not see these sessions.
      assert.equal(await other.load(issued.record.key, noTouch(Date.now())), null);
      assert.deepEqual(await other.listByUser('ns-user'), []);
      assert.deepEqual(await other.getUserEntries('ns-user'), {});
      assert.equal(await other.acquireLease('sweep', 'someone-else', 10_000), true);
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('listByUser removes index entries whose record is gone (expired by Redis itself)', async () => {
    const store = new RedisStore({ url: redis.url, prefix: 'stale:' });
    try {
      const userId = 'stale-user';
      const [a, b] = [newRecord({ userId }), newRecord({ userId })];
      await store.create(a);
      await store.create(b);
      await raw(store).del(`stale:s:{${a.key}}`); // what PEXPIREAT does after the grace period
      assert.deepEqual((await store.listByUser(userId)).map((s) => s.key), [b.key]);
      assert.deepEqual(await raw(store).smembers(`stale:u:{${userId}}`), [b.key], 'stale member removed from the index');
    } finally {
      await store.close();
    }
  });

  it('expiredKeys re-scores touched sessions in the expiry index', async () => {
    const store = new RedisStore({ url: redis.url, prefix: 'rescore:' });
    try {
      const r = newRecord();
      const t0 = r.createdAt;
      r.idleExpiresAt = t0 + 1000;
      await store.create(r);
      assert.equal(Number(await raw(store).zscore('rescore:exp', r.key)), t0 + 1000);
      await store.load(r.key, { now: t0 + 900, touchAfterMs: 0, idleMs: 1000 });
      assert.deepEqual(await store.expiredKeys(t0 + 1500, 100), []);
      assert.equal(Number(await raw(store).zscore('rescore:exp', r.key)), t0 + 1900, 're-scored at its new expiry');
      assert.ok((await raw(store).pttl(`rescore:s:{${r.key}}`)) > 0, 'the record keeps a TTL');
      assert.deepEqual(await store.expiredKeys(t0 + 1900, 100), [r.key]);
    } finally {
      await store.close();
    }
  });

  it('a killed server fails every call with StoreUnavailableError quickly; the same store recovers after restart', async () => {
    const server = await RedisServer.launch();
    const store = new RedisStore({ url: server.url, prefix: 'outage:' });
    try {
      const r = newRecord();
      await store.create(r);
      await server.stop();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['load', () => store.load(r.key, noTouch(Date.now()))],
        ['patch', () => store.patch(r.key, { a: '1' }, [])],
        ['take', () => store.take(r.key)],
        ['create', () => store.create(newRecord())],
        ['listByUser', () => store.listByUser(r.userId)],
        ['expiredKeys', () => store.expiredKeys(Date.now(), 10)],
        ['getUserEntries', () => store.getUserEntries(r.userId)],
        ['setUserEntry', () => store.setUserEntry(r.userId, 'x', { value: 'v', updatedAt: 1 })],
        ['acquireLease', () => store.acquireLease('sweep', 'me', 1000)],
        ['ping', () => store.ping()],
      ];
      for (const [name, call] of calls) {
        const started = Date.now();
        const err = await call().then(
          () => assert.fail(`${name} succeeded while Redis was down`),
          (e: unknown) => e,
        );
        const took = Date.now() - started;
        assert.ok(err instanceof StoreUnavailableError, `${name}: ${String(err)}`);
        assert.equal(err.code, 'KW_STORE_UNAVAILABLE');
        assert.ok(took < 3000, `${name} failed after ${took} ms`);
        assert.ok(!String(err.message).includes(r.key) && !String((err.cause as Error)?.message).includes(r.key), `${name}: no key in the error`);
      }

      await server.start();
      const restarted = Date.now();
      let recovered = false;
      while (Date.now() - restarted < 10_000) {
        try {
          await store.ping();
          recovered = true;
          break;
        } catch {
          await sleep(50);
        }
      }
      assert.ok(recovered, 'the same store reconnected by itself');
      console.log(`# RedisStore reconnected ${Date.now() - restarted} ms after redis-server restart`);
      const fresh = newRecord();
      await store.create(fresh);
      assert.deepEqual(await store.load(fresh.key, noTouch(fresh.createdAt)), fresh, 'scripts work again (reloaded after restart)');
      assert.equal(await store.patch(fresh.key, { a: '1' }, []), true);
    } finally {
      await store.close();
      await server.destroy();
    }
  });

  it('regression "503 right after startup": the first calls of a brand-new RedisStore wait for the connection', async () => {
    for (let i = 0; i < 5; i++) {
      const store = new RedisStore({ url: redis.url, prefix: 'fresh:' });
      try {
        const r = newRecord();
        await store.create(r); // issued before the client has connected
        assert.deepEqual(await store.load(r.key, noTouch(r.createdAt)), r);
      } finally {
        await store.close();
      }
    }
  });

  it('a store created while Redis is down fails within commandTimeoutMs, then works once Redis starts', async () => {
    const server = await RedisServer.launch();
    await server.stop();
    const store = new RedisStore({ url: server.url, prefix: 'late:', commandTimeoutMs: 500 });
    try {
      const started = Date.now();
      await assert.rejects(store.ping(), StoreUnavailableError);
      const took = Date.now() - started;
      assert.ok(took < 2000, `failed after ${took} ms, not hanging`);
      await server.start();
      const deadline = Date.now() + 10_000;
      let ok = false;
      while (!ok && Date.now() < deadline) {
        ok = await store.ping().then(() => true, () => false);
        if (!ok) await sleep(50);
      }
      assert.ok(ok, 'connected once Redis came up');
      const r = newRecord();
      await store.create(r);
      assert.deepEqual(await store.load(r.key, noTouch(r.createdAt)), r);
    } finally {
      await store.close();
      await server.destroy();
    }
  });

  it('refuses ambiguous connection options', () => {
    assert.throws(() => new RedisStore({}), TypeError);
    assert.throws(() => new RedisStore({ url: 'redis://127.0.0.1:1', cluster: ['127.0.0.1:2'] }), TypeError);
  });
});
