import type BetterSqlite3 from 'better-sqlite3';
import { decideHits } from './counter-window.js';
import type { CounterHit, CounterVerdict } from './session-store.interface.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kw_counters (
  grp TEXT NOT NULL, name TEXT NOT NULL, hits INTEGER NOT NULL, reset_at INTEGER NOT NULL, PRIMARY KEY (grp, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kw_counters_reset ON kw_counters (reset_at);
`;

/**
 * The SQLite store's call counters ({@link SessionStore.hitCounters}): one row per counter,
 * read and written inside one write transaction of the store (it holds the write lock, so
 * every process sharing the file sees one count). Windows that ended are deleted by the
 * sweep ({@link SqliteCounters.purge}, from `expiredKeys`) and overwritten when hit again.
 */
export class SqliteCounters {
  private readonly q;

  constructor(db: BetterSqlite3.Database) {
    db.exec(SCHEMA);
    this.q = {
      get: db.prepare<[string, string], { hits: number; reset_at: number }>(`SELECT hits, reset_at FROM kw_counters WHERE grp = ? AND name = ?`),
      put: db.prepare(
        `INSERT INTO kw_counters VALUES (?, ?, ?, ?) ON CONFLICT (grp, name) DO UPDATE SET hits = excluded.hits, reset_at = excluded.reset_at`,
      ),
      purge: db.prepare(`DELETE FROM kw_counters WHERE reset_at <= ?`),
    };
  }

  /** The all-or-nothing hit; call inside a write transaction. */
  hit(group: string, counters: readonly CounterHit[], now: number): CounterVerdict {
    const current = counters.map((c) => {
      const row = this.q.get.get(group, c.name);
      return row && { hits: row.hits, resetAt: row.reset_at };
    });
    const { verdict, next } = decideHits(current, counters, now);
    next.forEach((w, i) => this.q.put.run(group, counters[i]!.name, w.hits, w.resetAt));
    return verdict;
  }

  /** Deletes every counter whose window ended at or before `now`; call inside a write transaction. */
  purge(now: number): void {
    this.q.purge.run(now);
  }
}
