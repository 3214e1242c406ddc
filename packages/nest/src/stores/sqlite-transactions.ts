import type BetterSqlite3 from 'better-sqlite3';
import { StoreUnavailableError } from '../keyward.errors.js';

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
 *   refuses them and the sweeper ends them again), deleting an ended session's tombstones
 *   (lost, they lead to a successor that is gone, so they open nothing), and leases (lost,
 *   two instances may both sweep for a while, and every step of a sweep is safe to repeat).
 *   It spares the fsync that made every touch and every sweep batch wait for the disk while
 *   holding the event loop.
 */
export type Durability = 'full' | 'normal';

/** Thrown inside a `normal` transaction that met something it may not delete that way; it rolls back and is redone `full`. */
export const NOT_EXPIRED = Symbol('not expired');

/**
 * Transactions on the store's one connection: statements prepared once (`db.transaction()`
 * would wrap a new function per call), durability set per transaction, and every failure
 * (including a closed database) turned into {@link StoreUnavailableError}.
 */
export class SqliteTransactions {
  private readonly tx;
  private durability: Durability = 'full';

  constructor(private readonly db: BetterSqlite3.Database) {
    this.tx = {
      begin: db.prepare('BEGIN'),
      beginImmediate: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      ping: db.prepare('SELECT 1'),
    };
  }

  /**
   * A write transaction that takes the write lock up front (BEGIN IMMEDIATE), so that
   * `busy_timeout` applies when another process holds it. A deferred transaction that
   * reads first and then writes fails at once with "database is locked" instead.
   * `durability` is set before it begins (SQLite refuses to change it inside one). Every
   * write goes through here: a bare statement would commit at whichever level the last
   * transaction left.
   */
  write<T>(op: () => T, durability: Durability = 'full'): T {
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
  readOnly<T>(op: () => T): T {
    return this.run(() => this.inTransaction(this.tx.begin, op));
  }

  ping(): void {
    this.run(() => this.tx.ping.get());
  }

  /** Every failure (including a closed database) becomes StoreUnavailableError. */
  run<T>(op: () => T): T {
    try {
      return op();
    } catch (cause) {
      if (cause === NOT_EXPIRED) throw cause;
      throw new StoreUnavailableError({ cause: new Error(cause instanceof Error ? `${cause.name}: ${cause.message.split('\n')[0]}` : 'unknown') });
    }
  }

  /** BEGIN, op, COMMIT; ROLLBACK if op throws. */
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
}
