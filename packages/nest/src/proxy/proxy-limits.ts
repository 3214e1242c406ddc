import type { SessionStore } from '../stores/session-store.interface.js';
import { didYouMean, isPlainObject, show, unknownKeys } from '../util/option-checks.js';

/**
 * A limit on proxied calls: at most `max` calls per `windowMs`, counted for each session or
 * for each user (over all of that user's sessions). A quota is the same with a long window
 * (10,000 per user per day). Windows are fixed: one starts at the first call after the
 * previous one ended, and a refused call answers 429 `KW_PROXY_RATE_LIMITED` with
 * `Retry-After` (seconds until the window ends), before any key is fetched or anything is
 * sent upstream. A session without a user ID counts `per: 'user'` limits per session.
 *
 * @example { per: 'session', max: 600, windowMs: 60_000 }      // 600 calls a minute per session
 * @example { per: 'user', max: 10_000, windowMs: 86_400_000 }  // a daily quota per user
 */
export interface ProxyCallLimit {
  /** Who has the allowance: each session, or each user over all their sessions. */
  per: 'session' | 'user';
  /** Calls allowed per window, a whole number from 1. */
  max: number;
  /** Length of the window in milliseconds, from 1 second to 366 days. */
  windowMs: number;
}

/** What a `@nestjs/throttler` storage answers for one hit (its `ThrottlerStorageRecord`). */
export interface ProxyLimitRecord {
  totalHits: number;
  /** Seconds until the window ends. */
  timeToExpire: number;
  isBlocked: boolean;
  /** Seconds until the block ends. */
  timeToBlockExpire: number;
}

/**
 * Where call limits may be counted instead of the session store: any object with the
 * `increment` of `@nestjs/throttler`'s `ThrottlerStorage` (its `ThrottlerStorageService`, or
 * a shared Redis-backed one), so an app that already shares the throttler's storage between
 * instances counts proxied calls there too. Keyward calls it as the throttler's guard does
 * (`ttl` and `blockDuration` = the window, in ms), once per limit, in parallel.
 *
 * @example
 * proxy: { limits: [...], limitStorage: app.get(ThrottlerStorage) } // or new ThrottlerStorageService()
 */
export interface ProxyLimitStorage {
  increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ProxyLimitRecord>;
}

/** One limit as validated, with the calls it covers. */
export interface ResolvedProxyLimit {
  per: 'session' | 'user';
  max: number;
  windowMs: number;
  /** The service whose calls it counts, or null for every service's (`proxy.limits`). */
  service: string | null;
}

/** Where a service's limits are counted, and which apply (global ones first). Empty: no limit, no cost. */
export interface ResolvedProxyLimits {
  rules: readonly ResolvedProxyLimit[];
  /** `proxy.limitStorage`, or undefined to count in the session store (`hitCounters`). */
  storage: ProxyLimitStorage | undefined;
}

const LIMIT_KEYS = ['per', 'max', 'windowMs'] as const;
const PER = ['session', 'user'] as const;
const MAX_LIMITS = 8;
const MAX_WINDOW = 366 * 86_400_000;
/** Names people bring from @nestjs/throttler and express-rate-limit, and what they are here. */
const LIMIT_HINTS: Record<string, string> = {
  ttl: 'The window is `windowMs`, in milliseconds (as @nestjs/throttler v5+ `ttl`).',
  limit: 'The number of calls is `max`.',
  window: 'The window is `windowMs`, in milliseconds.',
  by: "Who is counted is `per`: 'session' or 'user'.",
  key: "Who is counted is `per`: 'session' or 'user'.",
  scope: "Who is counted is `per`: 'session' or 'user'; a limit of one service goes in `proxy.services.<name>.limits`.",
  blockduration: 'Not supported: a refused call waits for the end of the window (Retry-After).',
};
const EXAMPLE = "[{ per: 'session', max: 600, windowMs: 60_000 }]";

/**
 * Validates a list of call limits (`proxy.limits` or `proxy.services.<name>.limits`);
 * reports every problem with its path. `service` is null for the global list.
 */
export function resolveLimitList(raw: unknown, path: string, service: string | null, problems: string[]): ResolvedProxyLimit[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${path}: expected a list of limits such as ${EXAMPLE}, got ${show(raw)}.`);
    return [];
  }
  if (raw.length > MAX_LIMITS) problems.push(`${path}: ${raw.length} limits; at most ${MAX_LIMITS} (each one is a counter on every call).`);
  const out: ResolvedProxyLimit[] = [];
  const seen = new Map<string, number>();
  raw.forEach((item: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isPlainObject(item)) {
      problems.push(`${at}: expected { per, max, windowMs } such as ${EXAMPLE.slice(1, -1)}, got ${show(item)}.`);
      return;
    }
    unknownKeys(item, LIMIT_KEYS, `${at}.`, problems, LIMIT_HINTS);
    let per: ResolvedProxyLimit['per'] | undefined;
    if ((PER as readonly unknown[]).includes(item.per)) per = item.per as ResolvedProxyLimit['per'];
    else {
      const hint = typeof item.per === 'string' ? didYouMean(item.per, PER) : undefined;
      problems.push(`${at}.per: expected 'session' or 'user', got ${show(item.per)}.${hint ? ` Did you mean '${hint}'?` : ''}`);
    }
    const max = item.max;
    const maxOk = typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= 1e9;
    if (!maxOk) problems.push(`${at}.max: expected a whole number of calls from 1 to 1,000,000,000, got ${show(max)}.`);
    const win = item.windowMs;
    const winOk = typeof win === 'number' && Number.isInteger(win) && win >= 1000 && win <= MAX_WINDOW;
    if (!winOk) {
      const seconds = typeof win === 'number' && win > 0 && win < 1000 ? ' It is in milliseconds: 60_000 is a minute.' : '';
      problems.push(`${at}.windowMs: expected a whole number of milliseconds from 1000 (a second) to ${MAX_WINDOW} (366 days), got ${show(win)}.${seconds}`);
    }
    if (!per || !maxOk || !winOk) return;
    const same = `${per}/${win}`;
    if (seen.has(same)) {
      problems.push(`${at}: the same window (${win} ms per ${per}) as ${path}[${seen.get(same)}]; keep one limit per window (the stricter).`);
      return;
    }
    seen.set(same, i);
    out.push({ per, max: max as number, windowMs: win as number, service });
  });
  return out;
}

/**
 * Checks `proxy.limitStorage` and that the limits have somewhere to be counted: the storage,
 * or a session store with `hitCounters`. `store` is undefined when it was reported already.
 */
export function resolveLimitStorage(raw: unknown, anyLimit: boolean, store: SessionStore | undefined, problems: string[]): ProxyLimitStorage | undefined {
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null || typeof (raw as ProxyLimitStorage).increment !== 'function') {
      problems.push(`proxy.limitStorage: expected a @nestjs/throttler storage (an object with increment(key, ttl, limit, blockDuration, throttlerName)), got ${show(raw)}. Leave it out to count in the session store.`);
      return undefined;
    }
    if (!anyLimit) problems.push('proxy.limitStorage: given, but no limit is configured; add proxy.limits (or a service\'s limits), or remove it.');
    return raw as ProxyLimitStorage;
  }
  if (anyLimit && store && typeof store.hitCounters !== 'function') {
    problems.push(`proxy.limits: the session store (${show(store.kind)}) cannot count calls (it has no hitCounters()). Use RedisStore, SqliteStore or MemoryStore, implement hitCounters, or give proxy.limitStorage (a @nestjs/throttler storage).`);
  }
  return undefined;
}
