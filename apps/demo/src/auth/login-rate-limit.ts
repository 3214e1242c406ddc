import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';

/** How failed logins are limited (KEYWARD_LOGIN_FAILURES_PER_USERNAME / _PER_CLIENT set the counts). */
export interface LoginLimits {
  windowMs: number;
  blockMs: number;
  /** Failures for one username (from any client) before its logins are refused. */
  perUsername: number;
  /** Failures from one client (any usernames: password spraying) before its logins are refused. */
  perClient: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 5 * 60_000, blockMs: 5 * 60_000, perUsername: 5, perClient: 20 };
/** Injection token of the demo's {@link LoginLimits}. */
export const LOGIN_LIMITS = Symbol('demo.loginLimits');

const FAILURES = 'login-failures';

/**
 * Login throttling on @nestjs/throttler's storage: failed logins, and logins refused because
 * the password hasher was full, are counted per username and per client; once either passes
 * its limit, every login attempt for that username or from that client is refused for
 * `blockMs`, with `Retry-After`. Successful logins are not counted (the throttler's guard
 * would count every attempt, so the demo calls its storage directly).
 *
 * Three things the storage alone does not give:
 * - the check must not write: a block is known from the answer of the failure that caused
 *   it, kept here until it ends, so checking an attempt costs no storage entry (counting
 *   every check grew one list per client with each request, however many were refused);
 * - the check and the count must not race: attempts for one username, and from one client,
 *   run one at a time ({@link serial}). Without that, a burst of guesses sent together all
 *   passed the check before the first failure was counted (up to the hasher's 66 in flight
 *   instead of 5);
 * - which clients are {@link clean} (nothing counted in the window): their logins take the
 *   hasher's first lane, so addresses flooding it with wrong passwords cannot keep them out.
 */
@Injectable()
export class LoginRateLimit {
  /** Key -> when its block ends (ms). An entry is dropped once read after its end. */
  private readonly blockedUntil = new Map<string, number>();
  /** Key -> the end of the last attempt queued for it. */
  private readonly tails = new Map<string, Promise<void>>();
  /**
   * Client key -> when its last counted attempt leaves the window (ms). Kept in that order
   * (re-inserted on each count; the window is the same for all), so the expired ones are
   * always at the front and are dropped as new counts come in: one entry per client counted
   * in the window, as in the throttler's storage.
   */
  private readonly countedUntil = new Map<string, number>();

  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    @Inject(LOGIN_LIMITS) private readonly limits: LoginLimits,
  ) {}

  /** Runs one login attempt after the earlier ones for this username and from this client. */
  async serial<T>(username: string, client: string, attempt: () => Promise<T>): Promise<T> {
    const releases: Array<() => void> = [];
    try {
      // Always in the same order (username, then client), so two attempts never wait on each other.
      for (const key of this.keys(username, client)) releases.push(await this.lock(key.key));
      return await attempt();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  /** Seconds until this username and client may try again (0: now). Writes nothing. */
  retryAfter(username: string, client: string): number {
    const now = Date.now();
    let wait = 0;
    for (const { key } of this.keys(username, client)) {
      const until = this.blockedUntil.get(key);
      if (until === undefined) continue;
      if (until <= now) this.blockedUntil.delete(key);
      else wait = Math.max(wait, Math.ceil((until - now) / 1000));
    }
    return wait;
  }

  /**
   * True when nothing was counted against this client (no failed login, no login refused as
   * busy) in the last `windowMs`. Writes nothing.
   */
  clean(client: string): boolean {
    const until = this.countedUntil.get(clientKey(client));
    return until === undefined || until <= Date.now();
  }

  /** Counts a failed login for the username and the client; a count past its limit starts a block. */
  async failed(username: string, client: string): Promise<void> {
    const now = Date.now();
    const counted = clientKey(client);
    this.countedUntil.delete(counted);
    this.countedUntil.set(counted, now + this.limits.windowMs);
    for (const [k, until] of this.countedUntil) {
      if (until > now) break;
      this.countedUntil.delete(k);
    }
    for (const key of this.keys(username, client)) {
      const r = await this.storage.increment(key.key, this.limits.windowMs, key.limit - 1, this.limits.blockMs, FAILURES);
      if (r.isBlocked) this.blockedUntil.set(key.key, Date.now() + Math.max(r.timeToBlockExpire, 1) * 1000);
    }
  }

  /**
   * Counts a login refused because the password hasher was full, exactly like a failure:
   * otherwise a flood from many addresses keeps the hasher full at no cost to itself.
   */
  refused(username: string, client: string): Promise<void> {
    return this.failed(username, client);
  }

  private async lock(key: string): Promise<() => void> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  private keys(username: string, client: string): Array<{ key: string; limit: number }> {
    const user = createHash('sha256').update(username.normalize('NFC').toLowerCase()).digest('base64url');
    return [
      { key: `login:user:${user}`, limit: this.limits.perUsername },
      { key: clientKey(client), limit: this.limits.perClient },
    ];
  }
}

function clientKey(client: string): string {
  return `login:client:${client}`;
}
