/**
 * Reads the store of a canary combination as raw bytes, at named moments of the run: for
 * SQLite every file of the app's data directory (database, WAL, SHM, anything else), for Redis
 * every key with its DUMP payload and its values ({@link dumpRedis}).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dumpRedis } from './redis-dump.js';

/** One captured piece of the store: where it came from, and its bytes. */
export interface StoreSource {
  source: string;
  bytes: Buffer;
}

/** The files' bytes below `dataDir` (names relative to it). */
export function readDataDir(dataDir: string): Array<{ name: string; bytes: Buffer }> {
  const out: Array<{ name: string; bytes: Buffer }> = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ name: p.slice(dataDir.length + 1), bytes: readFileSync(p) });
    }
  };
  walk(dataDir);
  return out;
}

/** The store's bytes, snapshot after snapshot. */
export class StoreCapture {
  readonly sources: StoreSource[] = [];

  constructor(
    private readonly store: 'sqlite' | 'redis',
    private readonly dataDir: string,
    private readonly redis: { readonly url: string } | undefined,
  ) {}

  /** Adds the store as it is now; `when` names the moment in every source. */
  async snapshot(when: string): Promise<void> {
    if (this.store === 'sqlite') {
      for (const f of readDataDir(this.dataDir)) this.sources.push({ source: `sqlite (${when}) ${f.name}`, bytes: f.bytes });
      return;
    }
    for (const k of await dumpRedis(this.redis!.url)) {
      const label = k.key.toString('utf8').slice(0, 60);
      this.sources.push({ source: `redis (${when}) key ${label}`, bytes: k.key });
      this.sources.push({ source: `redis (${when}) DUMP ${label}`, bytes: k.dump });
      this.sources.push({ source: `redis (${when}) ${k.type} values ${label}`, bytes: k.values });
    }
  }

  bytes(): number {
    return this.sources.reduce((n, s) => n + s.bytes.length, 0);
  }
}
