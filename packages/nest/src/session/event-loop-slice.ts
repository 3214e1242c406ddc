/**
 * Long maintenance work (the expiry sweep) in slices: it runs until about `budgetMs` of
 * its own time has passed, then lets the event loop turn (timers, I/O, waiting requests)
 * before it goes on. A store that answers synchronously (SQLite) would otherwise hold the
 * loop for the whole sweep.
 */
export class EventLoopSlice {
  private startedAt = performance.now();
  private turning: Promise<void> | undefined;

  constructor(private readonly budgetMs = SLICE_BUDGET_MS) {}

  /** Resolves at once while the slice has time left; otherwise after the event loop has turned. */
  pause(): Promise<void> {
    if (performance.now() - this.startedAt < this.budgetMs) return Promise.resolve();
    return this.yield();
  }

  /** Lets the event loop turn now (one shared turn for every caller waiting), then starts a new slice. */
  yield(): Promise<void> {
    this.turning ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.turning = undefined;
        this.startedAt = performance.now();
        resolve();
      }),
    );
    return this.turning;
  }
}

/** Milliseconds of sweep work between two turns of the event loop. */
export const SLICE_BUDGET_MS = 10;
