import type { CounterHit, CounterVerdict } from './session-store.interface.js';

/** A counter's current window, as the embedded stores keep it. */
export interface CounterWindow {
  hits: number;
  /** When the window ends (ms, the engine's clock). */
  resetAt: number;
}

/**
 * The all-or-nothing decision of {@link SessionStore.hitCounters} over windows already read
 * (`current[i]` for `counters[i]`, undefined when there is none): the verdict, and the
 * windows to write back when the hit is allowed. The Redis store makes the same decision
 * in its script (`redis-counters.ts`).
 */
export function decideHits(
  current: ReadonlyArray<CounterWindow | undefined>,
  counters: readonly CounterHit[],
  now: number,
): { verdict: CounterVerdict; next: CounterWindow[] } {
  const next: CounterWindow[] = [];
  let refusedBy = -1;
  let retryAfterMs = -1;
  counters.forEach((c, i) => {
    const w = current[i];
    const live = w && w.resetAt > now ? w : { hits: 0, resetAt: now + c.windowMs };
    if (live.hits >= c.max && live.resetAt - now > retryAfterMs) {
      refusedBy = i;
      retryAfterMs = live.resetAt - now;
    }
    next.push({ hits: live.hits + 1, resetAt: live.resetAt });
  });
  if (refusedBy >= 0) return { verdict: { allowed: false, refusedBy, retryAfterMs }, next: [] };
  return { verdict: { allowed: true }, next };
}
