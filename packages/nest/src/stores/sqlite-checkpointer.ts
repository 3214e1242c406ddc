import { Worker } from 'node:worker_threads';

/**
 * Does the work of SQLite's WAL checkpoints on a thread of its own, so the app's event loop
 * waits for little of it.
 *
 * In WAL mode every commit appends to the `-wal` file; a checkpoint copies those pages back
 * into the database file and syncs it. SQLite does that inside the commit that finds 1,000
 * pages in the WAL, on the thread that commits: with a million sessions, whose touches and
 * deletions land on pages all over the file, one checkpoint held the event loop for 20-75 ms
 * (the sweep of 100k expired sessions had its longest synchronous stretch at 40-45 ms with
 * them, 10 ms without). Here a worker thread with its own connection runs a PASSIVE
 * checkpoint every {@link CHECKPOINT_EVERY_MS}: it never blocks the app's readers or its
 * writer, and it copies and syncs off the event loop. The app's connection keeps its own
 * autocheckpoint (at 4,000 pages), which then finds only the last few pages to copy; it is
 * still needed:
 * the WAL starts over from its beginning only when a writer finds every page copied, which
 * under a steady stream of commits happens only right after a checkpoint in the writer's
 * own commit (with the thread alone, the WAL of a 100k sweep grew to 590 MiB).
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private closed = false;
  /** Resolves when the thread has ended, for whatever reason. */
  private readonly exited: Promise<void>;

  /**
   * @param file the database file (never `:memory:`)
   * @param driver the resolved path of `better-sqlite3`, as the app loaded it
   */
  constructor(file: string, driver: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, everyMs: CHECKPOINT_EVERY_MS } });
    this.worker.unref(); // it never keeps the process alive
    // If the thread fails, the app's own autocheckpoint does all the work again, as in SQLite's default.
    this.worker.on('error', () => {});
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Stops the thread after a last checkpoint (bounded: the thread is ended if it takes longer). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.postMessage('close'); // a no-op if the thread already ended
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** How often the thread checkpoints; one with nothing to copy only reads the WAL's header. */
export const CHECKPOINT_EVERY_MS = 25;
const CLOSE_TIMEOUT_MS = 2000;

// CommonJS, evaluated in the worker. Errors of one checkpoint (another process holding a
// lock) are left for the next tick; a failure to open ends the thread (the app's
// connection then checkpoints everything itself, as by default).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// fileMustExist: the thread starts a moment after the store; if the file is gone by then
// (a test's temporary folder removed), it ends rather than creating an empty database.
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 50');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {}
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;
