import type BetterSqlite3 from 'better-sqlite3';

/** A session's row (`kw_sessions`). */
export interface SessionRow {
  key: string;
  handle: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  version: number;
}

/** A rotated-out ID's tombstone (`kw_session_moves`): the session's facts and the link to its successor. */
export interface MoveRow extends SessionRow {
  successor: string;
  sealed_id: string;
  rotated_at: number;
  grace_until: number;
  keep_until: number;
}

/** A session's row joined with one of its data fields (none: `name` and `value` null). */
export interface SessionWithDataRow extends SessionRow {
  name: string | null;
  value: string | null;
}

/**
 * The tables, created if missing (an existing file gains new indexes when it is opened).
 * Tombstones are indexed by the session's handle, so a session's end removes every one it
 * left (`kw_session_moves_handle`).
 */
export const SCHEMA = `
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
CREATE INDEX IF NOT EXISTS kw_session_moves_handle ON kw_session_moves (handle);
CREATE TABLE IF NOT EXISTS kw_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID;
`;

type Stmt<P extends unknown[] = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/** Every statement of the session store, prepared once ({@link prepareStatements}). */
export interface SessionStatements {
  insert: Stmt;
  get: Stmt<[string], SessionRow>;
  data: Stmt<[string], { name: string; value: string }>;
  getWithData: Stmt<[string], SessionWithDataRow>;
  touch: Stmt;
  bump: Stmt;
  setData: Stmt;
  delData: Stmt;
  delAllData: Stmt;
  del: Stmt;
  byUser: Stmt<[string], SessionRow>;
  expired: Stmt<[number, number], { key: string }>;
  userEntries: Stmt<[string], { name: string; value: string; updated_at: number }>;
  setUserEntry: Stmt;
  insertDataIfAbsent: Stmt;
  dataValue: Stmt<[string, string], { value: string }>;
  insertUserEntryIfAbsent: Stmt;
  userEntry: Stmt<[string, string], { value: string; updated_at: number }>;
  allKeys: Stmt<[], { key: string }>;
  allUsers: Stmt<[], { user_id: string }>;
  delUserEntry: Stmt;
  delLease: Stmt;
  purgeLeases: Stmt;
  move: Stmt<[string], MoveRow>;
  insertMove: Stmt;
  delMove: Stmt;
  delMovesOf: Stmt;
  purgeMoves: Stmt;
  userByAge: Stmt<[string, number], SessionRow>;
  lease: Stmt;
}

/** Prepares every statement of the session store, once per connection. */
export function prepareStatements(db: BetterSqlite3.Database): SessionStatements {
  return {
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
    delMovesOf: db.prepare(`DELETE FROM kw_session_moves WHERE handle = ?`),
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
