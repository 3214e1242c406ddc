import { createHash } from 'node:crypto';

/**
 * An ioredis client (`Redis` or `Cluster`), described only by the members Keyward uses, so
 * that Keyward's types do not require ioredis to be installed.
 */
export interface IoRedisClientLike {
  readonly status: string;
  defineCommand(...args: any[]): unknown;
  call(...args: any[]): unknown;
}

/**
 * A node-redis client (`createClient()` of `redis` 4, 5 or 6), described only by the members
 * Keyward uses. A cluster client (`createCluster()`) is not supported: use ioredis for Redis
 * Cluster.
 */
export interface NodeRedisClientLike {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  sendCommand(...args: any[]): unknown;
}

/** A Redis client you created and own: ioredis or node-redis. */
export type RedisClientLike = IoRedisClientLike | NodeRedisClientLike;

/**
 * A Lua script; with one key unless `manyKeys` (any number, given by the caller) or `keys`
 * (exactly that many). Prefer `keys` on a Redis Cluster: ioredis' auto-pipelining finds
 * the slot of a command by its first argument, which for `manyKeys` is the key count.
 */
export interface RedisScript {
  readonly name: string;
  readonly lua: string;
  readonly manyKeys?: boolean;
  readonly keys?: number;
}

/** A raw command and its raw reply (RESP2 shapes, except that HGETALL may come back as a map). */
export type Send = (args: ReadonlyArray<string | number>) => Promise<unknown>;

/**
 * The few operations RedisStore needs, the same for both clients: raw commands, one-key
 * scripts, SCAN on each master, connection state, close.
 */
export interface RedisConnection {
  readonly client: RedisClientLike;
  /** True once the client is connected and ready for commands. */
  readonly ready: boolean;
  command(args: ReadonlyArray<string | number>): Promise<unknown>;
  script(script: RedisScript, key: string, args: ReadonlyArray<string | number>): Promise<unknown>;
  /** A script declared with `manyKeys`. */
  scriptKeys(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown>;
  /** True for a Redis Cluster client (keys of one command must then share a hash slot). */
  readonly cluster: boolean;
  /** One raw-command function per master (one for a single server). */
  masters(): Send[];
  /** Calls `listener` once, at the next `ready` event; returns a function that cancels it. */
  onceReady(listener: () => void): () => void;
  /** Starts connecting if the client is idle (not yet connected, never asked to). */
  connectIfIdle(): void;
  /** Drops the connection and connects again (to the master Sentinel names now): after a READONLY reply. */
  reconnect(): void;
  /** Quits (or, failing that, drops) the connection. */
  close(): Promise<void>;
}

/** The event methods Keyward uses of a Redis client (ioredis and node-redis alike). */
export interface Emitter {
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

type IoRedis = Emitter & {
    readonly status: string;
    defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
    call(command: string, ...args: Array<string | number>): Promise<unknown>;
    connect(): Promise<void>;
    quit(): Promise<unknown>;
    disconnect(reconnect?: boolean): void;
    nodes?(role: 'master'): IoRedis[];
  } & Record<string, unknown>;

type NodeRedis = Emitter & {
    readonly isReady: boolean;
    readonly isOpen: boolean;
    /** `(args, options)` on a client; `(isReadonly, args, options)` on a Sentinel client. */
    sendCommand(...args: unknown[]): Promise<unknown>;
    connect(): Promise<unknown>;
    quit?(): Promise<unknown>;
    close?(): Promise<unknown>;
  };

/** What a given `client` is: Keyward talks to each a little differently. */
export type ClientKind = 'ioredis' | 'ioredis-cluster' | 'ioredis-sentinel' | 'node-redis' | 'node-redis-sentinel';

/** The kind of a client given as `client`, or the problem with it (for the option report). */
export function describeClient(client: unknown): ClientKind | { problem: string } {
  const c = client as (Partial<IoRedisClientLike & NodeRedisClientLike> & Record<string, unknown>) | null;
  if (c && typeof c.defineCommand === 'function' && typeof c.call === 'function') {
    if (typeof c.nodes === 'function') return 'ioredis-cluster';
    const sentinels = (c.options as { sentinels?: unknown } | undefined)?.sentinels;
    return Array.isArray(sentinels) && sentinels.length > 0 ? 'ioredis-sentinel' : 'ioredis';
  }
  if (c && typeof c.sendCommand === 'function' && typeof c.isReady === 'boolean') {
    if (typeof c.getMasterNode === 'function' && typeof c.use === 'function') return 'node-redis-sentinel';
    if (typeof c.masters !== 'undefined') {
      return { problem: 'RedisStore `client`: a node-redis cluster client (`createCluster()`) is not supported. Pass an ioredis `Cluster`, or `cluster: [...]` seed nodes.' };
    }
    return 'node-redis';
  }
  return { problem: `RedisStore \`client\`: expected an ioredis client (\`new Redis()\`, \`new Redis({ sentinels, name })\`, \`new Cluster()\`), a node-redis client (\`createClient()\`) or a node-redis Sentinel client (\`createSentinel()\` of redis 5 or 6); got ${client === null ? 'null' : typeof client}.` };
}

/** True for an ioredis client, false for node-redis; a TypeError for anything else. */
export function isIoRedis(client: unknown): client is IoRedisClientLike {
  const kind = describeClient(client);
  if (typeof kind !== 'string') throw new TypeError(kind.problem);
  return kind.startsWith('ioredis');
}

/** Wraps an ioredis client; its scripts become custom commands (EVALSHA, EVAL on NOSCRIPT). */
export function ioRedisConnection(given: IoRedisClientLike, scripts: readonly RedisScript[]): RedisConnection {
  const client = given as IoRedis;
  for (const s of scripts) client.defineCommand(s.name, s.manyKeys ? { lua: s.lua } as { numberOfKeys: number; lua: string } : { numberOfKeys: s.keys ?? 1, lua: s.lua });
  const sendVia = (c: IoRedis): Send => (args) => c.call(String(args[0]), ...args.slice(1));
  return {
    client: given,
    cluster: typeof client.nodes === 'function',
    // Without numberOfKeys, ioredis takes the key count as the first argument.
    scriptKeys: (s, keys, args) => (client[s.name] as (...a: Array<string | number>) => Promise<unknown>)(...(s.keys ? [] : [keys.length]), ...keys, ...args),
    get ready() {
      return client.status === 'ready';
    },
    command: sendVia(client),
    script: (s, key, args) => (client[s.name] as (...a: Array<string | number>) => Promise<unknown>)(key, ...args),
    masters: () => (typeof client.nodes === 'function' ? client.nodes('master') : [client]).map(sendVia),
    onceReady(listener) {
      client.once('ready', listener);
      return () => client.off('ready', listener);
    },
    connectIfIdle() {
      if (client.status === 'wait') client.connect().catch(() => {});
    },
    reconnect() {
      // A Cluster follows MOVED by itself; a single server or a Sentinel-managed master is asked again.
      if (typeof client.nodes !== 'function') client.disconnect(true);
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/**
 * Wraps a node-redis client, or a node-redis Sentinel client (`sentinel`: commands go to
 * the master it names). Scripts run as EVALSHA, falling back to EVAL when the server does
 * not have them cached (a new master after a failover); each command fails after `timeoutMs`.
 */
export function nodeRedisConnection(given: NodeRedisClientLike, timeoutMs: number, sentinel = false): RedisConnection {
  const client = given as NodeRedis;
  // RESP3 maps (HGETALL on node-redis 6) as a Map, not a plain object: a field named
  // `__proto__` must stay a field. node-redis 4 (RESP2 only) ignores the option.
  const send: Send = sentinel
    ? (args) => withTimeout(client.sendCommand(false, args.map(String), AS_MAP), timeoutMs)
    : (args) => withTimeout(client.sendCommand(args.map(String), AS_MAP), timeoutMs);
  const evalsha = scriptRunner(send);
  return {
    client: given,
    cluster: false,
    get ready() {
      return client.isReady;
    },
    command: send,
    script: (s, key, args) => evalsha(s, [key], args),
    scriptKeys: evalsha,
    masters: () => [send],
    onceReady(listener) {
      client.once('ready', listener);
      return () => client.off('ready', listener);
    },
    connectIfIdle() {
      if (!client.isOpen) client.connect().catch(() => {});
    },
    reconnect() {
      // node-redis reconnects by itself; its Sentinel client follows the Sentinels' switch.
    },
    async close() {
      await (client.close ?? client.quit)?.call(client);
    },
  };
}

/** Runs scripts over a raw send: EVALSHA, and EVAL when the server answers NOSCRIPT. */
export function scriptRunner(send: Send): (s: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown> {
  return async (s, keys, args) => {
    try {
      return await send(['EVALSHA', shaOf(s), keys.length, ...keys, ...args]);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return send(['EVAL', s.lua, keys.length, ...keys, ...args]);
    }
  };
}

const shas = new Map<string, string>();
function shaOf(s: RedisScript): string {
  let h = shas.get(s.lua);
  if (!h) shas.set(s.lua, (h = createHash('sha1').update(s.lua).digest('hex')));
  return h;
}

/** node-redis command options: `RESP_TYPES.MAP` (`%`, 37) replies as a `Map`. */
export const AS_MAP = Object.freeze({ typeMapping: Object.freeze({ 37: Map }) });

export function withTimeout<T>(op: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Command timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([op, timeout]).finally(() => clearTimeout(timer));
}

/** HGETALL's reply as a flat `[field, value, ...]` list, whether it came as an array (RESP2) or a map (RESP3). */
export function flatHash(reply: unknown): string[] {
  if (Array.isArray(reply)) return reply.map(String);
  if (reply instanceof Map) return [...reply].flat().map(String);
  if (reply && typeof reply === 'object') return Object.entries(reply).flat().map(String);
  return [];
}
