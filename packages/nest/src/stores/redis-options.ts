import { KeywardConfigError } from '../keyward.errors.js';
import { didYouMean, isPlainObject, show } from '../util/option-checks.js';
import { describeClient, type RedisClientLike } from './redis-client.js';

/**
 * How ends of sessions wait for replicas (see {@link RedisStoreOptions.durableEnds}).
 *
 * @example
 * new RedisStore({ sentinels, sentinelName: 'mymaster', durableEnds: { replicas: 'all', timeoutMs: 250 } })
 */
export interface DurableEndsOptions {
  /**
   * Replicas that must have the write before the end counts as done: `'all'`, every replica
   * the master lists when the end is written (`INFO replication`, asked at most every second
   * and again when a `WAIT` comes back short), so that whichever replica Sentinel or the
   * Cluster promotes has the end; or a number (1 to 16) of them. With `'all'`, a replica that
   * is connected but stalled holds every end up to `timeoutMs` (503) until the master drops
   * it (its `repl-timeout`); one the master dropped still counts for 5 s, then no longer.
   * @default 'all'
   */
  replicas?: number | 'all';
  /**
   * How long the write waits for them (Redis `WAIT`); beyond it the request answers 503
   * `KW_STORE_NOT_DURABLE`. At least 50 ms below `commandTimeoutMs`.
   * @default 500 (or half of `commandTimeoutMs` if that is less)
   */
  timeoutMs?: number;
}

/**
 * Options of {@link RedisStore}. Give exactly one of `url`, `cluster`, `sentinels` (with
 * `sentinelName`) or `client`.
 *
 * @example
 * new RedisStore({ sentinels: ['10.0.0.1:26379', '10.0.0.2:26379', '10.0.0.3:26379'], sentinelName: 'mymaster' })
 */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. Needs `ioredis` (`npm install ioredis`). */
  url?: string;
  /** Redis Cluster seed nodes (`host:port` strings or `{ host, port }`). Needs `ioredis`. Reads and writes go to masters only. */
  cluster?: Array<string | { host?: string; port?: number }>;
  /**
   * Redis Sentinels (`host:port` strings or `{ host, port }`) that watch the master named
   * `sentinelName`: Keyward asks them for the master, and again after a failover. Needs
   * `ioredis`. Durable ends are on by default.
   */
  sentinels?: Array<string | { host?: string; port?: number }>;
  /** The master's name in the Sentinels' configuration (`sentinel monitor <name> ...`); needed with `sentinels`. */
  sentinelName?: string;
  /**
   * A client you created and own; Keyward does not close it. An ioredis `Redis` (also one
   * made with `{ sentinels, name }`) or `Cluster`, a node-redis client (`createClient()` of
   * `redis` 4, 5 or 6, the one connect-redis uses), or a node-redis Sentinel client
   * (`createSentinel()` of `redis` 5 or 6), connected or not (Keyward connects it if it is not open).
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
  /** Extra ioredis options (`RedisOptions`) for the client Keyward creates from `url`, `cluster` or `sentinels`. */
  redisOptions?: { readonly [option: string]: unknown };
  /**
   * Every write that ends or narrows a session (logout, logout-all, revoke, the per-user
   * cap, a reuse end, an ID rotation's claim, the ledger of minted keys) is answered only
   * once its replicas have it (`replicas`, by default every one the master lists; Redis
   * `WAIT` on the connection and node that took it); otherwise the request answers 503
   * `KW_STORE_NOT_DURABLE` and the client does not believe it happened. Logins and touches
   * stay asynchronous, except that on a Cluster a login's entry in its user's index (kept
   * on another master than the record) is confirmed before the record is written, so
   * logout-all always finds it. `true` = `{}` (the defaults), `false` = off.
   * @default on with `sentinels` (or a Sentinel `client`); otherwise on while the master
   * holding the key lists a replica (`INFO replication`, asked at most every second and
   * after every reconnect, so after a failover too), off on a lone server.
   */
  durableEnds?: boolean | DurableEndsOptions;
}

/** `durableEnds` after validation: `auto` decides per master, by the replicas it lists. */
export interface ResolvedDurableEnds {
  readonly mode: 'on' | 'off' | 'auto';
  readonly replicas: number | 'all';
  readonly timeoutMs: number;
}

/** The options after validation, every default filled in. */
export interface ResolvedRedisStoreOptions {
  readonly source: 'url' | 'cluster' | 'sentinels' | 'client';
  readonly url?: string;
  readonly cluster?: Array<{ host: string; port: number }>;
  readonly sentinels?: Array<{ host: string; port: number }>;
  readonly sentinelName?: string;
  readonly client?: RedisClientLike;
  readonly prefix: string;
  readonly sweepGraceMs: number;
  readonly commandTimeoutMs: number;
  readonly redisOptions: { readonly [option: string]: unknown };
  readonly durableEnds: ResolvedDurableEnds;
}

export const DEFAULT_DURABLE_REPLICAS = 'all';
export const DEFAULT_DURABLE_TIMEOUT_MS = 500;
const SOURCES = ['url', 'cluster', 'sentinels', 'client'] as const;
const KNOWN = [...SOURCES, 'sentinelName', 'prefix', 'sweepGraceMs', 'commandTimeoutMs', 'redisOptions', 'durableEnds'];
const RENAMED: Record<string, string> = {
  name: 'sentinelName (the master\'s name in the Sentinels\' configuration)',
  mastername: 'sentinelName',
  master: 'sentinelName',
  nodes: 'cluster (seed nodes) or sentinels',
  host: 'url: "redis://host:6379"',
  keyprefix: 'prefix',
  durable: 'durableEnds',
  wait: 'durableEnds: { replicas, timeoutMs }',
};

/**
 * Checks {@link RedisStoreOptions} once, at construction, and reports every problem in one
 * {@link KeywardConfigError}: the option, the bad value and what to write instead.
 */
export function resolveRedisStoreOptions(raw: unknown): ResolvedRedisStoreOptions {
  if (!isPlainObject(raw)) {
    throw new KeywardConfigError([`RedisStore needs an options object with one of \`url\`, \`cluster\`, \`sentinels\` or \`client\`, e.g. new RedisStore({ url: process.env.REDIS_URL }); got ${show(raw)}.`]);
  }
  const o = raw;
  const problems: string[] = [];
  for (const name of Object.keys(o)) {
    if (KNOWN.includes(name)) continue;
    const hint = RENAMED[name.toLowerCase()] ?? didYouMean(name, KNOWN);
    problems.push(`RedisStore: unknown option \`${name}\`.${hint ? ` Did you mean \`${hint}\`?` : ` Known options: ${KNOWN.join(', ')}.`}`);
  }
  const given = SOURCES.filter((k) => o[k] !== undefined);
  if (given.length !== 1) {
    problems.push(`RedisStore: give exactly one of \`url\`, \`cluster\`, \`sentinels\` (with \`sentinelName\`) or \`client\`; got ${given.length === 0 ? 'none' : given.map((k) => `\`${k}\``).join(' and ')}.`);
  }
  if (o.url !== undefined && (typeof o.url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(o.url))) {
    problems.push(`RedisStore \`url\`: ${typeof o.url === 'string' ? 'a string that is not a redis:// or rediss:// URL' : show(o.url)}; give e.g. "redis://127.0.0.1:6379".`);
  }
  const cluster = o.cluster === undefined ? undefined : nodes(o.cluster, 'cluster', '["10.0.0.1:6379", "10.0.0.2:6379"]', problems);
  const sentinels = o.sentinels === undefined ? undefined : nodes(o.sentinels, 'sentinels', '["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]', problems);
  if (o.sentinels !== undefined && (typeof o.sentinelName !== 'string' || !/^[\w.:-]{1,128}$/.test(o.sentinelName))) {
    problems.push(`RedisStore \`sentinelName\`: ${show(o.sentinelName)}; give the master's name from the Sentinels' \`sentinel monitor <name> ...\` line, e.g. "mymaster".`);
  }
  if (o.sentinels === undefined && o.sentinelName !== undefined) {
    problems.push('RedisStore `sentinelName`: only meaningful with `sentinels`; add `sentinels: ["host:26379", ...]` or remove it.');
  }
  let clientKind: string | undefined;
  if (o.client !== undefined) {
    const d = describeClient(o.client);
    if (typeof d === 'string') clientKind = d;
    else problems.push(d.problem);
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix.length === 0 || o.prefix.length > 64 || /[\s{}]/.test(o.prefix))) {
    problems.push(`RedisStore \`prefix\`: ${show(o.prefix)}; give a short namespace without spaces or braces, e.g. "kw:" (the default).`);
  }
  const sweepGraceMs = integer(o.sweepGraceMs, 'sweepGraceMs', 3_600_000, 0, 366 * 86_400_000, problems);
  const commandTimeoutMs = integer(o.commandTimeoutMs, 'commandTimeoutMs', 2000, 50, 60_000, problems);
  if (o.redisOptions !== undefined && !isPlainObject(o.redisOptions)) {
    problems.push(`RedisStore \`redisOptions\`: ${show(o.redisOptions)}; give an object of ioredis options, e.g. { password: process.env.REDIS_PASSWORD }.`);
  } else if (o.redisOptions !== undefined && o.client !== undefined) {
    problems.push('RedisStore `redisOptions`: applies only to the client Keyward creates (`url`, `cluster`, `sentinels`); set them on your own `client` instead.');
  }
  const sentinelClient = clientKind === 'ioredis-sentinel' || clientKind === 'node-redis-sentinel';
  const durableEnds = durable(o.durableEnds, o.sentinels !== undefined || sentinelClient, commandTimeoutMs, problems);
  if (problems.length > 0) throw new KeywardConfigError(problems);
  return {
    source: given[0]!,
    ...(typeof o.url === 'string' ? { url: o.url } : {}),
    ...(cluster ? { cluster } : {}),
    ...(sentinels ? { sentinels, sentinelName: o.sentinelName as string } : {}),
    ...(o.client !== undefined ? { client: o.client as RedisClientLike } : {}),
    prefix: (o.prefix as string | undefined) ?? 'kw:',
    sweepGraceMs,
    commandTimeoutMs,
    redisOptions: (o.redisOptions as Record<string, unknown> | undefined) ?? {},
    durableEnds,
  };
}

function durable(v: unknown, sentinel: boolean, commandTimeoutMs: number, problems: string[]): ResolvedDurableEnds {
  // The default wait fits any command timeout (half of it at most); a wait given is checked.
  const timeoutMs = Math.min(DEFAULT_DURABLE_TIMEOUT_MS, Math.floor(commandTimeoutMs / 2));
  const fallback: ResolvedDurableEnds = { mode: sentinel ? 'on' : 'auto', replicas: DEFAULT_DURABLE_REPLICAS, timeoutMs };
  if (v === undefined) return fallback;
  if (v === false) return { ...fallback, mode: 'off' };
  if (v === true) return { ...fallback, mode: 'on' };
  if (!isPlainObject(v)) {
    problems.push(`RedisStore \`durableEnds\`: ${show(v)}; give true, false or { replicas: 'all' | 1..16, timeoutMs }.`);
    return fallback;
  }
  for (const k of Object.keys(v)) {
    if (k !== 'replicas' && k !== 'timeoutMs') problems.push(`RedisStore \`durableEnds.${k}\`: unknown option.${didYouMean(k, ['replicas', 'timeoutMs']) ? ` Did you mean \`${didYouMean(k, ['replicas', 'timeoutMs'])}\`?` : ' Known: replicas, timeoutMs.'}`);
  }
  let replicas: number | 'all' = DEFAULT_DURABLE_REPLICAS;
  if (v.replicas !== undefined && v.replicas !== 'all') {
    if (typeof v.replicas === 'number' && Number.isSafeInteger(v.replicas) && v.replicas >= 1 && v.replicas <= 16) replicas = v.replicas;
    else problems.push(`RedisStore \`durableEnds.replicas\`: ${show(v.replicas)} is neither 'all' nor a whole number from 1 to 16; leave it out for the default, 'all' (every replica the master lists).`);
  }
  const wait = integer(v.timeoutMs, 'durableEnds.timeoutMs', timeoutMs, 1, 30_000, problems);
  return checkTimeout({ mode: 'on', replicas, timeoutMs: wait }, commandTimeoutMs, problems);
}

function checkTimeout(d: ResolvedDurableEnds, commandTimeoutMs: number, problems: string[]): ResolvedDurableEnds {
  if (d.timeoutMs + 50 > commandTimeoutMs) {
    problems.push(`RedisStore \`durableEnds.timeoutMs\`: ${d.timeoutMs} ms leaves no room within \`commandTimeoutMs\` (${commandTimeoutMs} ms): the WAIT would be cut off as a store failure. Keep it at least 50 ms below, e.g. ${Math.max(1, commandTimeoutMs - 500)}, or raise \`commandTimeoutMs\`.`);
  }
  return d;
}

function integer(v: unknown, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    problems.push(`RedisStore \`${name}\`: ${show(v)} is not a whole number from ${min} to ${max}; leave it out for the default, ${fallback}.`);
    return fallback;
  }
  return v;
}

/** Seed nodes as `{ host, port }`, or undefined after reporting. */
function nodes(v: unknown, name: string, example: string, problems: string[]): Array<{ host: string; port: number }> | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    problems.push(`RedisStore \`${name}\`: ${show(v)}; give a non-empty list of "host:port" strings, e.g. ${example}.`);
    return undefined;
  }
  const out: Array<{ host: string; port: number }> = [];
  v.forEach((n: unknown, i) => {
    const parsed = node(n);
    if (parsed) out.push(parsed);
    else problems.push(`RedisStore \`${name}[${i}]\`: ${show(n)} is not "host:port" or { host, port } with a port from 1 to 65535.`);
  });
  return out.length === v.length ? out : undefined;
}

function node(n: unknown): { host: string; port: number } | undefined {
  let host: unknown;
  let port: unknown;
  if (typeof n === 'string') {
    const m = /^\[?([^\s\]]+?)\]?:(\d{1,5})$/.exec(n);
    if (!m) return undefined;
    [host, port] = [m[1], Number(m[2])];
  } else if (isPlainObject(n)) {
    [host, port] = [n.host ?? '127.0.0.1', n.port];
  }
  if (typeof host !== 'string' || host.length === 0 || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}
