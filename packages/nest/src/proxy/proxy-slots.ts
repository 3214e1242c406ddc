import { ProxyError, ProxyErrorCode } from '../keyward.errors.js';
import type { StoredSession } from '../stores/session-store.interface.js';
import type { ResolvedAnswerBounds, ResolvedProxyService } from './proxy-options.js';

/** What the proxy holds right now in this process (`ProxyService.stats()`). */
export interface ProxyStats {
  /** Calls holding a concurrency slot: running upstream, or their answer not yet taken by the client. */
  callsInFlight: number;
  /** Bytes of proxied answers held for their clients (read from the upstream, not yet taken by the client). */
  bufferedBytes: number;
  /** Sessions holding some of those bytes. */
  sessionsBuffering: number;
  /** Connections closed since start because the client took nothing for `proxy.writeTimeoutMs`. */
  writesTimedOut: number;
}

/** Adds `delta` to a count in a map, dropping the entry at zero. */
function bump(map: Map<string, number>, key: string, delta: number): number {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
  return n;
}

/**
 * One proxied call's hold on the proxy's shared resources: its concurrency slots (service,
 * session, user) and the bytes of its answer. Taken before the key is fetched, released
 * once, when the answer has left the process (or the call failed).
 */
export class CallLease {
  private bytes = 0;
  private released = false;

  constructor(
    private readonly slots: ProxySlots,
    readonly service: string,
    readonly sessionKey: string,
    readonly userKey: string,
  ) {}

  /**
   * Counts `n` more bytes of the answer against the session's and the process's bounds;
   * throws (holding nothing more) if either would be passed.
   */
  reserve(n: number): void {
    this.slots.reserveBytes(this, n);
    this.bytes += n;
  }

  /** Sets the answer's counted size to what is finally sent (the scrubbed body), without a check. */
  settle(n: number): void {
    this.slots.adjustBytes(this.sessionKey, n - this.bytes);
    this.bytes = n;
  }

  /** Gives everything back; later calls do nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.slots.adjustBytes(this.sessionKey, -this.bytes);
    this.bytes = 0;
    this.slots.free(this);
  }
}

/**
 * The proxy's in-process accounting: calls in flight per service, per session and per user
 * of each service, and bytes of answers held per session and in all. Knows nothing of HTTP.
 */
export class ProxySlots {
  private readonly perService = new Map<string, number>();
  /** Per service, then per session handle (it stays the same across ID rotations, so a rotation does not reset a share). */
  private readonly perSession = new Map<string, Map<string, number>>();
  /** Per service, then per user ID (or session handle for a session without one). */
  private readonly perUser = new Map<string, Map<string, number>>();
  private readonly bytesBySession = new Map<string, number>();
  private bytesTotal = 0;
  private timedOut = 0;

  constructor(private readonly bounds: ResolvedAnswerBounds) {}

  /** Takes a slot of `svc` for `session`'s call, or throws the refusal (busy service, session or user). */
  take(svc: ResolvedProxyService, session: StoredSession): CallLease {
    const busy = this.perService.get(svc.name) ?? 0;
    if (busy >= svc.maxConcurrent * 4) throw new ProxyError(ProxyErrorCode.Busy, `Too many calls in flight to "${svc.name}"; retry shortly.`, { retryAfterSeconds: 1 });
    const sessionKey = session.handle;
    const userKey = session.userId ? `u:${session.userId}` : `s:${session.handle}`;
    const bySession = this.group(this.perSession, svc.name);
    if ((bySession.get(sessionKey) ?? 0) >= svc.maxConcurrentPerSession) {
      throw new ProxyError(ProxyErrorCode.SessionBusy, `This session already has ${svc.maxConcurrentPerSession} call(s) in flight to "${svc.name}"; wait for one to finish.`, { retryAfterSeconds: 1 });
    }
    const byUser = this.group(this.perUser, svc.name);
    if ((byUser.get(userKey) ?? 0) >= svc.maxConcurrentPerUser) {
      throw new ProxyError(ProxyErrorCode.UserBusy, `This user already has ${svc.maxConcurrentPerUser} call(s) in flight to "${svc.name}" over their sessions; wait for one to finish.`, { retryAfterSeconds: 1 });
    }
    // Already at a byte bound: refused before the key is fetched or the upstream called.
    this.checkBytes(sessionKey, 0);
    this.perService.set(svc.name, busy + 1);
    bump(bySession, sessionKey, 1);
    bump(byUser, userKey, 1);
    return new CallLease(this, svc.name, sessionKey, userKey);
  }

  /** A connection closed for a stalled write (counted in {@link stats}). */
  noteWriteTimeout(): void {
    this.timedOut++;
  }

  stats(): ProxyStats {
    let calls = 0;
    for (const n of this.perService.values()) calls += n;
    return { callsInFlight: calls, bufferedBytes: this.bytesTotal, sessionsBuffering: this.bytesBySession.size, writesTimedOut: this.timedOut };
  }

  /** @internal {@link CallLease.reserve} */
  reserveBytes(lease: CallLease, n: number): void {
    this.checkBytes(lease.sessionKey, n);
    this.adjustBytes(lease.sessionKey, n);
  }

  /** @internal */
  adjustBytes(sessionKey: string, delta: number): void {
    if (delta === 0) return;
    bump(this.bytesBySession, sessionKey, delta);
    this.bytesTotal += delta;
  }

  /** @internal {@link CallLease.release} */
  free(lease: CallLease): void {
    bump(this.perService, lease.service, -1);
    const bySession = this.perSession.get(lease.service);
    if (bySession) bump(bySession, lease.sessionKey, -1);
    const byUser = this.perUser.get(lease.service);
    if (byUser) bump(byUser, lease.userKey, -1);
  }

  /** Throws if `n` more bytes would pass the session's bound or the process's (already at the bound counts as passing). */
  private checkBytes(sessionKey: string, n: number): void {
    const { maxBufferedBytesPerSession: perSession, maxBufferedBytes: total } = this.bounds;
    const mine = this.bytesBySession.get(sessionKey) ?? 0;
    if (mine + n > perSession || (n === 0 && mine >= perSession)) {
      throw new ProxyError(ProxyErrorCode.SessionBufferFull, `This session's proxied answers not yet taken by its client hold ${perSession} bytes (proxy.maxBufferedBytesPerSession); read them, or retry shortly.`, { retryAfterSeconds: 1 });
    }
    if (this.bytesTotal + n > total || (n === 0 && this.bytesTotal >= total)) {
      throw new ProxyError(ProxyErrorCode.BufferFull, `Proxied answers not yet taken by their clients hold ${total} bytes (proxy.maxBufferedBytes); retry shortly.`, { retryAfterSeconds: 1 });
    }
  }

  private group(map: Map<string, Map<string, number>>, service: string): Map<string, number> {
    let g = map.get(service);
    if (!g) map.set(service, (g = new Map()));
    return g;
  }
}
