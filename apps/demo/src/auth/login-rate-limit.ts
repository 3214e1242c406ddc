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
const CHECK = 'login-check';

/**
 * Login throttling on @nestjs/throttler's storage: failed logins are counted per username
 * and per client; once either passes its limit, every login attempt for that username or
 * from that client is refused for `blockMs`, with `Retry-After`. Successful logins are not
 * counted (the throttler's guard would count every attempt, so the demo calls its storage
 * directly).
 */
@Injectable()
export class LoginRateLimit {
  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    @Inject(LOGIN_LIMITS) private readonly limits: LoginLimits,
  ) {}

  /** Seconds until this username and client may try again (0: now). Counts no failure. */
  async retryAfter(username: string, client: string): Promise<number> {
    let wait = 0;
    for (const key of this.keys(username, client)) {
      // A limit nobody reaches: the record only reports the block that failures set on the key.
      const r = await this.storage.increment(key.key, this.limits.windowMs, Number.MAX_SAFE_INTEGER, this.limits.blockMs, CHECK);
      if (r.isBlocked) wait = Math.max(wait, r.timeToBlockExpire, 1);
    }
    return wait;
  }

  /** Counts a failed login for the username and the client. */
  async failed(username: string, client: string): Promise<void> {
    for (const key of this.keys(username, client)) {
      // The throttler blocks once hits exceed its limit: limit - 1 blocks the attempt after the limit-th failure.
      await this.storage.increment(key.key, this.limits.windowMs, key.limit - 1, this.limits.blockMs, FAILURES);
    }
  }

  private keys(username: string, client: string): Array<{ key: string; limit: number }> {
    const user = createHash('sha256').update(username.normalize('NFC').toLowerCase()).digest('base64url');
    return [
      { key: `login:user:${user}`, limit: this.limits.perUsername },
      { key: `login:client:${client}`, limit: this.limits.perClient },
    ];
  }
}
