import { StoreCorruptError } from '../keyward.errors.js';
import type { CounterHit, CounterVerdict, PatchOptions, RotateOutcome, SessionLink, SessionStore, StoredSession, TouchPolicy, UserEntry } from './session-store.interface.js';
import { HIT_COUNTERS_SCRIPTS, hitRedisCounters } from './redis-counters.js';
import { touchDue } from './store-record.js';
import { SCRIPT } from './redis.scripts.js';
import { flatHash, type RedisClientLike } from './redis-client.js';
import { RedisCalls } from './redis-calls.js';
import { RedisKeys } from './redis-keys.js';
import { RedisLifecycle } from './redis-lifecycle.js';
import { resolveRedisStoreOptions, type RedisStoreOptions } from './redis-options.js';
import { DATA, decodeRecord, strings } from './redis-record.js';
import { RedisUserEntries } from './redis-user-entries.js';

export type { DurableEndsOptions, RedisStoreOptions } from './redis-options.js';

/**
 * Session store on a real Redis (or Redis Cluster / Valkey). One round trip per
 * authenticated request in steady state; every write is a single-key Lua script, so
 * concurrent requests never overwrite each other's fields. If Redis is unreachable,
 * every call throws {@link StoreUnavailableError} at once (no offline queue) and the
 * client reconnects by itself.
 *
 * Works with ioredis (`url`, `cluster`, `sentinels`, or your ioredis `client`; `npm install
 * ioredis`) or with a node-redis client you already have (`client: createClient(...)` or
 * `createSentinel(...)`). With replicas (Sentinel always, otherwise when the master has one),
 * every end of a session waits until every replica has it (`durableEnds`), so that a failover
 * cannot bring an ended session back; see docs/deployment.md.
 *
 * Where things live: key names in `redis-keys.ts`, the record's layout in `redis-record.ts`,
 * the connection in `redis-calls.ts`, the steps that touch a user's indexes (create, take,
 * rotate, the cap, listing, a session's rotated-out IDs) in `redis-lifecycle.ts`, the Lua in
 * `redis.scripts.ts`.
 *
 * @example
 * new RedisStore({ url: process.env.REDIS_URL })
 * @example
 * new RedisStore({ client: redisClient }) // the node-redis client connect-redis used
 * @example
 * new RedisStore({ sentinels: ['10.0.0.1:26379', '10.0.0.2:26379', '10.0.0.3:26379'], sentinelName: 'mymaster' })
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis';
  readonly volatile = false;
  private readonly calls: RedisCalls;
  private readonly keys: RedisKeys;
  private readonly graceMs: number;
  private readonly lifecycle: RedisLifecycle;
  private readonly userEntries: RedisUserEntries;

  constructor(options: RedisStoreOptions) {
    const resolved = resolveRedisStoreOptions(options);
    this.keys = new RedisKeys(resolved.prefix);
    this.graceMs = resolved.sweepGraceMs;
    this.calls = new RedisCalls(resolved, [...Object.values(SCRIPT), ...HIT_COUNTERS_SCRIPTS]);
    this.lifecycle = new RedisLifecycle(this.calls, this.keys, this.graceMs);
    this.userEntries = new RedisUserEntries(this.calls, this.keys);
  }

  async create(s: StoredSession): Promise<void> {
    await this.lifecycle.write(s, true);
  }

  /**
   * One round trip in steady state: a plain HGETALL. Only when a touch is due (at most once
   * per touch interval and session) does the touch script run, which re-checks and extends
   * atomically; a script per read would cost Redis several times the CPU of the read.
   */
  async load(key: string, t: TouchPolicy): Promise<StoredSession | null> {
    const rk = this.keys.record(key);
    const flat = flatHash(await this.calls.cmd('HGETALL', rk));
    if (flat.length === 0) return null;
    const s = decodeRecord(key, flat);
    // A tombstone is kept until its keepUntil by the engine's clock, as in every store (Redis'
    // own expiry of the key, by its clock, only cleans up after it).
    if (s.movedTo) return s.movedTo.keepUntil <= t.now ? null : s;
    if (!touchDue(s, t)) return s;
    const touched = flatHash(await this.calls.script(SCRIPT.load, rk, [t.now, t.touchAfterMs, t.idleMs, this.graceMs]));
    if (touched.length === 0) return null;
    const out = decodeRecord(key, touched);
    // The script reports Redis' clock last ('~t'): the engine judges expiry by it too. Not
    // enumerable: an observation about this read, not part of the record (copies drop it).
    const at = touched.length - 2;
    const storeNow = Number(touched[at + 1]);
    if (touched[at] === '~t' && Number.isFinite(storeNow)) Object.defineProperty(out, 'storeNow', { value: storeNow, enumerable: false });
    return out;
  }

  /** Redis' clock (`TIME` of the first master): the engine judges sessions by it. */
  async time(): Promise<number> {
    const reply = (await this.calls.onFirstMaster(['TIME'])) as [string | number, string | number];
    return Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  }

  async patch(key: string, set: Readonly<Record<string, string>>, unset: readonly string[], options?: PatchOptions): Promise<boolean> {
    const entries = Object.entries(set);
    const args = [String(entries.length), ...entries.flatMap(([k, v]) => [DATA + k, v]), ...unset.map((k) => DATA + k)];
    // A record that moved to a new ID answers with its successor's key: the write lands there.
    for (let hop = 0; hop < 8; hop++) {
      const rk = this.keys.record(key);
      const reply = await (options?.durable ? this.calls.durableScript(SCRIPT.patch, rk, args) : this.calls.script(SCRIPT.patch, rk, args));
      if (typeof reply !== 'string' && !Buffer.isBuffer(reply)) return Number(reply) === 1;
      if (options?.followMoved === false) return false;
      key = String(reply);
    }
    return false;
  }

  async setIfAbsent(key: string, name: string, value: string): Promise<string | null> {
    const stored = await this.calls.script(SCRIPT.setIfAbsent, this.keys.record(key), [DATA + name, value]);
    return typeof stored === 'string' ? stored : null;
  }

  take(key: string): Promise<StoredSession | null> {
    return this.lifecycle.take(key);
  }

  /**
   * The sweeper's batch in one command (TAKE_MANY: every record and its index entries),
   * instead of two round trips and four commands per session: under load, each command's
   * reply waits its turn behind the requests, so a batch of 25 took that many times longer.
   * On a Cluster, where one script cannot reach records in other slots, it takes them one
   * by one (the client pipelines them).
   */
  async takeMany(keys: readonly string[]): Promise<Array<StoredSession | null>> {
    // The sweeper's takes need no replica's confirmation (an expired session that comes back
    // after a failover is still expired): no WAIT, so a stalled replica cannot hold up a sweep.
    if (this.calls.cluster || keys.length === 0) return Promise.all(keys.map((k) => this.lifecycle.take(k, false)));
    const reply = await this.calls.scriptKeys(SCRIPT.takeMany, [this.keys.expiry(), ...keys.map((k) => this.keys.record(k))], [this.keys.prefix, ...keys]);
    const rows = Array.isArray(reply) ? reply : [];
    if (rows.length !== keys.length) throw new StoreCorruptError('session');
    return rows.map((row, i) => {
      const flat = flatHash(row);
      return flat.length === 0 ? null : decodeRecord(keys[i]!, flat);
    });
  }

  /** See {@link RedisLifecycle.rotate}: the successor first, then one script decides. */
  rotate(from: { key: string; version: number }, successor: StoredSession, link: SessionLink): Promise<RotateOutcome> {
    return this.lifecycle.rotate(from, successor, link);
  }

  /** Expired records first, then the oldest (see {@link RedisLifecycle.trimUser}). */
  trimUser(userId: string, max: number, keep: string, now: number): Promise<StoredSession[]> {
    return this.lifecycle.trimUser(userId, max, keep, now);
  }

  /** Each live session once, even while its ID rotates (see {@link RedisLifecycle.listByUser}). */
  listByUser(userId: string): Promise<StoredSession[]> {
    return this.lifecycle.listByUser(userId);
  }

  /** One script on a single Redis; the set, then each tombstone, on a Cluster. */
  dropTombstonesOf(handle: string): Promise<number> {
    return this.lifecycle.dropTombstonesOf(handle);
  }

  async expiredKeys(now: number, limit: number): Promise<string[]> {
    // Scores are a lower bound of each expiry (touches do not update them, to keep the
    // steady state at one command); re-check each candidate and re-score the live ones.
    const exp = this.keys.expiry();
    const candidates = strings(await this.calls.cmd('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, limit));
    const rows = await Promise.all(candidates.map(async (k) => (await this.calls.cmd('HMGET', this.keys.record(k), 'ie', 'ae', 'n')) as Array<string | null>));
    const expired: string[] = [];
    await Promise.all(
      rows.map((row, i) => {
        const key = candidates[i]!;
        // Gone, or a rotated-out ID's tombstone (Redis drops it at the session's deadline).
        if (row[0] == null || row[1] == null || row[2] != null) return this.calls.cmd('ZREM', exp, key);
        const at = Math.min(Number(row[0]), Number(row[1]));
        if (at <= now) {
          expired.push(key);
          return undefined;
        }
        return this.calls.cmd('ZADD', exp, at, key);
      }),
    );
    return expired;
  }

  getUserEntries(userId: string): Promise<Record<string, UserEntry>> {
    return this.userEntries.all(userId);
  }

  setUserEntry(userId: string, name: string, entry: UserEntry): Promise<void> {
    return this.userEntries.set(userId, name, entry);
  }

  setUserEntryIfAbsent(userId: string, name: string, entry: UserEntry): Promise<UserEntry> {
    return this.userEntries.setIfAbsent(userId, name, entry);
  }

  deleteUserEntry(userId: string, name: string): Promise<boolean> {
    return this.userEntries.delete(userId, name);
  }

  scanSessionKeys(): AsyncIterable<string[]> {
    const open = this.keys.recordOpen;
    return this.calls.scan(`${open}*`, (k) => k.slice(open.length, -1));
  }

  scanUserIds(): AsyncIterable<string[]> {
    return this.userEntries.scanUserIds();
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return Number(await this.calls.script(SCRIPT.lease, this.keys.lease(name), [owner, ttlMs])) === 1;
  }

  async releaseLease(name: string): Promise<void> {
    await this.calls.cmd('DEL', this.keys.lease(name));
  }

  /** One script over the group's counters (`redis-counters.ts`), one round trip. */
  async hitCounters(group: string, counters: readonly CounterHit[], now: number): Promise<CounterVerdict> {
    return this.calls.run(() => hitRedisCounters(this.calls.conn, this.keys.prefix, group, counters, now));
  }

  async ping(): Promise<void> {
    await this.calls.cmd('PING');
  }

  close(): Promise<void> {
    return this.calls.close();
  }

  /** The underlying client (ioredis or node-redis, as given), for tests and diagnostics. */
  get redis(): RedisClientLike {
    return this.calls.client;
  }
}
