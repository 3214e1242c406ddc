import type { ClusterOptions, RedisOptions } from 'ioredis';
import { StoreCorruptError, StoreNotDurableError, StoreUnavailableError } from '../keyward.errors.js';
import { loadOptionalPeer } from '../util/optional-peer.js';
import {
  describeClient,
  ioRedisConnection,
  nodeRedisConnection,
  type ClientKind,
  type IoRedisClientLike,
  type NodeRedisClientLike,
  type RedisClientLike,
  type RedisConnection,
  type RedisScript,
} from './redis-client.js';
import { endsLink, type EndsLink } from './redis-durable-ends.js';
import type { ResolvedDurableEnds, ResolvedRedisStoreOptions } from './redis-options.js';
import { strings } from './redis-record.js';

type IoRedisModule = typeof import('ioredis');

/**
 * Every call the Redis store makes goes through here: the connection made from the options
 * (or the client given), a wait for its first connection, and failures turned into
 * {@link StoreUnavailableError} (a cause that keeps no argument of the command). If Redis is
 * unreachable, every call throws at once (no offline queue) and the client reconnects by itself.
 */
export class RedisCalls {
  readonly conn: RedisConnection;
  /** What the client is (the store's own, or the app's). */
  readonly kind: ClientKind;
  /** `durableEnds` as resolved: `off`, `on`, or `auto` (per master, at each connection). */
  readonly durability: ResolvedDurableEnds;
  /** The connection(s) ends of sessions are written on and WAITed for; none when durable ends are off. */
  private readonly ends: EndsLink | undefined;
  /** False for a client the app gave: Keyward does not close it. */
  private readonly owned: boolean;
  private readonly connectTimeoutMs: number;
  /** Set once the client has been ready at least once; from then on an outage fails fast. */
  private everReady = false;
  /** The client's last connection error (scrubbed), until it is ready again. */
  private lastConnectionError: Error | undefined;
  private firstReady: Promise<void> | undefined;

  constructor(options: ResolvedRedisStoreOptions, scripts: readonly RedisScript[]) {
    this.connectTimeoutMs = options.commandTimeoutMs;
    this.durability = options.durableEnds;
    if (options.client) {
      this.kind = describeClient(options.client) as ClientKind;
      this.conn = this.kind.startsWith('ioredis')
        ? ioRedisConnection(options.client as IoRedisClientLike, scripts)
        : nodeRedisConnection(options.client as NodeRedisClientLike, this.connectTimeoutMs, this.kind === 'node-redis-sentinel');
      this.owned = false;
    } else {
      const how = `RedisStore({ ${options.source} })`;
      const { Cluster, Redis } = loadOptionalPeer<IoRedisModule>('ioredis', how, 'or pass a node-redis client as `client`');
      const base: RedisOptions = {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        maxRetriesPerRequest: 1,
        commandTimeout: this.connectTimeoutMs,
        retryStrategy: (times) => Math.min(50 * times, 500),
        // A master demoted to a replica while we were connected: connect again (to the master Sentinel names now).
        reconnectOnError: (e) => e.message.startsWith('READONLY'),
        ...(options.redisOptions as RedisOptions | undefined),
      };
      let client: IoRedisClientLike;
      if (options.cluster) {
        const clusterOptions: ClusterOptions = { enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: base };
        client = new Cluster(options.cluster, clusterOptions);
        this.kind = 'ioredis-cluster';
      } else if (options.sentinels) {
        // Not ioredis' `failoverDetector`: its Sentinel connections outlive quit() and report errors
        // unhandled (measured: recovery after a SIGKILL was the same without it, ~2.4 s with a 1 s down-after).
        client = new Redis({ ...base, sentinels: options.sentinels, name: options.sentinelName! });
        this.kind = 'ioredis-sentinel';
      } else {
        client = new Redis(options.url!, base);
        this.kind = 'ioredis';
      }
      this.conn = ioRedisConnection(client, scripts);
      this.owned = true;
    }
    this.ends = this.durability.mode === 'off' ? undefined : endsLink(this.conn.client, this.kind, this.durability, this.connectTimeoutMs);
    // Connection errors surface per request as 503 (the last one named as its cause); the client keeps reconnecting.
    (this.conn.client as unknown as { on(event: 'error', listener: (e: unknown) => void): unknown }).on('error', (e) => {
      this.lastConnectionError = scrubCause(e);
    });
    (this.conn.client as unknown as { on(event: 'ready', listener: () => void): unknown }).on('ready', () => {
      this.lastConnectionError = undefined;
    });
    this.everReady = this.conn.ready;
    if (!this.everReady) this.conn.onceReady(() => (this.everReady = true));
  }

  /** True on a Redis Cluster: the keys of one command or script must then share a hash slot. */
  get cluster(): boolean {
    return this.conn.cluster;
  }

  get client(): RedisClientLike {
    return this.conn.client;
  }

  /** One raw command. */
  cmd(...args: Array<string | number>): Promise<unknown> {
    return this.run(() => this.conn.command(args));
  }

  /** A one-key script. */
  script(script: RedisScript, key: string, args: ReadonlyArray<string | number>): Promise<unknown> {
    return this.run(() => this.conn.script(script, key, args));
  }

  /** A script over several keys (a single Redis, or keys of one slot). */
  scriptKeys(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    return this.run(() => this.conn.scriptKeys(script, keys, args));
  }

  /** A raw command on the first master (`TIME`: one clock for every instance). */
  onFirstMaster(args: ReadonlyArray<string | number>): Promise<unknown> {
    return this.run(() => this.conn.masters()[0]!(args));
  }

  /** SCAN over every master (one node, or each master of a cluster). */
  async *scan(match: string, map: (key: string) => string): AsyncIterable<string[]> {
    for (const send of this.conn.masters()) {
      let cursor = '0';
      do {
        const [next, keys] = (await this.run(() => send(['SCAN', cursor, 'MATCH', match, 'COUNT', 500]))) as [string, string[]];
        cursor = String(next);
        if (keys.length > 0) yield strings(keys).map(map);
      } while (cursor !== '0');
    }
  }

  /** True when ends of sessions are written on the ends' connection (durable ends `on` or `auto`). */
  get durable(): boolean {
    return this.ends !== undefined;
  }

  /**
   * A script that ends or narrows a session: run on the master owning `key` over the ends'
   * connection, then `WAIT` there (see {@link EndsLink}). Fewer replicas than asked within
   * the time: {@link StoreNotDurableError} carrying the script's reply. Without durable
   * ends, a plain {@link script}.
   */
  async durableScript(script: RedisScript, key: string, args: ReadonlyArray<string | number>): Promise<unknown> {
    return this.durableScriptKeys(script, [key], args);
  }

  /** {@link durableScript} over keys of one slot (the master owning the first one takes it). */
  async durableScriptKeys(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    const ends = this.ends;
    if (!ends) return keys.length === 1 ? this.script(script, keys[0]!, args) : this.scriptKeys(script, keys, args);
    const out = await this.run(() => ends.write(script, keys, args), () => ends.reconnect());
    if (out.acked < out.needed) throw new StoreNotDurableError(out.reply);
    return out.reply;
  }

  async close(): Promise<void> {
    await this.ends?.close();
    if (this.owned) await this.conn.close();
  }

  /**
   * Runs `op` once the client has connected, with every failure (but a corrupt record) as
   * {@link StoreUnavailableError}.
   */
  async run<T>(op: () => Promise<T>, reconnect: () => void = () => this.conn.reconnect()): Promise<T> {
    try {
      if (!this.everReady) await this.firstConnection();
      return await op();
    } catch (cause) {
      if (cause instanceof StoreCorruptError) throw cause;
      // A demoted master still connected: fail closed, and connect to the one Sentinel names now.
      if (cause instanceof Error && cause.message.startsWith('READONLY')) reconnect();
      const scrubbed = scrubCause(cause);
      // A command refused because the connection is down says only that: the connection's own last error says why.
      if (this.lastConnectionError && !this.conn.ready) Object.defineProperty(scrubbed, 'cause', { value: this.lastConnectionError, enumerable: false });
      throw new StoreUnavailableError({ cause: scrubbed });
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
}

/** Keeps only the error's class, its errno-style code and first line: Redis errors can quote arguments. */
function scrubCause(cause: unknown): Error {
  const name = cause instanceof Error ? cause.name : 'Error';
  const msg = cause instanceof Error ? cause.message.split('\n')[0]!.replace(/\b[A-Za-z0-9_-]{40,}\b/g, '[…]') : 'unknown';
  const out = new Error(`${name}: ${msg}`);
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,39}$/.test(code)) (out as Error & { code?: string }).code = code;
  return out;
}
