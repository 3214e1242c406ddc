import { readFileSync } from 'node:fs';
import type { StoredRecord, WritableRecordSource } from './record-source.js';

/** Deletes KEYS[1] only while it still holds ARGV[1]: a session re-saved since the scan is judged again. */
const DELETE_IF_UNCHANGED = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** The part of a node-redis client (`redis` 4, 5 or 6) this source uses: raw commands only, the same in every version. */
interface RawClient {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  destroy?(): void;
  disconnect?(): Promise<void>;
  quit?(): Promise<unknown>;
}
type CreateClient = (options: Record<string, unknown>) => RawClient;

/** Thrown when the Redis client package is not installed, naming what to install. */
export class MissingRedisClientError extends Error {
  override name = 'MissingRedisClientError';
}

/**
 * node-redis, loaded only when a Redis server is scanned: the CLI does not depend on it (most of
 * its users never run this command), and an app that used connect-redis has it installed.
 */
async function loadCreateClient(): Promise<CreateClient> {
  for (const name of ['redis', '@redis/client']) {
    try {
      const m = (await import(name)) as { createClient?: CreateClient };
      if (typeof m.createClient === 'function') return m.createClient;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    }
  }
  throw new MissingRedisClientError('keyward legacy-sessions needs the node-redis client to read Redis: npm i -D redis (an app that used connect-redis has it already)');
}

/** A Redis URL as a report may show it: no user, no password. */
export function publicRedisUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  return shown.href;
}

/** Options of {@link RedisSource.connect}. */
export interface RedisSourceOptions {
  /** `redis://` or `rediss://`, with `user:password@` and `/db` when needed. */
  url: string;
  /** PEM file with the CA certificate(s) that signed a `rediss://` server's certificate. */
  tlsCaFile?: string;
  /** @default 10000 */
  connectTimeoutMs?: number;
}

/**
 * The records of one Redis server, read with SCAN (never KEYS, which blocks the server) in
 * bounded steps, and deleted one by one with a compare-and-delete script. Redis Cluster: one
 * node at a time (a node's SCAN sees only its own keys; run once per master).
 *
 * @example
 * const source = await RedisSource.connect({ url: 'redis://127.0.0.1:6379' });
 */
export class RedisSource implements WritableRecordSource {
  readonly notes: string[] = [];

  private constructor(
    private readonly client: RawClient,
    readonly target: string,
    private readonly secrets: readonly string[],
  ) {}

  static async connect(options: RedisSourceOptions): Promise<RedisSource> {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError('the Redis URL is not a URL; expected redis://[user:password@]host:port[/db] or rediss://…');
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new TypeError(`the Redis URL must start with redis:// or rediss://, got ${url.protocol}//`);
    const secrets = [url.password, decodeSafe(url.password)].filter((s) => s.length > 0);
    const createClient = await loadCreateClient();
    const socket: Record<string, unknown> = { reconnectStrategy: false, connectTimeout: options.connectTimeoutMs ?? 10_000 };
    if (url.protocol === 'rediss:') {
      socket['tls'] = true;
      if (options.tlsCaFile) socket['ca'] = readFileSync(options.tlsCaFile);
    } else if (options.tlsCaFile) throw new TypeError('--tls-ca needs a rediss:// URL');
    const client = createClient({ url: url.href, socket });
    let lastError: Error | undefined;
    client.on('error', (err) => (lastError = err));
    const source = new RedisSource(client, publicRedisUrl(url), secrets);
    try {
      await client.connect();
    } catch (err) {
      throw new Error(`cannot connect to ${source.target}: ${source.scrub(err instanceof Error ? err.message : String(lastError ?? err))}`);
    }
    await source.noteCluster();
    return source;
  }

  async *batches(pattern: string, batchSize: number): AsyncIterable<StoredRecord[]> {
    let cursor = '0';
    do {
      const [next, keys] = (await this.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(batchSize)])) as [string, string[]];
      cursor = String(next);
      if (keys.length === 0) continue;
      // one pipelined round of GET + PTTL for the step's keys (node-redis pipelines concurrent commands)
      yield await Promise.all(
        keys.map(async (key) => {
          const [value, ttl] = await Promise.all([this.get(key), this.command(['PTTL', key]) as Promise<number>]);
          return { key, value, ttlMs: ttl === -1 ? null : ttl >= 0 ? ttl : undefined };
        }),
      );
    } while (cursor !== '0');
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const v = await this.command(['GET', key]);
      return typeof v === 'string' ? v : undefined;
    } catch (err) {
      if (/WRONGTYPE/.test(err instanceof Error ? err.message : '')) return undefined; // a hash or a list: not a session record
      throw err;
    }
  }

  async deleteIfUnchanged(key: string, expected: string): Promise<boolean> {
    return Number(await this.command(['EVAL', DELETE_IF_UNCHANGED, '1', key, expected])) === 1;
  }

  async close(): Promise<void> {
    try {
      if (this.client.quit) await this.client.quit();
      else if (this.client.disconnect) await this.client.disconnect();
    } catch {
      this.client.destroy?.();
    }
  }

  private async command(args: string[]): Promise<unknown> {
    try {
      return await this.client.sendCommand(args);
    } catch (err) {
      const e = new Error(this.scrub(err instanceof Error ? err.message : String(err)));
      throw e;
    }
  }

  /** An error message without the URL's password (node-redis may quote what it was given). */
  private scrub(message: string): string {
    let m = message;
    for (const s of this.secrets) m = m.split(s).join('[REDACTED]');
    return m;
  }

  private async noteCluster(): Promise<void> {
    try {
      const info = String(await this.command(['INFO', 'cluster']));
      if (/cluster_enabled:1/.test(info)) {
        this.notes.push('this server is a Redis Cluster node: only its own keys were read; run the command against every master node');
      }
    } catch {
      // INFO may be renamed or refused by ACLs; nothing to note then
    }
  }
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
