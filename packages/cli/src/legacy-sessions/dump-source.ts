import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { redisGlob, type RecordSource, type StoredRecord } from './record-source.js';

/**
 * Records from an export of a Redis keyspace, read-only. Two formats:
 * - JSON Lines (streamed, any size): one `{"key": "...", "value": "...", "ttl": 3600}` per line;
 *   `value` is the stored string (an object is taken as its JSON), `ttl` seconds left (-1 or
 *   absent: no expiry known);
 * - a JSON array of the same objects (read whole).
 * A line that is not such a record is counted in a note, never echoed (it may hold a secret).
 *
 * @example
 * const source = new DumpSource('sessions.jsonl');
 */
export class DumpSource implements RecordSource {
  readonly notes: string[] = [];

  constructor(private readonly file: string) {}

  get target(): string {
    return this.file;
  }

  async *batches(pattern: string, batchSize: number): AsyncIterable<StoredRecord[]> {
    const match = redisGlob(pattern);
    let bad = 0;
    let batch: StoredRecord[] = [];
    for await (const item of this.items()) {
      const r = toRecord(item);
      if (!r) {
        bad++;
        continue;
      }
      if (!match.test(r.key)) continue;
      batch.push(r);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    if (bad > 0) this.notes.push(`${bad} entr${bad === 1 ? 'y' : 'ies'} of ${this.file} not read: each must be {"key": string, "value": string, "ttl"?: seconds}`);
  }

  private async *items(): AsyncIterable<unknown> {
    const handle = await open(this.file, 'r');
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, 64, 0);
    await handle.close();
    if (head.subarray(0, bytesRead).toString('utf8').trimStart().startsWith('[')) {
      let all: unknown;
      try {
        all = JSON.parse(readFileSync(this.file, 'utf8'));
      } catch {
        throw new Error(`${this.file} starts with "[" but is not a JSON array; give an array of records or one record per line (JSON Lines)`);
      }
      if (!Array.isArray(all)) throw new Error(`${this.file} is not a JSON array`);
      yield* all;
      return;
    }
    const lines = createInterface({ input: createReadStream(this.file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        yield JSON.parse(line) as unknown;
      } catch {
        yield undefined;
      }
    }
  }

  async close(): Promise<void> {}
}

function toRecord(item: unknown): StoredRecord | undefined {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const { key, value, ttl } = item as { key?: unknown; value?: unknown; ttl?: unknown };
  if (typeof key !== 'string') return undefined;
  const text = typeof value === 'string' ? value : value !== null && typeof value === 'object' ? JSON.stringify(value) : undefined;
  if (text === undefined) return undefined;
  const ttlMs = typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0 ? ttl * 1000 : ttl === -1 ? null : undefined;
  return { key, value: text, ttlMs };
}
