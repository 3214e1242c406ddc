import { Logger } from '@nestjs/common';
import { liveSecrets } from '../../redaction/live-secrets.js';
import { NO_EVENTS, type SecurityEventSink } from '../../events/security-event.js';
import { tokenRef, type StoredTokens } from './oauth-token-custody.js';

/** RFC 7009 revocation of one token; false when the server advertises no revocation endpoint. */
export type RevokeToken = (token: string, hint: 'refresh_token' | 'access_token') => Promise<boolean>;

const REVOKE_ATTEMPT_MS = 30_000;
const MAX_PENDING_REVOCATIONS = 10_000;

/**
 * Revokes a connection's refresh and access tokens at the provider, as minted keys are
 * revoked: a failed attempt is reported (`credential.revoke-failed`) and tried again after
 * each of the retry delays, in the background, until it succeeds (`credential.revoked`) or
 * the delays run out (the tokens then expire at the provider). Pending retries live in
 * this process only.
 */
export class TokenRevoker {
  private readonly logger = new Logger('Keyward');
  private readonly timers = new Set<NodeJS.Timeout>();
  private pending = 0;
  events: SecurityEventSink = NO_EVENTS;

  constructor(
    private readonly revokeToken: RevokeToken,
    private readonly retryDelays: readonly number[],
  ) {}

  /** Revocations waiting for a retry. */
  get pendingCount(): number {
    return this.pending;
  }

  /**
   * Revokes the tokens of `s`; true when both are settled (revoked, or nothing to revoke),
   * false when a retry was scheduled (or could not be). `reason` says which end it was
   * (a session end reason, `disconnect`, `replaced`), in the events.
   */
  revoke(s: StoredTokens, name: string, refs: { sessionRef?: string; userRef?: string }, reason: string): Promise<boolean> {
    return this.attempt(s, name, refs, reason, 0);
  }

  private async attempt(s: StoredTokens, name: string, refs: { sessionRef?: string; userRef?: string }, reason: string, n: number): Promise<boolean> {
    const tokens: Array<[string, 'refresh_token' | 'access_token']> = [];
    if (s.r) tokens.push([s.r, 'refresh_token']);
    tokens.push([s.a, 'access_token']);
    const results = await Promise.allSettled(tokens.map(([t, hint]) => within(Promise.resolve().then(() => this.revokeToken(t, hint)), REVOKE_ATTEMPT_MS)));
    const failed = results.some((r) => r.status === 'rejected');
    const event = { credentialName: name, keyRef: tokenRef(s.r ?? s.a), reason, ...refs };
    if (!failed) {
      if (results.some((r) => r.status === 'fulfilled' && r.value)) {
        for (const [t] of tokens) liveSecrets.forget(t);
        this.events.emit({ event: 'credential.revoked', ...event });
      }
      if (n > 0) this.pending--;
      return true;
    }
    this.events.emit({ event: 'credential.revoke-failed', ...event });
    if (n === 0 && this.pending >= MAX_PENDING_REVOCATIONS) {
      this.logger.warn(`Too many OAuth revocations waiting; the "${name}" tokens are left to expire at the provider.`);
      return false;
    }
    if (n === 0) this.pending++;
    if (n >= this.retryDelays.length) {
      this.pending--;
      this.logger.warn(`The "${name}" tokens could not be revoked after ${n + 1} attempts; they expire at the provider.`);
      return false;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(s, name, refs, reason, n + 1);
    }, this.retryDelays[n]);
    timer.unref();
    this.timers.add(timer);
    return false;
  }

  /** Stops pending retries (application shutdown). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending = 0;
  }
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
