/** One stored record as a source hands it over. */
export interface StoredRecord {
  key: string;
  /** The value as text; undefined when the key holds no string (a hash, a list) or is gone. */
  value: string | undefined;
  /** Time left in ms; null when the record never expires; undefined when the source does not say. */
  ttlMs: number | null | undefined;
}

/** Where `keyward legacy-sessions` reads records: a Redis server, or an export of one. */
export interface RecordSource {
  /** What the report names as the target: a URL without credentials, or a file path. */
  readonly target: string;
  /** The records whose key matches `pattern` (Redis glob), at most `batchSize` at a time. */
  batches(pattern: string, batchSize: number): AsyncIterable<StoredRecord[]>;
  /** Problems met while reading (never a value). */
  readonly notes: string[];
  close(): Promise<void>;
}

/** A source whose records can be deleted, each only while it still holds what was read. */
export interface WritableRecordSource extends RecordSource {
  /** The record's current value, or undefined when it is gone or not a string. */
  get(key: string): Promise<string | undefined>;
  /** Deletes the record if and only if its value is still `expected` (one atomic step). */
  deleteIfUnchanged(key: string, expected: string): Promise<boolean>;
}

/** True when the source can delete. */
export function isWritable(source: RecordSource): source is WritableRecordSource {
  return typeof (source as Partial<WritableRecordSource>).deleteIfUnchanged === 'function';
}

/**
 * Redis's glob (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`) as a RegExp over the whole key, for
 * sources that cannot filter by themselves (a dump).
 *
 * @example
 * redisGlob('sess:*').test('sess:abc'); // true
 */
export function redisGlob(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) re += escape(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        re += escape(c);
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, 'u');
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, (m) => `\\${m}`);
}
