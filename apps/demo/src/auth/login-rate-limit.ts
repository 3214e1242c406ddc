import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';

/** Failed logins allowed per window before the next attempt is refused (429). */
export const LOGIN_LIMITS = {
  windowMs: 5 * 60_000,
  blockMs: 5 * 60_000,
  /** Failures for one username (from any client). */
  perUsername: 5,
  /** Failures from one client (any usernames: password spraying). */
  perClient: 20,
} as const;

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
  constructor(@Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage) {}

  /** Seconds until this username and client may try again (0: now). Counts no failure. */
  async retryAfter(username: string, client: string): Promise<number> {
    let wait = 0;
    for (const key of this.keys(username, client)) {
      // A limit nobody reaches: the record only reports the block that failures set on the key.
      const r = await this.storage.increment(key.key, LOGIN_LIMITS.windowMs, Number.MAX_SAFE_INTEGER, LOGIN_LIMITS.blockMs, CHECK);
      if (r.isBlocked) wait = Math.max(wait, r.timeToBlockExpire, 1);
    }
    return wait;
  }

  /** Counts a failed login for the username and the client. */
  async failed(username: string, client: string): Promise<void> {
    for (const key of this.keys(username, client)) {
      // The throttler blocks once hits exceed its limit: limit - 1 blocks the attempt after the limit-th failure.
      await this.storage.increment(key.key, LOGIN_LIMITS.windowMs, key.limit - 1, LOGIN_LIMITS.blockMs, FAILURES);
    }
  }

  private keys(username: string, client: string): Array<{ key: string; limit: number }> {
    const user = createHash('sha256').update(username.normalize('NFC').toLowerCase()).digest('base64url');
    return [
      { key: `login:user:${user}`, limit: LOGIN_LIMITS.perUsername },
      { key: `login:client:${client}`, limit: LOGIN_LIMITS.perClient },
    ];
  }
}
