/** The longest wait the client will ever read from `Retry-After`: one day. */
const MAX_SECONDS = 86_400;

/**
 * Seconds to wait from a `Retry-After` value: delay-seconds (`"30"`) or an HTTP date
 * (`"Wed, 21 Oct 2026 07:28:00 GMT"`, counted from `now`). Anything else (negative, a
 * fraction, garbage, empty) gives `undefined`; a date in the past gives 0; a value above a
 * day is read as a day.
 *
 * @example
 * parseRetryAfter('5')  // 5
 * parseRetryAfter('soon') // undefined
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (/^\d{1,12}$/.test(v)) return Math.min(Number(v), MAX_SECONDS);
  // An HTTP date names a weekday and a month; Date.parse alone would accept "1" or "2026".
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return undefined;
  return Math.min(Math.max(0, Math.ceil((at - now) / 1000)), MAX_SECONDS);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function wait(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
