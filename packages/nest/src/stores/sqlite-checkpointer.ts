import { Worker } from 'node:worker_threads';

/**
 * Runs SQLite's WAL checkpoints on a thread of their own, so the app's event loop never
 * waits for them.
 *
 * In WAL mode every commit appends to the `-wal` file; a checkpoint copies those pages back
 * into the database file and syncs it. By default SQLite does that inside the commit that
 * crosses 1,000 pages, on the thread that commits: with a million sessions, whose touches
 * and deletions land on pages all over the file, one checkpoint held the event loop for
 * 20-75 ms (measured: the sweep of 100k expired sessions had its longest synchronous
 * stretch at 40-45 ms with checkpoints, 10 ms without). Here the app's connection never
 * checkpoints (`wal_autocheckpoint = 0`) and a worker thread with its own connection runs a
 * PASSIVE checkpoint every {@link CHECKPOINT_EVERY_MS}: it never blocks the app's readers
 * or writer, and it syncs the database file (and the WAL first) off the event loop.
 *
 * If the thread fails, the app's connection checkpoints by itself again (SQLite's default),
 * so the WAL never grows without bound.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private closed = false;

  /**
   * @param file the database file (never `:memory:`)
   * @param driver the resolved path of `better-sqlite3`, as the app loaded it
   * @param onFailure called once if the thread fails (the caller turns autocheckpoints back on)
   */
  constructor(file: string, driver: string, onFailure: () => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, everyMs: CHECKPOINT_EVERY_MS } });
    this.worker.unref(); // it never keeps the process alive
    let failed = false;
    const fail = (): void => {
      if (failed || this.closed) return;
      failed = true;
      onFailure();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', fail);
  }

  /** Stops the thread after a last checkpoint (bounded: the thread is ended if it takes longer). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** How often the thread checkpoints; one with nothing to copy only reads the WAL's header. */
export const CHECKPOINT_EVERY_MS = 200;
const CLOSE_TIMEOUT_MS = 2000;

// CommonJS, evaluated in the worker. Errors of one checkpoint (another process holding a
// lock) are left for the next tick; a failure to open ends the thread (the store then
// falls back to checkpointing on its own connection).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
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
