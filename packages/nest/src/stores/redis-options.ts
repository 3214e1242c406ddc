import type { RedisClientLike } from './redis-client.js';

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
