import type { Finding } from '../finding.js';
import { isWritable, type RecordSource, type StoredRecord, type WritableRecordSource } from './record-source.js';
import { findRecordSecrets, maskRecordKey, secretHint, type RecordSecret } from './session-record.js';

/** connect-redis's default key prefix: the records express-session wrote. */
export const DEFAULT_SESSION_PATTERN = 'sess:*';
/** Keys per SCAN step (and records held in memory at once). */
export const DEFAULT_BATCH = 500;

/** Options of {@link scanLegacySessions}. */
export interface LegacySessionScanOptions {
  source: RecordSource;
  /** Redis glob of the keys to read. @default 'sess:*' */
  pattern?: string;
  /** @default 500 */
  batchSize?: number;
  /** Delete each record reported (only while it still holds a secret). Needs a writable source. @default false */
  delete?: boolean;
  /** Called after each step (for a progress line). */
  onProgress?: (scanned: number) => void;
}

/** What a scan found, and what it deleted. Never holds a value. */
export interface LegacySessionScanResult {
  findings: Finding[];
  target: string;
  pattern: string;
  recordsScanned: number;
  /** Records holding at least one secret. */
  recordsWithSecrets: number;
  /** Records deleted (only with `delete`). */
  deleted: number;
  /** Reported records left in place (changed since the scan, or kept changing); with `delete` only. */
  kept: number;
  notes: string[];
  durationMs: number;
}

/** How one record fared when it was to be deleted. */
export type DeleteOutcome = 'deleted' | 'gone' | 'no-longer-secret' | 'kept-changing';

/**
 * Deletes a record only while it still holds a secret: compare-and-delete against the value that
 * was judged; when a concurrent write changed it, the new value is judged again (deleted if it still
 * holds a secret, kept if not), at most three times.
 *
 * @example
 * await deleteIfStillSecret(source, 'sess:abc', valueRead); // 'deleted'
 */
export async function deleteIfStillSecret(source: WritableRecordSource, key: string, judged: string): Promise<DeleteOutcome> {
  let expected = judged;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await source.deleteIfUnchanged(key, expected)) return 'deleted';
    const now = await source.get(key);
    if (now === undefined) return 'gone';
    if (findRecordSecrets(now).length === 0) return 'no-longer-secret';
    expected = now;
  }
  return 'kept-changing';
}

function ttlText(ttlMs: number | null | undefined): string {
  if (ttlMs === null) return 'it never expires';
  if (ttlMs === undefined) return 'its expiry is not known';
  const min = Math.ceil(ttlMs / 60_000);
  if (min < 60) return `it expires in ${min} min`;
  const h = Math.floor(min / 60);
  return h < 48 ? `it expires in ${h} h ${min % 60} min` : `it expires in ${Math.floor(h / 24)} days`;
}

function findingsOf(r: StoredRecord, secrets: readonly RecordSecret[], deleted: boolean): Finding[] {
  const record = maskRecordKey(r.key);
  return secrets.map((s) => ({
    ruleId: 'KW008',
    severity: 'high',
    message: `Session record \`${record}\` holds a ${s.kind} in plain text at \`${s.path}\`; ${ttlText(r.ttlMs)}${deleted ? ' (record deleted)' : ''}`,
    record,
    field: s.path,
    ttlSeconds: r.ttlMs === null ? null : r.ttlMs === undefined ? undefined : Math.ceil(r.ttlMs / 1000),
    evidence: secretHint(s.value),
  }));
}

/**
 * Reads old session records (connect-redis's `sess:*` by default) from Redis or a dump and reports
 * every one that holds a key, token or password in plain text; with `delete`, deletes exactly
 * those, each only while it still holds a secret. Reports name the record by a masked key, the
 * member, the kind of secret, its last characters and length, and the time left: never a value.
 *
 * @example
 * const result = await scanLegacySessions({ source: await RedisSource.connect({ url }), delete: false });
 */
export async function scanLegacySessions(options: LegacySessionScanOptions): Promise<LegacySessionScanResult> {
  const started = performance.now();
  const { source } = options;
  const pattern = options.pattern ?? DEFAULT_SESSION_PATTERN;
  if (options.delete && !isWritable(source)) throw new TypeError(`${source.target} is read-only (a dump): delete the records in Redis`);
  const findings: Finding[] = [];
  const notes: string[] = [];
  let recordsScanned = 0;
  let recordsWithSecrets = 0;
  let deleted = 0;
  let kept = 0;
  for await (const batch of source.batches(pattern, options.batchSize ?? DEFAULT_BATCH)) {
    for (const r of batch) {
      if (r.value === undefined) continue;
      recordsScanned++;
      const secrets = findRecordSecrets(r.value);
      if (secrets.length === 0) continue;
      recordsWithSecrets++;
      let removed = false;
      if (options.delete && isWritable(source)) {
        const outcome = await deleteIfStillSecret(source, r.key, r.value);
        removed = outcome === 'deleted';
        if (removed) deleted++;
        else if (outcome !== 'gone') {
          kept++;
          notes.push(`${maskRecordKey(r.key)} ${outcome === 'no-longer-secret' ? 'was rewritten since the scan and no longer holds a secret: kept' : 'kept changing while it was being deleted: kept; run the command again'}`);
        }
      }
      findings.push(...findingsOf(r, secrets, removed));
    }
    options.onProgress?.(recordsScanned);
  }
  notes.push(...source.notes);
  return { findings, target: source.target, pattern, recordsScanned, recordsWithSecrets, deleted, kept, notes, durationMs: performance.now() - started };
}
