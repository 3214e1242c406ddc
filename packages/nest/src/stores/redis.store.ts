import type { ClusterOptions, RedisOptions } from 'ioredis';
import { StoreCorruptError, StoreUnavailableError } from '../keyward.errors.js';
import { loadOptionalPeer } from '../util/optional-peer.js';
import type { CounterHit, CounterVerdict, PatchOptions, RotateOutcome, SessionLink, SessionStore, StoredSession, TouchPolicy, UserEntry } from './session-store.interface.js';
import { HIT_COUNTERS_SCRIPTS, hitRedisCounters } from './redis-counters.js';
import { expiryOf, touchDue } from './store-record.js';
import { LEASE, LOAD, PATCH, ROTATE_CLAIM, SET_IF_ABSENT, SWAP_MEMBER, TAKE, TAKE_MANY, TRIM_USER } from './redis.scripts.js';
import {
  flatHash,
  ioRedisConnection,
  isIoRedis,
  nodeRedisConnection,
  type IoRedisClientLike,
  type RedisClientLike,
  type RedisConnection,
  type RedisScript,
} from './redis-client.js';

/** Options of {@link RedisStore}. Give exactly one of `url`, `cluster` or `client`. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. Needs `ioredis` (`npm install ioredis`). */
  url?: string;
  /** Redis Cluster seed nodes (`host:port` strings or `{ host, port }`). Needs `ioredis`. */
  cluster?: Array<string | { host?: string; port?: number }>;
  /**
   * A client you created and own; Keyward does not close it. Either an ioredis `Redis` or
   * `Cluster`, or a node-redis client (`createClient()` of `redis` 4, 5 or 6, the one
   * connect-redis uses), connected or not (Keyward connects it if it is not open).
   */
  client?: RedisClientLike;
  /**
   * Key namespace, so several apps can share one Redis.
   * @default 'kw:'
   */
  prefix?: string;
  /**
   * How long an expired record is kept so the sweeper can end it properly (revoke its
   * keys) before Redis drops it by itself.
   * @default 3_600_000 (1 hour)
   */
  sweepGraceMs?: number;
  /**
   * A command that takes longer fails the request closed (503).
   * @default 2000
   */
  commandTimeoutMs?: number;
  /** Extra ioredis options (`RedisOptions`) for the client Keyward creates from `url` or `cluster`. */
  redisOptions?: { readonly [option: string]: unknown };
}

// n, ns, ra, g, k: a rotated-out ID's link to its successor (see ROTATE_CLAIM).
const RECORD_FIELDS = new Set(['u', 'h', 'c', 'l', 'ie', 'ae', 'v', 'n', 'ns', 'ra', 'g', 'k']);
const DATA = 'd:';

const SCRIPT = {
  load: { name: 'kwLoad', lua: LOAD },
  patch: { name: 'kwPatch', lua: PATCH },
  take: { name: 'kwTake', lua: TAKE },
  takeMany: { name: 'kwTakeMany', lua: TAKE_MANY, manyKeys: true },
  lease: { name: 'kwLease', lua: LEASE },
  setIfAbsent: { name: 'kwSetIfAbsent', lua: SET_IF_ABSENT },
  rotate: { name: 'kwRotate', lua: ROTATE_CLAIM },
  trimUser: { name: 'kwTrimUser', lua: TRIM_USER },
  swapMember: { name: 'kwSwapMember', lua: SWAP_MEMBER },
} as const satisfies Record<string, RedisScript>;

type IoRedisModule = typeof import('ioredis');

/**
 * Session store on a real Redis (or Redis Cluster / Valkey). One round trip per
 * authenticated request in steady state; every write is a single-key Lua script, so
 * concurrent requests never overwrite each other's fields. If Redis is unreachable,
 * every call throws {@link StoreUnavailableError} at once (no offline queue) and the
 * client reconnects by itself.
 *
 * Works with ioredis (`url`, `cluster`, or your ioredis `client`; `npm install ioredis`) or
 * with a node-redis client you already have (`client: createClient(...)`).
 *
 * @example
 * new RedisStore({ url: process.env.REDIS_URL })
 * @example
 * new RedisStore({ client: redisClient }) // the node-redis client connect-redis used
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis';
  readonly volatile = false;
  private readonly conn: RedisConnection;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly graceMs: number;
  private readonly connectTimeoutMs: number;
  /** Set once the client has been ready at least once; from then on an outage fails fast. */
  private everReady = false;
  private firstReady: Promise<void> | undefined;

  constructor(options: RedisStoreOptions) {
    const given = [options.url, options.cluster, options.client].filter((v) => v !== undefined).length;
    if (given !== 1) throw new TypeError('RedisStore needs exactly one of `url`, `cluster` or `client`.');
    this.prefix = options.prefix ?? 'kw:';
    this.graceMs = options.sweepGraceMs ?? 3_600_000;
    this.connectTimeoutMs = options.commandTimeoutMs ?? 2000;
    const scripts = [...Object.values(SCRIPT), ...HIT_COUNTERS_SCRIPTS];
    if (options.client) {
      this.conn = isIoRedis(options.client)
        ? ioRedisConnection(options.client, scripts)
        : nodeRedisConnection(options.client, this.connectTimeoutMs);
      this.owned = false;
    } else {
      const how = options.cluster ? 'RedisStore({ cluster })' : 'RedisStore({ url })';
      const { Cluster, Redis } = loadOptionalPeer<IoRedisModule>('ioredis', how, 'or pass a node-redis client as `client`');
      const base: RedisOptions = {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeoutMs ?? 2000,
        retryStrategy: (times) => Math.min(50 * times, 500),
        ...(options.redisOptions as RedisOptions | undefined),
      };
      let client: IoRedisClientLike;
      if (options.cluster) {
        const clusterOptions: ClusterOptions = { enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: base };
        client = new Cluster(options.cluster, clusterOptions);
      } else {
        client = new Redis(options.url!, base);
      }
      this.conn = ioRedisConnection(client, scripts);
      this.owned = true;
    }
    // Connection errors surface per request as 503; the client keeps reconnecting.
    (this.conn.client as unknown as { on(event: 'error', listener: () => void): unknown }).on('error', () => {});
    this.everReady = this.conn.ready;
    if (!this.everReady) this.conn.onceReady(() => (this.everReady = true));
  }

  async create(s: StoredSession): Promise<void> {
    await this.write(s, true);
  }

  /** Writes a record and indexes it; `byAge` adds it to the user's sessions by creation time (the cap's index). */
  private async write(s: StoredSession, byAge: boolean): Promise<void> {
    const fields: string[] = ['u', s.userId, 'h', s.handle, 'c', String(s.createdAt), 'l', String(s.lastSeenAt),
      'ie', String(s.idleExpiresAt), 'ae', String(s.absoluteExpiresAt), 'v', String(s.version)];
    for (const [k, v] of Object.entries(s.data)) fields.push(DATA + k, v);
    const rk = this.recordKey(s.key);
    await this.run(() =>
      Promise.all([
        this.cmd('HSET', rk, ...fields),
        this.cmd('PEXPIREAT', rk, expiryOf(s) + this.graceMs),
        this.cmd('SADD', this.userKey(s.userId), s.key),
        this.cmd('ZADD', this.expiryKey(), expiryOf(s), s.key),
        byAge ? this.cmd('ZADD', this.byAgeKey(s.userId), s.createdAt, s.key) : undefined,
      ]),
    );
  }

  /**
   * One round trip in steady state: a plain HGETALL. Only when a touch is due (at most once
   * per touch interval and session) does the touch script run, which re-checks and extends
   * atomically; a script per read would cost Redis several times the CPU of the read.
   */
  async load(key: string, t: TouchPolicy): Promise<StoredSession | null> {
    const rk = this.recordKey(key);
    const flat = flatHash(await this.run(() => this.cmd('HGETALL', rk)));
    if (flat.length === 0) return null;
    const s = this.decode(key, flat);
    // A tombstone is kept until its keepUntil by the engine's clock, as in every store (Redis'
    // own expiry of the key, by its clock, only cleans up after it).
    if (s.movedTo) return s.movedTo.keepUntil <= t.now ? null : s;
    if (!touchDue(s, t)) return s;
    const touched = flatHash(await this.run(() => this.conn.script(SCRIPT.load, rk, [t.now, t.touchAfterMs, t.idleMs, this.graceMs])));
    if (touched.length === 0) return null;
    const out = this.decode(key, touched);
    // The script reports Redis' clock last ('~t'): the engine judges expiry by it too. Not
    // enumerable: an observation about this read, not part of the record (copies drop it).
    const at = touched.length - 2;
    const storeNow = Number(touched[at + 1]);
    if (touched[at] === '~t' && Number.isFinite(storeNow)) Object.defineProperty(out, 'storeNow', { value: storeNow, enumerable: false });
    return out;
  }

  /** Redis' clock (`TIME` of the first master): the engine judges sessions by it. */
  async time(): Promise<number> {
    const reply = (await this.run(() => this.conn.masters()[0]!(['TIME']))) as [string | number, string | number];
    return Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  }

  async patch(key: string, set: Readonly<Record<string, string>>, unset: readonly string[], options?: PatchOptions): Promise<boolean> {
    const entries = Object.entries(set);
    const args = [String(entries.length), ...entries.flatMap(([k, v]) => [DATA + k, v]), ...unset.map((k) => DATA + k)];
    // A record that moved to a new ID answers with its successor's key: the write lands there.
    for (let hop = 0; hop < 8; hop++) {
      const reply = await this.run(() => this.conn.script(SCRIPT.patch, this.recordKey(key), args));
      if (typeof reply !== 'string' && !Buffer.isBuffer(reply)) return Number(reply) === 1;
      if (options?.followMoved === false) return false;
      key = String(reply);
    }
    return false;
  }

  async setIfAbsent(key: string, name: string, value: string): Promise<string | null> {
    const stored = await this.run(() => this.conn.script(SCRIPT.setIfAbsent, this.recordKey(key), [DATA + name, value]));
    return typeof stored === 'string' ? stored : null;
  }

  async take(key: string): Promise<StoredSession | null> {
    const flat = flatHash(await this.run(() => this.conn.script(SCRIPT.take, this.recordKey(key), [])));
    if (flat.length === 0) {
      await this.run(() => this.cmd('ZREM', this.expiryKey(), key));
      return null;
    }
    const s = this.decode(key, flat);
    await this.run(() =>
      Promise.all([this.cmd('SREM', this.userKey(s.userId), key), this.cmd('ZREM', this.expiryKey(), key), this.cmd('ZREM', this.byAgeKey(s.userId), key)]),
    );
    return s;
  }

  /**
   * The sweeper's batch in one command (TAKE_MANY: every record and its index entries),
   * instead of two round trips and four commands per session: under load, each command's
   * reply waits its turn behind the requests, so a batch of 25 took that many times longer.
   * On a Cluster, where one script cannot reach records in other slots, it takes them one
   * by one (the client pipelines them).
   */
  async takeMany(keys: readonly string[]): Promise<Array<StoredSession | null>> {
    if (this.conn.cluster || keys.length === 0) return Promise.all(keys.map((k) => this.take(k)));
    const reply = await this.run(() => this.conn.scriptKeys(SCRIPT.takeMany, [this.expiryKey(), ...keys.map((k) => this.recordKey(k))], [this.prefix, ...keys]));
    const rows = Array.isArray(reply) ? reply : [];
    if (rows.length !== keys.length) throw new StoreCorruptError('session');
    return rows.map((row, i) => {
      const flat = flatHash(row);
      return flat.length === 0 ? null : this.decode(keys[i]!, flat);
    });
  }

  /**
   * Rotation across hash slots (the old and the new record live on different cluster
   * nodes): the successor is written first, then one script on the old record decides who
   * won (ROTATE_CLAIM); a loser deletes its successor and takes the winner's. A racer that
   * sees the old record as moved therefore always finds the successor already written.
   */
  async rotate(from: { key: string; version: number }, successor: StoredSession, link: SessionLink): Promise<RotateOutcome> {
    await this.write(successor, false);
    const args = [from.version, link.key, link.sealedId, link.rotatedAt, link.graceUntil, link.keepUntil];
    let reply: string[];
    try {
      reply = strings(await this.run(() => this.conn.script(SCRIPT.rotate, this.recordKey(from.key), args)));
    } catch (e) {
      await this.discard(successor).catch(() => undefined);
      throw e;
    }
    if (reply[0] === 'rotated') {
      await this.run(() =>
        Promise.all([
          this.cmd('SREM', this.userKey(successor.userId), from.key),
          this.cmd('ZREM', this.expiryKey(), from.key),
          this.conn.script(SCRIPT.swapMember, this.byAgeKey(successor.userId), [from.key, successor.key]),
        ]),
      );
      return { state: 'rotated' };
    }
    await this.discard(successor);
    if (reply[0] === 'moved') {
      const [, key, sealedId, rotatedAt, graceUntil, keepUntil] = reply;
      return { state: 'moved', link: { key: key!, sealedId: sealedId!, rotatedAt: Number(rotatedAt), graceUntil: Number(graceUntil), keepUntil: Number(keepUntil) } };
    }
    return { state: reply[0] === 'stale' ? 'stale' : 'gone' };
  }

  async trimUser(userId: string, max: number, keep: string, _now: number): Promise<StoredSession[]> {
    const out: StoredSession[] = [];
    // Index entries of records that are already gone free no slot: trim again until every
    // removed entry was a live record (each pass removes entries, so this ends).
    for (let pass = 0; pass < 16; pass++) {
      const keys = strings(await this.run(() => this.conn.script(SCRIPT.trimUser, this.byAgeKey(userId), [max, keep])));
      if (keys.length === 0) break;
      const taken = await Promise.all(keys.map((k) => this.take(k)));
      let missing = 0;
      for (const s of taken) {
        if (s) out.push(s);
        else missing++;
      }
      if (missing === 0) break;
    }
    return out;
  }

  /** Removes a successor that lost its rotation race (never a session anyone was given). */
  private async discard(s: StoredSession): Promise<void> {
    await this.run(() =>
      Promise.all([this.cmd('DEL', this.recordKey(s.key)), this.cmd('SREM', this.userKey(s.userId), s.key), this.cmd('ZREM', this.expiryKey(), s.key)]),
    );
  }

  async listByUser(userId: string): Promise<StoredSession[]> {
    const keys = strings(await this.run(() => this.cmd('SMEMBERS', this.userKey(userId))));
    const rows = await this.run(() => Promise.all(keys.map(async (k) => flatHash(await this.cmd('HGETALL', this.recordKey(k))))));
    const out: StoredSession[] = [];
    const stale: string[] = [];
    rows.forEach((row, i) => {
      const s = row.length === 0 ? null : this.decode(keys[i]!, row);
      if (!s || s.movedTo) stale.push(keys[i]!);
      else out.push(s);
    });
    if (stale.length > 0) await this.run(() => this.cmd('SREM', this.userKey(userId), ...stale));
    return out;
  }

  async expiredKeys(now: number, limit: number): Promise<string[]> {
    // Scores are a lower bound of each expiry (touches do not update them, to keep the
    // steady state at one command); re-check each candidate and re-score the live ones.
    const candidates = strings(await this.run(() => this.cmd('ZRANGEBYSCORE', this.expiryKey(), '-inf', now, 'LIMIT', 0, limit)));
    const rows = await this.run(() => Promise.all(candidates.map(async (k) => (await this.cmd('HMGET', this.recordKey(k), 'ie', 'ae', 'n')) as Array<string | null>)));
    const expired: string[] = [];
    await this.run(() =>
      Promise.all(
        rows.map((row, i) => {
          const key = candidates[i]!;
          // Gone, or a rotated-out ID's tombstone (Redis drops it at the session's deadline).
          if (row[0] == null || row[1] == null || row[2] != null) return this.cmd('ZREM', this.expiryKey(), key);
          const at = Math.min(Number(row[0]), Number(row[1]));
          if (at <= now) {
            expired.push(key);
            return undefined;
          }
          return this.cmd('ZADD', this.expiryKey(), at, key);
        }),
      ),
    );
    return expired;
  }

  async getUserEntries(userId: string): Promise<Record<string, UserEntry>> {
    const flat = flatHash(await this.run(() => this.cmd('HGETALL', this.userEntriesKey(userId))));
    const out: Array<[string, UserEntry]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const entry = parseUserEntry(flat[i + 1]!);
      if (entry) out.push([flat[i]!, entry]);
    }
    // Not `out[name] = entry`: an entry named `__proto__` would replace the prototype.
    return Object.fromEntries(out);
  }

  async setUserEntry(userId: string, name: string, entry: UserEntry): Promise<void> {
    await this.run(() => this.cmd('HSET', this.userEntriesKey(userId), name, JSON.stringify(entry)));
  }

  async setUserEntryIfAbsent(userId: string, name: string, entry: UserEntry): Promise<UserEntry> {
    const key = this.userEntriesKey(userId);
    await this.run(() => this.cmd('HSETNX', key, name, JSON.stringify(entry)));
    const raw = await this.run(() => this.cmd('HGET', key, name));
    const stored = typeof raw === 'string' ? parseUserEntry(raw) : null;
    if (!stored) throw new StoreCorruptError('user entry');
    return stored;
  }

  scanSessionKeys(): AsyncIterable<string[]> {
    const open = `${this.prefix}s:{`;
    return this.scan(`${open}*`, (k) => k.slice(open.length, -1));
  }

  scanUserIds(): AsyncIterable<string[]> {
    const open = `${this.prefix}ue:{`;
    return this.scan(`${open}*`, (k) => k.slice(open.length, -1));
  }

  async deleteUserEntry(userId: string, name: string): Promise<boolean> {
    return Number(await this.run(() => this.cmd('HDEL', this.userEntriesKey(userId), name))) > 0;
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return Number(await this.run(() => this.conn.script(SCRIPT.lease, `${this.prefix}lease:${name}`, [owner, ttlMs]))) === 1;
  }

  async releaseLease(name: string): Promise<void> {
    await this.run(() => this.cmd('DEL', `${this.prefix}lease:${name}`));
  }

  /** One script over the group's counters (`redis-counters.ts`), one round trip. */
  async hitCounters(group: string, counters: readonly CounterHit[], now: number): Promise<CounterVerdict> {
    return this.run(() => hitRedisCounters(this.conn, this.prefix, group, counters, now));
  }

  async ping(): Promise<void> {
    await this.run(() => this.cmd('PING'));
  }

  async close(): Promise<void> {
    if (this.owned) await this.conn.close();
  }

  /** The underlying client (ioredis or node-redis, as given), for tests and diagnostics. */
  get redis(): RedisClientLike {
    return this.conn.client;
  }

  /** SCAN over every master (one node, or each master of a cluster). */
  private async *scan(match: string, map: (key: string) => string): AsyncIterable<string[]> {
    for (const send of this.conn.masters()) {
      let cursor = '0';
      do {
        const [next, keys] = (await this.run(() => send(['SCAN', cursor, 'MATCH', match, 'COUNT', 500]))) as [string, string[]];
        cursor = String(next);
        if (keys.length > 0) yield strings(keys).map(map);
      } while (cursor !== '0');
    }
  }

  /**
   * Until the client has connected once, a call waits for the connection (at most
   * `commandTimeoutMs`) instead of failing at once: without an offline queue, requests
   * arriving right after startup would otherwise all get 503. Later outages fail fast.
   */
  private firstConnection(): Promise<void> {
    if (this.conn.ready) {
      this.everReady = true;
      return Promise.resolve();
    }
    this.firstReady ??= new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        cancel();
        this.firstReady = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.connectTimeoutMs);
      timer.unref();
      const cancel = this.conn.onceReady(done);
      this.conn.connectIfIdle();
    });
    return this.firstReady;
  }

  private cmd(...args: Array<string | number>): Promise<unknown> {
    return this.conn.command(args);
  }

  private recordKey(key: string): string {
    return `${this.prefix}s:{${key}}`;
  }

  private userKey(userId: string): string {
    return `${this.prefix}u:{${userId}}`;
  }

  private userEntriesKey(userId: string): string {
    return `${this.prefix}ue:{${userId}}`;
  }

  /** A user's sessions scored by creation time: the per-user cap trims it atomically. */
  private byAgeKey(userId: string): string {
    return `${this.prefix}uc:{${userId}}`;
  }

  private expiryKey(): string {
    return `${this.prefix}exp`;
  }

  private decode(key: string, flat: string[]): StoredSession {
    const f: Record<string, string> = {};
    const fields: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i]!;
      if (name.startsWith(DATA)) fields.push([name.slice(DATA.length), flat[i + 1]!]);
      else if (RECORD_FIELDS.has(name)) f[name] = flat[i + 1]!;
    }
    // fromEntries defines own properties: a field named `__proto__` stays a field.
    const data: Record<string, string> = Object.fromEntries(fields);
    const nums = [f.c, f.l, f.ie, f.ae, f.v].map(Number);
    if (f.u === undefined || f.h === undefined || nums.some((n) => !Number.isFinite(n))) throw new StoreCorruptError('session');
    const [createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, version] = nums as [number, number, number, number, number];
    const s: StoredSession = { key, handle: f.h, userId: f.u, createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, version, data };
    if (f.n !== undefined) {
      const link = { key: f.n, sealedId: f.ns ?? '', rotatedAt: Number(f.ra), graceUntil: Number(f.g), keepUntil: Number(f.k) };
      if (!link.sealedId || ![link.rotatedAt, link.graceUntil, link.keepUntil].every(Number.isFinite)) throw new StoreCorruptError('session');
      return { ...s, data: {}, movedTo: link };
    }
    return s;
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      if (!this.everReady) await this.firstConnection();
      return await op();
    } catch (cause) {
      if (cause instanceof StoreCorruptError) throw cause;
      throw new StoreUnavailableError({ cause: scrubCause(cause) });
    }
  }
}

/** A list reply as strings (node-redis may hand back Buffers or numbers only if configured to). */
function strings(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map(String) : [];
}

/** Keeps only the error's class and first line: Redis errors can quote arguments. */
function scrubCause(cause: unknown): Error {
  const name = cause instanceof Error ? cause.name : 'Error';
  const msg = cause instanceof Error ? cause.message.split('\n')[0]!.replace(/\b[A-Za-z0-9_-]{40,}\b/g, '[…]') : 'unknown';
  const e = new Error(`${name}: ${msg}`);
  return e;
}

export function parseUserEntry(raw: string): UserEntry | null {
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && typeof (v as UserEntry).value === 'string' && Number.isFinite((v as UserEntry).updatedAt)) {
      return { value: (v as UserEntry).value, updatedAt: (v as UserEntry).updatedAt };
    }
  } catch {
    // fall through
  }
  return null;
}
