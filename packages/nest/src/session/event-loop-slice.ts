/**
 * Long maintenance work (the expiry sweep) in slices: it runs until about `budgetMs` of
 * its own time has passed, then lets the event loop turn (timers, I/O, waiting requests)
 * before it goes on. A store that answers synchronously (SQLite) would otherwise hold the
 * loop for the whole sweep.
 *
 * Slices alone do not keep a busy server's latency: under a load that keeps the loop full,
 * a sweep that takes a slice at every turn doubles the length of each turn (a 10 ms slice
 * after every ~10 ms of requests put the p99 of a 100k sweep on Redis at 1.45x). So after
 * each slice the rest of the app is owed {@link OTHERS_PER_SLICE} times the slice's time:
 * the loop keeps turning until the work done in those turns adds up to it, and the sweep
 * takes at most a fifth of a busy loop. A turn that comes back at once (nothing else was
 * waiting) pays the debt: an idle server sweeps at full speed.
 */
export class EventLoopSlice {
  private startedAt: number;
  private turning: Promise<void> | undefined;

  /**
   * @param budgetMs the slice's own time before the loop turns
   * @param now a monotonic clock in ms (tests give a clock they move)
   */
  constructor(
    private readonly budgetMs = SLICE_BUDGET_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  /** Resolves at once while the slice has time left; otherwise after the event loop has turned. */
  pause(): Promise<void> {
    if (this.now() - this.startedAt < this.budgetMs) return Promise.resolve();
    return this.yield();
  }

  /** Lets the event loop turn now (one shared wait for every caller), then starts a new slice. */
  yield(): Promise<void> {
    this.turning ??= this.giveWay().then(() => {
      this.turning = undefined;
      this.startedAt = this.now();
    });
    return this.turning;
  }

  /** Turns the loop until the others have had their share of it, or a turn finds nothing waiting. */
  private async giveWay(): Promise<void> {
    const owed = (this.now() - this.startedAt) * OTHERS_PER_SLICE;
    let given = 0;
    do {
      const before = this.now();
      await new Promise<void>((resolve) => setImmediate(resolve));
      const turn = this.now() - before;
      if (turn < IDLE_TURN_MS) return;
      given += turn;
    } while (given < owed);
  }
}

/** Milliseconds of sweep work between two turns of the event loop (a request waits at most about this long for it). */
export const SLICE_BUDGET_MS = 4;
/** After a slice, the rest of the app gets this many times its length before the next one (when it has work). */
export const OTHERS_PER_SLICE = 4;
/** A turn of the loop shorter than this found nothing (or next to nothing) waiting. */
export const IDLE_TURN_MS = 1;
