import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { StoreCorruptError, StoreUnavailableError } from '../keyward.errors.js';
import type { SessionStore, StoredSession, TouchPolicy, UserEntry } from './session-store.interface.js';
import { expiryOf, touchDue } from './store-record.js';
import { LEASE, LOAD, PATCH, SET_IF_ABSENT, TAKE } from './redis.scripts.js';

type Client = Redis | Cluster;

/** Options of {@link RedisStore}. Give exactly one of `url`, `cluster` or `client`. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. */
  url?: string;
  /** Redis Cluster seed nodes (`host:port` strings or ioredis node objects). */
  cluster?: Array<string | ClusterNode>;
  /** An ioredis client you created and own; Keyward does not close it. */
  client?: Client;
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
  /** Extra ioredis options for the client Keyward creates. */
  redisOptions?: RedisOptions;
}

const RECORD_FIELDS = new Set(['u', 'h', 'c', 'l', 'ie', 'ae', 'v']);
const DATA = 'd:';

interface ScriptedClient {
  kwLoad(key: string, now: number, after: number, idle: number, grace: number): Promise<string[]>;
  kwPatch(key: string, ...args: string[]): Promise<number>;
  kwTake(key: string): Promise<string[]>;
  kwLease(key: string, owner: string, ttl: number): Promise<number>;
  kwSetIfAbsent(key: string, field: string, value: string): Promise<string | null>;
}

/**
 * Session store on a real Redis (or Redis Cluster / Valkey). One round trip per
 * authenticated request in steady state; every write is a single-key Lua script, so
 * concurrent requests never overwrite each other's fields. If Redis is unreachable,
 * every call throws {@link StoreUnavailableError} at once (no offline queue) and the
 * client reconnects by itself.
 *
 * @example
 * new RedisStore({ url: process.env.REDIS_URL })
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis';
  readonly volatile = false;
  private readonly client: Client & ScriptedClient;
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
    const base: RedisOptions = {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      retryStrategy: (times) => Math.min(50 * times, 500),
      ...options.redisOptions,
    };
    let client: Client;
    if (options.client) {
      client = options.client;
      this.owned = false;
    } else if (options.cluster) {
      const clusterOptions: ClusterOptions = { enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: base };
      client = new Cluster(options.cluster, clusterOptions);
      this.owned = true;
    } else {
      client = new Redis(options.url!, base);
      this.owned = true;
    }
    // Connection errors surface per request as 503; the client keeps reconnecting.
    client.on('error', () => {});
    client.defineCommand('kwLoad', { numberOfKeys: 1, lua: LOAD });
    client.defineCommand('kwPatch', { numberOfKeys: 1, lua: PATCH });
    client.defineCommand('kwTake', { numberOfKeys: 1, lua: TAKE });
    client.defineCommand('kwLease', { numberOfKeys: 1, lua: LEASE });
    client.defineCommand('kwSetIfAbsent', { numberOfKeys: 1, lua: SET_IF_ABSENT });
    this.client = client as Client & ScriptedClient;
    this.everReady = client.status === 'ready';
    if (!this.everReady) client.once('ready', () => (this.everReady = true));
  }

  async create(s: StoredSession): Promise<void> {
    const fields: string[] = ['u', s.userId, 'h', s.handle, 'c', String(s.createdAt), 'l', String(s.lastSeenAt),
      'ie', String(s.idleExpiresAt), 'ae', String(s.absoluteExpiresAt), 'v', String(s.version)];
    for (const [k, v] of Object.entries(s.data)) fields.push(DATA + k, v);
    const rk = this.recordKey(s.key);
    await this.run(() =>
      Promise.all([
        this.client.hset(rk, ...fields),
        this.client.pexpireat(rk, expiryOf(s) + this.graceMs),
        this.client.sadd(this.userKey(s.userId), s.key),
        this.client.zadd(this.expiryKey(), expiryOf(s), s.key),
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
    const flat = (await this.run(() => this.client.call('HGETALL', rk))) as string[];
    if (flat.length === 0) return null;
    const s = this.decode(key, flat);
    if (!touchDue(s, t)) return s;
    const touched = await this.run(() => this.client.kwLoad(rk, t.now, t.touchAfterMs, t.idleMs, this.graceMs));
    if (touched.length === 0) return null;
    const out = this.decode(key, touched);
    // The script reports Redis' clock last ('~t'): the engine judges expiry by it too. Not
    // enumerable: an observation about this read, not part of the record (copies drop it).
    const at = touched.length - 2;
    const storeNow = Number(touched[at + 1]);
    if (touched[at] === '~t' && Number.isFinite(storeNow)) Object.defineProperty(out, 'storeNow', { value: storeNow, enumerable: false });
    return out;
  }

  async patch(key: string, set: Readonly<Record<string, string>>, unset: readonly string[]): Promise<boolean> {
    const entries = Object.entries(set);
    const args = [String(entries.length), ...entries.flatMap(([k, v]) => [DATA + k, v]), ...unset.map((k) => DATA + k)];
    return (await this.run(() => this.client.kwPatch(this.recordKey(key), ...args))) === 1;
  }

  async setIfAbsent(key: string, name: string, value: string): Promise<string | null> {
    return this.run(() => this.client.kwSetIfAbsent(this.recordKey(key), DATA + name, value));
  }

  async take(key: string): Promise<StoredSession | null> {
    const flat = await this.run(() => this.client.kwTake(this.recordKey(key)));
    if (flat.length === 0) {
      await this.run(() => this.client.zrem(this.expiryKey(), key));
      return null;
    }
    const s = this.decode(key, flat);
    await this.run(() => Promise.all([this.client.srem(this.userKey(s.userId), key), this.client.zrem(this.expiryKey(), key)]));
    return s;
  }

  async listByUser(userId: string): Promise<StoredSession[]> {
    const keys = await this.run(() => this.client.smembers(this.userKey(userId)));
    const rows = await this.run(() => Promise.all(keys.map((k) => this.client.hgetall(this.recordKey(k)))));
    const out: StoredSession[] = [];
    const stale: string[] = [];
    rows.forEach((row, i) => {
      if (Object.keys(row).length === 0) stale.push(keys[i]!);
      else out.push(this.decode(keys[i]!, Object.entries(row).flat()));
    });
    if (stale.length > 0) await this.run(() => this.client.srem(this.userKey(userId), ...stale));
    return out;
  }

  async expiredKeys(now: number, limit: number): Promise<string[]> {
    // Scores are a lower bound of each expiry (touches do not update them, to keep the
    // steady state at one command); re-check each candidate and re-score the live ones.
    const candidates = await this.run(() => this.client.zrangebyscore(this.expiryKey(), '-inf', now, 'LIMIT', 0, limit));
    const rows = await this.run(() => Promise.all(candidates.map((k) => this.client.hmget(this.recordKey(k), 'ie', 'ae'))));
    const expired: string[] = [];
    await this.run(() =>
      Promise.all(
        rows.map((row, i) => {
          const key = candidates[i]!;
          if (row[0] === null || row[1] === null) return this.client.zrem(this.expiryKey(), key);
          const at = Math.min(Number(row[0]), Number(row[1]));
          if (at <= now) {
            expired.push(key);
            return undefined;
          }
          return this.client.zadd(this.expiryKey(), at, key);
        }),
      ),
    );
    return expired;
  }

  async getUserEntries(userId: string): Promise<Record<string, UserEntry>> {
    const row = await this.run(() => this.client.hgetall(this.userEntriesKey(userId)));
    const out: Array<[string, UserEntry]> = [];
    for (const [name, raw] of Object.entries(row)) {
      const entry = parseUserEntry(raw);
      if (entry) out.push([name, entry]);
    }
    // Not `out[name] = entry`: an entry named `__proto__` would replace the prototype.
    return Object.fromEntries(out);
  }

  async setUserEntry(userId: string, name: string, entry: UserEntry): Promise<void> {
    await this.run(() => this.client.hset(this.userEntriesKey(userId), name, JSON.stringify(entry)));
  }

  async setUserEntryIfAbsent(userId: string, name: string, entry: UserEntry): Promise<UserEntry> {
    const key = this.userEntriesKey(userId);
    await this.run(() => this.client.hsetnx(key, name, JSON.stringify(entry)));
    const raw = await this.run(() => this.client.hget(key, name));
    const stored = raw === null ? null : parseUserEntry(raw);
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
    return (await this.run(() => this.client.hdel(this.userEntriesKey(userId), name))) > 0;
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.run(() => this.client.kwLease(`${this.prefix}lease:${name}`, owner, ttlMs))) === 1;
  }

  async releaseLease(name: string): Promise<void> {
    await this.run(() => this.client.del(`${this.prefix}lease:${name}`));
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /** The underlying client, for tests and diagnostics. */
  get redis(): Client {
    return this.client;
  }

  /** SCAN over every master (one node, or each master of a cluster). */
  private async *scan(match: string, map: (key: string) => string): AsyncIterable<string[]> {
    const nodes: Redis[] = this.client instanceof Cluster ? this.client.nodes('master') : [this.client as Redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.run(() => node.scan(cursor, 'MATCH', match, 'COUNT', 500));
        cursor = next;
        if (keys.length > 0) yield keys.map(map);
      } while (cursor !== '0');
    }
  }

  /**
   * Until the client has connected once, a call waits for the connection (at most
   * `commandTimeoutMs`) instead of failing at once: without an offline queue, requests
   * arriving right after startup would otherwise all get 503. Later outages fail fast.
   */
  private firstConnection(): Promise<void> {
    if (this.client.status === 'ready') {
      this.everReady = true;
      return Promise.resolve();
    }
    this.firstReady ??= new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done);
        this.firstReady = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.connectTimeoutMs);
      timer.unref();
      this.client.once('ready', done);
      if (this.client.status === 'wait') this.client.connect().catch(() => {});
    });
    return this.firstReady;
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
    return { key, handle: f.h, userId: f.u, createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, version, data };
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
