import type BetterSqlite3 from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreUnavailableError } from '../keyward.errors.js';
import { loadOptionalPeer } from '../util/optional-peer.js';
import { peerRequire } from '../util/peer-require.cjs';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteCounters } from './sqlite-counters.js';
import type { CounterHit, CounterVerdict, PatchOptions, RotateOutcome, SessionLink, SessionStore, StoredSession, TouchPolicy, UserEntry } from './session-store.interface.js';
import { applyTouch, cloneSession, expiryOf, tombstoneOf } from './store-record.js';
import { resolveSqliteStoreOptions, type SqliteStoreOptions } from './sqlite-options.js';

export type { SqliteStoreOptions } from './sqlite-options.js';

/**
 * How hard a commit holds on to its writes (`PRAGMA synchronous`, set per transaction).
 *
 * - `full`: the WAL is synced to disk before the commit returns, so the commit survives a
 *   power loss. Every commit that creates, ends or rotates a session (login, logout,
 *   revoke, reuse detected, the per-user cap, a change of user), every data write and
 *   every user entry (bring-your-own keys).
 * - `normal`: the commit is atomic and survives a crash of the process, but a power loss
 *   may undo it until the next `full` commit or checkpoint syncs the WAL (the WAL is one
 *   log, so that sync makes every earlier commit durable too, in order). Used only where
 *   losing the commit is harmless: a touch (the idle deadline moved later: lost, the
 *   session expires a little earlier than it would have, which fails safe), deleting
 *   records that had already expired (lost, they come back still expired, the engine still
 *   refuses them and the sweeper ends them again), and leases (lost, two instances may both
 *   sweep for a while, and every step of a sweep is safe to repeat). It spares the fsync that made every
 *   touch and every sweep batch wait for the disk while holding the event loop.
 */
type Durability = 'full' | 'normal';

/**
 * The app's connection checkpoints once the WAL holds this many pages (16 MiB; SQLite's
 * default is 1,000). Most of the copying is done by then on the checkpoint thread, but
 * this checkpoint still syncs the WAL and the file on the event loop: a quarter as often as
 * by default, in exchange for a WAL of up to ~16 MiB between resets.
 */
const WAL_AUTOCHECKPOINT_PAGES = 4000;

/** Thrown inside a `normal` transaction that met something it may not delete that way; it rolls back and is redone `full`. */
const NOT_EXPIRED = Symbol('not expired');

interface MoveRow extends SessionRow {
  successor: string;
  sealed_id: string;
  rotated_at: number;
  grace_until: number;
  keep_until: number;
}

interface SessionWithDataRow extends SessionRow {
  name: string | null;
  value: string | null;
}

interface SessionRow {
  key: string;
  handle: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  version: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kw_sessions (
  key TEXT PRIMARY KEY, handle TEXT NOT NULL, user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL, absolute_expires_at INTEGER NOT NULL, version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kw_sessions_user ON kw_sessions (user_id);
CREATE INDEX IF NOT EXISTS kw_sessions_expiry ON kw_sessions (min(idle_expires_at, absolute_expires_at));
CREATE TABLE IF NOT EXISTS kw_session_data (
  key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kw_user_entries (
  user_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kw_session_moves (
  key TEXT PRIMARY KEY, successor TEXT NOT NULL, sealed_id TEXT NOT NULL, rotated_at INTEGER NOT NULL,
  grace_until INTEGER NOT NULL, keep_until INTEGER NOT NULL,
  handle TEXT NOT NULL, user_id TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL, absolute_expires_at INTEGER NOT NULL, version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kw_session_moves_keep ON kw_session_moves (keep_until);
CREATE TABLE IF NOT EXISTS kw_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID;
`;

/**
 * The embedded default: a SQLite file on local disk (better-sqlite3, WAL journal). Sessions
 * survive a restart and a crash mid-write; every write that creates, ends or rotates a
 * session is acknowledged only once it is on disk (`synchronous=FULL`), while touches and
 * the removal of already-expired records skip that wait (see {@link Durability}). For one
 * machine; several processes on that machine may share the file. Use {@link RedisStore}
 * for several machines. Page cache and memory map sizes: {@link SqliteStoreOptions}. WAL
 * checkpoints run on a thread of their own ({@link SqliteCheckpointer}).
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
  private readonly q;
  /** Transaction control, prepared once (`db.transaction()` would wrap a new function per call). */
  private readonly tx;
  private durability: Durability = 'full';
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
    const db = this.db;
    this.tx = {
      begin: db.prepare('BEGIN'),
      beginImmediate: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      ping: db.prepare('SELECT 1'),
    };
    this.q = {
      insert: db.prepare(`INSERT INTO kw_sessions VALUES (@key, @handle, @user_id, @created_at, @last_seen_at, @idle_expires_at, @absolute_expires_at, @version)`),
      get: db.prepare<[string], SessionRow>(`SELECT * FROM kw_sessions WHERE key = ?`),
      data: db.prepare<[string], { name: string; value: string }>(`SELECT name, value FROM kw_session_data WHERE key = ?`),
      // The record and its data in one statement: one implicit read transaction, so a
      // consistent snapshot without BEGIN/COMMIT (the steady state of every request).
      getWithData: db.prepare<[string], SessionWithDataRow>(
        `SELECT s.*, d.name AS name, d.value AS value FROM kw_sessions s LEFT JOIN kw_session_data d ON d.key = s.key WHERE s.key = ?`,
      ),
      touch: db.prepare(`UPDATE kw_sessions SET last_seen_at = ?, idle_expires_at = ?, version = ? WHERE key = ?`),
      bump: db.prepare(`UPDATE kw_sessions SET version = version + 1 WHERE key = ?`),
      setData: db.prepare(`INSERT INTO kw_session_data (key, name, value) VALUES (?, ?, ?) ON CONFLICT (key, name) DO UPDATE SET value = excluded.value`),
      delData: db.prepare(`DELETE FROM kw_session_data WHERE key = ? AND name = ?`),
      delAllData: db.prepare(`DELETE FROM kw_session_data WHERE key = ?`),
      del: db.prepare(`DELETE FROM kw_sessions WHERE key = ?`),
      byUser: db.prepare<[string], SessionRow>(`SELECT * FROM kw_sessions WHERE user_id = ?`),
      expired: db.prepare<[number, number], { key: string }>(
        `SELECT key FROM kw_sessions WHERE min(idle_expires_at, absolute_expires_at) <= ? ORDER BY min(idle_expires_at, absolute_expires_at) LIMIT ?`,
      ),
      userEntries: db.prepare<[string], { name: string; value: string; updated_at: number }>(
        `SELECT name, value, updated_at FROM kw_user_entries WHERE user_id = ?`,
      ),
      setUserEntry: db.prepare(
        `INSERT INTO kw_user_entries VALUES (?, ?, ?, ?) ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      insertDataIfAbsent: db.prepare(`INSERT OR IGNORE INTO kw_session_data (key, name, value) VALUES (?, ?, ?)`),
      dataValue: db.prepare<[string, string], { value: string }>(`SELECT value FROM kw_session_data WHERE key = ? AND name = ?`),
      insertUserEntryIfAbsent: db.prepare(`INSERT OR IGNORE INTO kw_user_entries VALUES (?, ?, ?, ?)`),
      userEntry: db.prepare<[string, string], { value: string; updated_at: number }>(`SELECT value, updated_at FROM kw_user_entries WHERE user_id = ? AND name = ?`),
      allKeys: db.prepare<[], { key: string }>(`SELECT key FROM kw_sessions`),
      allUsers: db.prepare<[], { user_id: string }>(`SELECT DISTINCT user_id FROM kw_user_entries`),
      delUserEntry: db.prepare(`DELETE FROM kw_user_entries WHERE user_id = ? AND name = ?`),
      delLease: db.prepare(`DELETE FROM kw_leases WHERE name = ?`),
      purgeLeases: db.prepare(`DELETE FROM kw_leases WHERE until <= ?`),
      move: db.prepare<[string], MoveRow>(`SELECT * FROM kw_session_moves WHERE key = ?`),
      insertMove: db.prepare(
        `INSERT INTO kw_session_moves VALUES (@key, @successor, @sealed_id, @rotated_at, @grace_until, @keep_until, @handle, @user_id, @created_at, @last_seen_at, @idle_expires_at, @absolute_expires_at, @version)`,
      ),
      delMove: db.prepare(`DELETE FROM kw_session_moves WHERE key = ?`),
      purgeMoves: db.prepare(`DELETE FROM kw_session_moves WHERE keep_until <= ?`),
      userByAge: db.prepare<[string, number], SessionRow>(
        `SELECT * FROM kw_sessions WHERE user_id = ? ORDER BY (min(idle_expires_at, absolute_expires_at) <= ?) DESC, created_at ASC`,
      ),
      lease: db.prepare(
        `INSERT INTO kw_leases VALUES (@name, @owner, @until) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
         WHERE kw_leases.owner = excluded.owner OR kw_leases.until <= @now`,
      ),
    };
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
      const t = tombstoneOf(s, link);
      this.q.insertMove.run({ ...toRow(t), successor: link.key, sealed_id: link.sealedId, rotated_at: link.rotatedAt, grace_until: link.graceUntil, keep_until: link.keepUntil });
      return { state: 'rotated' };
    });
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
    this.run(() => this.tx.ping.get());
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

  /**
   * A write transaction that takes the write lock up front (BEGIN IMMEDIATE), so that
   * `busy_timeout` applies when another process holds it. A deferred transaction that
   * reads first and then writes fails at once with "database is locked" instead.
   * `durability` is set before it begins (SQLite refuses to change it inside one). Every
   * write goes through here: a bare statement would commit at whichever level the last
   * transaction left.
   */
  private write<T>(op: () => T, durability: Durability = 'full'): T {
    return this.run(() => {
      if (this.durability !== durability) {
        // Not a prepared statement: SQLite applies this pragma when it compiles it, so a
        // prepared one would take effect once, at prepare time, and never again.
        this.db.exec(durability === 'full' ? 'PRAGMA synchronous = FULL' : 'PRAGMA synchronous = NORMAL');
        this.durability = durability;
      }
      return this.inTransaction(this.tx.beginImmediate, op);
    });
  }

  /** A consistent read-only snapshot across several statements. */
  private readOnly<T>(op: () => T): T {
    return this.run(() => this.inTransaction(this.tx.begin, op));
  }

  /** BEGIN, op, COMMIT; ROLLBACK if op throws (statements prepared once, unlike `db.transaction`). */
  private inTransaction<T>(begin: BetterSqlite3.Statement, op: () => T): T {
    begin.run();
    try {
      const out = op();
      this.tx.commit.run();
      return out;
    } catch (e) {
      if (this.db.inTransaction) this.tx.rollback.run();
      throw e;
    }
  }

  /** Every failure (including a closed database) becomes StoreUnavailableError. */
  private run<T>(op: () => T): T {
    try {
      return op();
    } catch (cause) {
      if (cause === NOT_EXPIRED) throw cause;
      throw new StoreUnavailableError({ cause: new Error(cause instanceof Error ? `${cause.name}: ${cause.message.split('\n')[0]}` : 'unknown') });
    }
  }
}

function toRow(s: StoredSession): SessionRow {
  return {
    key: s.key,
    handle: s.handle,
    user_id: s.userId,
    created_at: s.createdAt,
    last_seen_at: s.lastSeenAt,
    idle_expires_at: s.idleExpiresAt,
    absolute_expires_at: s.absoluteExpiresAt,
    version: s.version,
  };
}

function linkOf(m: MoveRow): SessionLink {
  return { key: m.successor, sealedId: m.sealed_id, rotatedAt: m.rotated_at, graceUntil: m.grace_until, keepUntil: m.keep_until };
}

function fromRow(r: SessionRow): Omit<StoredSession, 'data'> {
  return {
    key: r.key,
    handle: r.handle,
    userId: r.user_id,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    idleExpiresAt: r.idle_expires_at,
    absoluteExpiresAt: r.absolute_expires_at,
    version: r.version,
  };
}
