import { KeywardConfigError } from '../keyward.errors.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; its folder is created (mode 0700) if missing. Use `':memory:'` only in tests. */
  file: string;
  /**
   * SQLite's own page cache for this process, in bytes (`PRAGMA cache_size`). SQLite's
   * default (2 MiB) cannot even hold the inner pages of the indexes of a million sessions
   * (about 4 MiB), so every read went back to the file for them: at 1M sessions, the
   * session check ran at 0.63x the req/s of 1k. The cache fills only as pages are read,
   * so a small store never uses it all. Between 1 MiB and 16 GiB.
   * @default 67_108_864 (64 MiB: the inner pages of about 10M sessions and a hot set of
   * some 100k sessions' pages)
   */
  cacheSizeBytes?: number;
  /**
   * How much of the database file to read through a memory map instead of `read()` calls
   * (`PRAGMA mmap_size`), in bytes; 0 (the default) reads with `read()`. A map spares a
   * system call and a copy per page: measured at 1M sessions, about 3 µs of a 12-18 µs
   * store read, some 1-2% of a session check. Off by default because SQLite's caution
   * applies: an I/O error on a mapped file (a failing or network disk) ends the process
   * with a signal instead of an error; and mapped pages (the kernel's file cache, shared and
   * reclaimable) count in the process's RSS, so RSS grows towards this size. At most 64 GiB.
   * @default 0
   */
  mmapSizeBytes?: number;
}

/** The options after validation, every default filled in. */
export interface ResolvedSqliteStoreOptions {
  file: string;
  cacheSizeBytes: number;
  mmapSizeBytes: number;
}

export const DEFAULT_SQLITE_CACHE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SQLITE_MMAP_BYTES = 0;
const MIB = 1024 * 1024;
const KNOWN = new Set(['file', 'cacheSizeBytes', 'mmapSizeBytes']);
const RENAMED: Record<string, string> = {
  filename: 'file',
  path: 'file',
  cacheSize: 'cacheSizeBytes',
  cache_size: 'cacheSizeBytes',
  mmapSize: 'mmapSizeBytes',
  mmap_size: 'mmapSizeBytes',
};

/**
 * Checks {@link SqliteStoreOptions} once, at construction, and reports every problem in one
 * {@link KeywardConfigError}: the option, the bad value and what to write instead.
 */
export function resolveSqliteStoreOptions(raw: unknown): ResolvedSqliteStoreOptions {
  const problems: string[] = [];
  if (raw === null || typeof raw !== 'object') {
    throw new KeywardConfigError([`SqliteStore needs an options object with \`file\`, the path of its database file, e.g. new SqliteStore({ file: './.data/keyward.sqlite' }); got ${show(raw)}.`]);
  }
  const o = raw as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (KNOWN.has(name)) continue;
    const hint = RENAMED[name] ?? [...KNOWN].find((k) => k.toLowerCase() === name.toLowerCase());
    problems.push(`SqliteStore: unknown option \`${name}\`.${hint ? ` Did you mean \`${hint}\`?` : ` Known options: ${[...KNOWN].join(', ')}.`}`);
  }
  if (typeof o.file !== 'string' || o.file.length === 0) {
    problems.push(`SqliteStore \`file\`: ${show(o.file)} is not a path; give the path of its database file, e.g. "./.data/keyward.sqlite".`);
  }
  const cacheSizeBytes = bytes(o.cacheSizeBytes, 'cacheSizeBytes', DEFAULT_SQLITE_CACHE_BYTES, MIB, 16 * 1024 * MIB, problems);
  const mmapSizeBytes = bytes(o.mmapSizeBytes, 'mmapSizeBytes', DEFAULT_SQLITE_MMAP_BYTES, 0, 64 * 1024 * MIB, problems);
  if (problems.length > 0) throw new KeywardConfigError(problems);
  return { file: o.file as string, cacheSizeBytes, mmapSizeBytes };
}

function bytes(v: unknown, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const mib = typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1024 ? ` (a size in bytes: ${v} MiB is ${v * MIB})` : '';
    problems.push(`SqliteStore \`${name}\`: ${show(v)} is not a whole number of bytes between ${min} and ${max}${mib}; leave it out for the default, ${fallback}${fallback ? ` (${fallback / MIB} MiB)` : ''}.`);
    return fallback;
  }
  return v;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}
