import type BetterSqlite3 from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadOptionalPeer } from '../util/optional-peer.js';
import { peerRequire } from '../util/peer-require.cjs';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteCounters } from './sqlite-counters.js';
import type { CounterHit, CounterVerdict, PatchOptions, RotateOutcome, SessionLink, SessionStore, StoredSession, TouchPolicy, UserEntry } from './session-store.interface.js';
import { applyTouch, cloneSession, expiryOf, tombstoneOf } from './store-record.js';
import { resolveSqliteStoreOptions, type SqliteStoreOptions } from './sqlite-options.js';
import { fromRow, linkOf, toMoveRow, toRow } from './sqlite-record.js';
import { SCHEMA, prepareStatements, type SessionStatements } from './sqlite-schema.js';
import { NOT_EXPIRED, SqliteTransactions, type Durability } from './sqlite-transactions.js';

export type { SqliteStoreOptions } from './sqlite-options.js';

/**
 * The app's connection checkpoints once the WAL holds this many pages (16 MiB; SQLite's
 * default is 1,000). Most of the copying is done by then on the checkpoint thread, but
 * this checkpoint still syncs the WAL and the file on the event loop: a quarter as often as
 * by default, in exchange for a WAL of up to ~16 MiB between resets.
 */
const WAL_AUTOCHECKPOINT_PAGES = 4000;

/**
 * The embedded default: a SQLite file on local disk (better-sqlite3, WAL journal). Sessions
 * survive a restart and a crash mid-write; every write that creates, ends or rotates a
 * session is acknowledged only once it is on disk (`synchronous=FULL`), while touches and
 * the removal of already-expired records skip that wait (see {@link Durability}). For one
 * machine; several processes on that machine may share the file. Use {@link RedisStore}
 * for several machines. Page cache and memory map sizes: {@link SqliteStoreOptions}. WAL
 * checkpoints run on a thread of their own ({@link SqliteCheckpointer}).
 *
 * Where things live: tables and statements in `sqlite-schema.ts`, rows to records in
 * `sqlite-record.ts`, transactions and durability in `sqlite-transactions.ts`.
 *
 * Needs the optional peer dependency `better-sqlite3` (`npm install better-sqlite3`, a
 * native module); without it the constructor throws a `KeywardConfigError` with code
 * `KW_PEER_MISSING`.
 *
 * @example
 * new SqliteStore({ file: './.data/keyward.sqlite' })
 */
export class SqliteStore implements SessionStore {
  readonly kind = 'sqlite';
  readonly volatile: boolean;
  private readonly db: BetterSqlite3.Database;
  private readonly q: SessionStatements;
  private readonly tx: SqliteTransactions;
  /** Checkpoints the WAL on a thread of its own (a file on disk only). */
  private readonly checkpointer: SqliteCheckpointer | undefined;
  private readonly counters: SqliteCounters;

  constructor(options: SqliteStoreOptions) {
    const o = resolveSqliteStoreOptions(options);
    const Database = loadOptionalPeer<typeof BetterSqlite3>('better-sqlite3', 'SqliteStore');
    this.volatile = o.file === ':memory:';
    if (!this.volatile) mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
    this.db = new Database(o.file);
    if (!this.volatile) chmodSync(o.file, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    // Negative: a size in KiB rather than in pages.
    this.db.pragma(`cache_size = ${-Math.floor(o.cacheSizeBytes / 1024)}`);
    this.db.pragma(`mmap_size = ${o.mmapSizeBytes}`);
    this.db.exec(SCHEMA);
    this.counters = new SqliteCounters(this.db);
    if (!this.volatile) {
      // The copying and the syncing of checkpoints leave the event loop (see
      // SqliteCheckpointer); this connection keeps SQLite's own autocheckpoint, which then
      // finds little left to copy, and which lets the WAL start over (bounded).
      this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      this.checkpointer = new SqliteCheckpointer(o.file, peerRequire.resolve('better-sqlite3'));
    }
    this.tx = new SqliteTransactions(this.db);
    this.q = prepareStatements(this.db);
  }

  async create(s: StoredSession): Promise<void> {
    this.write(() => {
      this.q.insert.run(toRow(s));
      for (const [name, value] of Object.entries(s.data)) this.q.setData.run(s.key, name, value);
    });
  }

  async load(key: string, touch: TouchPolicy): Promise<StoredSession | null> {
    // Steady state is one read-only statement; only a due touch takes the write lock (and
    // re-reads under it), so readers never block and never have to upgrade a read lock.
    const seen = this.run(() => this.readJoined(key) ?? this.tombstone(key, touch.now));
    if (!seen || seen.movedTo || !applyTouch(cloneSession(seen), touch)) return seen;
    return this.write(() => {
      // Another process may have rotated it since the read: its tombstone answers then.
      const s = this.read(key);
      if (!s) return this.tombstone(key, touch.now);
      if (applyTouch(s, touch)) this.q.touch.run(s.lastSeenAt, s.idleExpiresAt, s.version, key);
      return s;
    }, 'normal');
  }

  async patch(key: string, set: Readonly<Record<string, string>>, unset: readonly string[], options?: PatchOptions): Promise<boolean> {
    return this.write(() => {
      // A record that moved to a new ID takes its writes at the successor (in-flight requests), unless told not to.
      for (let i = 0; i < 8 && this.q.bump.run(key).changes === 0; i++) {
        const next = options?.followMoved === false ? undefined : this.q.move.get(key)?.successor;
        if (next === undefined) return false;
        key = next;
      }
      for (const name of unset) this.q.delData.run(key, name);
      for (const [name, value] of Object.entries(set)) this.q.setData.run(key, name, value);
      return true;
    });
  }

  async setIfAbsent(key: string, name: string, value: string): Promise<string | null> {
    return this.write(() => {
      if (!this.q.get.get(key)) return null;
      if (this.q.insertDataIfAbsent.run(key, name, value).changes > 0) this.q.bump.run(key);
      return this.q.dataValue.get(key, name)!.value;
    });
  }

  async take(key: string): Promise<StoredSession | null> {
    return this.write(() => this.takeOne(key));
  }

  /**
   * Several takes in one write transaction. The sweeper's batches hold only records that
   * expired, and those are deleted without waiting for the disk ({@link Durability}), as are
   * rotated-out IDs' tombstones (the end of a session takes its own: one brought back by a
   * power loss leads to a successor that is gone, so it opens nothing). If the transaction
   * meets a live record, it rolls back and runs again with a full sync. "Expired" is judged by this machine's
   * clock: an engine whose clock runs ahead (tests) just gets the full sync.
   */
  async takeMany(keys: readonly string[]): Promise<Array<StoredSession | null>> {
    const wallNow = Date.now();
    try {
      return this.write(
        () =>
          keys.map((key) => {
            const s = this.takeOne(key);
            if (s && !s.movedTo && expiryOf(s) > wallNow) throw NOT_EXPIRED;
            return s;
          }),
        'normal',
      );
    } catch (e) {
      if (e !== NOT_EXPIRED) throw e;
      return this.write(() => keys.map((key) => this.takeOne(key)));
    }
  }

  async rotate(from: { key: string; version: number }, successor: StoredSession, link: SessionLink): Promise<RotateOutcome> {
    // One transaction under the write lock: every process sharing the file sees one successor.
    return this.write((): RotateOutcome => {
      const moved = this.q.move.get(from.key);
      if (moved) return { state: 'moved', link: linkOf(moved) };
      const s = this.read(from.key);
      if (!s) return { state: 'gone' };
      if (s.version !== from.version) return { state: 'stale' };
      this.q.insert.run(toRow(successor));
      for (const [name, value] of Object.entries(successor.data)) this.q.setData.run(successor.key, name, value);
      this.q.del.run(from.key);
      this.q.delAllData.run(from.key);
      this.q.insertMove.run(toMoveRow(tombstoneOf(s, link), link));
      return { state: 'rotated' };
    });
  }

  /**
   * Every tombstone the session left, in one statement on the handle's index (`kw_session_moves_handle`).
   * Not synced to disk ({@link Durability}): one brought back by a power loss leads to a successor that is gone.
   */
  async dropTombstonesOf(handle: string): Promise<number> {
    return this.write(() => this.q.delMovesOf.run(handle).changes, 'normal');
  }

  async trimUser(userId: string, max: number, keep: string, now: number): Promise<StoredSession[]> {
    return this.write(() => {
      const rows = this.q.userByAge.all(userId, now);
      const excess = rows.length - max;
      if (excess <= 0) return [];
      const out: StoredSession[] = [];
      for (const row of rows) {
        if (out.length >= excess) break;
        if (row.key === keep) continue;
        out.push({ ...fromRow(row), data: this.dataOf(row.key) });
        this.q.del.run(row.key);
        this.q.delAllData.run(row.key);
      }
      return out;
    });
  }

  async listByUser(userId: string): Promise<StoredSession[]> {
    return this.readOnly(() => this.q.byUser.all(userId).map((row) => ({ ...fromRow(row), data: this.dataOf(row.key) })));
  }

  async expiredKeys(now: number, limit: number): Promise<string[]> {
    // Tombstones of rotated-out IDs are kept to the session's deadline (by the engine's
    // clock), then dropped here; they had expired, so without waiting for the disk.
    // Ended windows of call counters go in the same transaction.
    this.write(() => {
      this.q.purgeMoves.run(now);
      this.counters.purge(now);
    }, 'normal');
    return this.run(() => this.q.expired.all(now, limit).map((r) => r.key));
  }

  async getUserEntries(userId: string): Promise<Record<string, UserEntry>> {
    return this.run(() =>
      Object.fromEntries(this.q.userEntries.all(userId).map((r) => [r.name, { value: r.value, updatedAt: r.updated_at }])),
    );
  }

  async setUserEntry(userId: string, name: string, entry: UserEntry): Promise<void> {
    this.write(() => this.q.setUserEntry.run(userId, name, entry.value, entry.updatedAt));
  }

  async setUserEntryIfAbsent(userId: string, name: string, entry: UserEntry): Promise<UserEntry> {
    return this.write(() => {
      this.q.insertUserEntryIfAbsent.run(userId, name, entry.value, entry.updatedAt);
      const row = this.q.userEntry.get(userId, name)!;
      return { value: row.value, updatedAt: row.updated_at };
    });
  }

  async *scanSessionKeys(): AsyncIterable<string[]> {
    yield this.run(() => this.q.allKeys.all().map((r) => r.key));
  }

  async *scanUserIds(): AsyncIterable<string[]> {
    yield this.run(() => this.q.allUsers.all().map((r) => r.user_id));
  }

  async deleteUserEntry(userId: string, name: string): Promise<boolean> {
    return this.write(() => this.q.delUserEntry.run(userId, name).changes > 0);
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    // A lease only keeps two instances from doing the same work at once (each step of that
    // work is safe to repeat): losing one to a power loss is harmless, so no fsync.
    return this.write(() => {
      this.q.purgeLeases.run(now); // expired leases of ended sessions never pile up
      return this.q.lease.run({ name, owner, until: now + ttlMs, now }).changes > 0;
    }, 'normal');
  }

  async releaseLease(name: string): Promise<void> {
    this.write(() => this.q.delLease.run(name), 'normal');
  }

  /**
   * One write transaction; not synced to disk ({@link Durability} `normal`): a count lost to
   * a power loss only gives a subject a fresh window, which no attacker can cause at will.
   */
  async hitCounters(group: string, counters: readonly CounterHit[], now: number): Promise<CounterVerdict> {
    return this.write(() => this.counters.hit(group, counters, now), 'normal');
  }

  async ping(): Promise<void> {
    this.tx.ping();
  }

  async close(): Promise<void> {
    // The checkpoint thread first: the app's connection, closing last, checkpoints what is left.
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }

  /**
   * Removes a record (or a tombstone, however old: ending it is all that is left to do)
   * and returns it; call inside a write transaction.
   */
  private takeOne(key: string): StoredSession | null {
    const s = this.read(key);
    if (!s) {
      const t = this.tombstone(key, Number.NEGATIVE_INFINITY);
      if (t) this.q.delMove.run(key);
      return t;
    }
    this.q.del.run(key);
    this.q.delAllData.run(key);
    return s;
  }

  private read(key: string): StoredSession | null {
    const row = this.q.get.get(key);
    return row ? { ...fromRow(row), data: this.dataOf(key) } : null;
  }

  /** The record and its data from one statement (see `getWithData`). */
  private readJoined(key: string): StoredSession | null {
    const rows = this.q.getWithData.all(key);
    if (rows.length === 0) return null;
    // fromEntries defines own properties: a field named `__proto__` stays a field.
    const data = Object.fromEntries(rows.filter((r) => r.name !== null).map((r) => [r.name!, r.value!]));
    return { ...fromRow(rows[0]!), data };
  }

  /** A rotated-out ID's tombstone, while it is kept (until `keep_until`, judged at `now`: the engine's clock). */
  private tombstone(key: string, now: number): StoredSession | null {
    const m = this.q.move.get(key);
    if (!m || m.keep_until <= now) return null;
    return { ...fromRow(m), data: {}, movedTo: linkOf(m) };
  }

  private dataOf(key: string): Record<string, string> {
    return Object.fromEntries(this.q.data.all(key).map((r) => [r.name, r.value]));
  }

  private write<T>(op: () => T, durability?: Durability): T {
    return this.tx.write(op, durability);
  }

  private readOnly<T>(op: () => T): T {
    return this.tx.readOnly(op);
  }

  private run<T>(op: () => T): T {
    return this.tx.run(op);
  }
}
