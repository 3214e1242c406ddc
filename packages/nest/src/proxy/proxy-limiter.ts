import { KeywardError, ProxyError, ProxyErrorCode, StoreUnavailableError } from '../keyward.errors.js';
import type { CounterHit, SessionStore, StoredSession } from '../stores/session-store.interface.js';
import type { Clock } from '../util/clock.js';
import type { ProxyLimitRecord, ProxyLimitStorage, ResolvedProxyLimit } from './proxy-limits.js';
import type { ResolvedProxyService } from './proxy-options.js';

/** The throttler name under which calls are counted in a `@nestjs/throttler` storage. */
const THROTTLER_NAME = 'keyward-proxy';

/**
 * Checks a proxied call against the limits of its service (`proxy.limits` and the
 * service's own), counting it where the options say: the session store's `hitCounters`
 * (one round trip for every limit of the call, all or nothing), or a `@nestjs/throttler`
 * storage. Refuses with 429 `KW_PROXY_RATE_LIMITED` and `Retry-After`; fails closed with
 * `KW_STORE_UNAVAILABLE` when the counter cannot answer. Knows nothing of HTTP.
 */
export class ProxyLimiter {
  constructor(
    private readonly store: SessionStore,
    private readonly clock: Clock,
  ) {}

  /** Counts one call of `session` to `svc`; throws if a limit is used up or the counter cannot answer. */
  async admit(session: StoredSession, svc: ResolvedProxyService): Promise<void> {
    const { rules, storage } = svc.limits;
    if (rules.length === 0) return;
    // A user's counters share the user's group (one Redis Cluster slot, one script); a
    // session without a user ID is its own group, and its `per: 'user'` limits count it alone.
    const group = session.userId ? `u:${session.userId}` : `s:${session.handle}`;
    // The handle, not the store key: it stays the same across ID rotations, so a rotation does not reset the count.
    const counters: CounterHit[] = rules.map((r) => ({
      name: `${r.service ?? '*'}|${r.per === 'session' ? `s|${r.windowMs}|${session.handle}` : `u|${r.windowMs}`}`,
      max: r.max,
      windowMs: r.windowMs,
    }));
    const refusal = storage ? await this.countInStorage(storage, group, counters) : await this.countInStore(group, counters);
    if (refusal) {
      const rule = rules[refusal.index]!;
      const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
      throw new ProxyError(ProxyErrorCode.RateLimited, `${describeLimit(rule, session)} is used up. Retry in ${seconds} s.`, { retryAfterSeconds: seconds });
    }
  }

  private async countInStore(group: string, counters: CounterHit[]): Promise<{ index: number; retryAfterMs: number } | null> {
    let verdict;
    try {
      verdict = await this.store.hitCounters!(group, counters, this.clock.now());
    } catch (e) {
      throw e instanceof KeywardError ? e : new StoreUnavailableError({ cause: e });
    }
    return verdict.allowed ? null : { index: verdict.refusedBy, retryAfterMs: verdict.retryAfterMs };
  }

  /**
   * One `increment` per limit, in parallel, as the throttler's guard calls it (`ttl` and
   * `blockDuration` the window). Refused when any is blocked or over its limit; an answer
   * that is not a throttler record fails closed, never open.
   */
  private async countInStorage(storage: ProxyLimitStorage, group: string, counters: CounterHit[]): Promise<{ index: number; retryAfterMs: number } | null> {
    let records: ProxyLimitRecord[];
    try {
      records = await Promise.all(counters.map((c) => storage.increment(`keyward:proxy:${group}:${c.name}`, c.windowMs, c.max, c.windowMs, THROTTLER_NAME)));
    } catch (e) {
      throw new StoreUnavailableError({ cause: e });
    }
    let refusal: { index: number; retryAfterMs: number } | null = null;
    records.forEach((r, i) => {
      if (!isRecord(r)) throw new StoreUnavailableError({ cause: new Error('limitStorage.increment() did not answer a throttler record') });
      if (!r.isBlocked && r.totalHits <= counters[i]!.max) return;
      const ms = Math.max(0, r.isBlocked ? r.timeToBlockExpire : r.timeToExpire) * 1000;
      if (!refusal || ms > refusal.retryAfterMs) refusal = { index: i, retryAfterMs: ms };
    });
    return refusal;
  }
}

function isRecord(r: unknown): r is ProxyLimitRecord {
  const o = r as Partial<ProxyLimitRecord> | null;
  return (
    typeof o === 'object' && o !== null && typeof o.isBlocked === 'boolean' &&
    [o.totalHits, o.timeToExpire, o.timeToBlockExpire].every((n) => typeof n === 'number' && Number.isFinite(n))
  );
}

/** "The limit of 600 proxied calls per minute for this session over all services", for the error message. */
function describeLimit(rule: ResolvedProxyLimit, session: StoredSession): string {
  const who = rule.per === 'user' && session.userId ? 'user' : 'session';
  const where = rule.service === null ? 'over all services' : `to "${rule.service}"`;
  return `The limit of ${rule.max} proxied call(s) per ${windowText(rule.windowMs)} for this ${who} ${where}`;
}

function windowText(ms: number): string {
  for (const [unit, size] of [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1000]] as const) {
    if (ms % size === 0) return ms === size ? unit : `${ms / size} ${unit}s`;
  }
  return `${ms} ms`;
}
