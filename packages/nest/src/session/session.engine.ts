import { KeywardErrorCode, NotFoundError, StoreNotDurableError, StoreUnavailableError } from '../keyward.errors.js';
import { NO_EVENTS, sessionRef, userRef, type SecurityEventSink, type SessionEndedReason } from '../events/security-event.js';
import { absoluteLifetime, type ResolvedSessionOptions } from './session-options.js';
import type { SessionStore, StoredSession, TouchPolicy } from '../stores/session-store.interface.js';
import { expiryOf } from '../stores/store-record.js';
import { SecretRing, generateSessionId, handleOf, storeKeyOf } from './session-id.js';
import type { SessionEndReason, SessionInfo, SessionLifecycleListener, SessionUser } from './session.types.js';
import { ID_ISSUED_FIELD, IdRotation, UNUSED_FIELD, idIssuedAt, liveEndOf, previousKeysOf } from './id-rotation.js';
import { trimToCap } from './session-cap.js';
import { EventLoopSlice } from './event-loop-slice.js';
import { checkFieldName, checkUser, userOf, USER_FIELD } from './session-fields.js';
import type { IssuedSession, ResolveResult } from './session-outcomes.js';
import { StoreClock } from './store-clock.js';
import { VerifiedCookies } from './verified-cookies.js';


/** Expired sessions the sweeper reads per batch. */
export const SWEEP_BATCH = 100;
/** Expired sessions the sweeper ends at once (and takes from the store in one call). */
export const SWEEP_CONCURRENCY = 25;

/**
 * The session engine: IDs, signatures, expiry and lifecycle over a {@link SessionStore}.
 * Knows nothing of HTTP; the Nest edge turns its results into cookies and statuses.
 */
export class SessionEngine {
  private readonly ring: SecretRing;
  private readonly listeners: SessionLifecycleListener[] = [];
  /** Cookie values already verified, so a returning client costs no HMAC. */
  private readonly cookies: VerifiedCookies;
  /** This instance's clock, moved forward when the store shows it lags. */
  private readonly clock: StoreClock;
  private readonly rotation: IdRotation;
  /** True while the store is failing (one `store.unavailable` event per outage). */
  private storeDown = false;

  constructor(
    readonly options: ResolvedSessionOptions,
    readonly events: SecurityEventSink = NO_EVENTS,
  ) {
    this.ring = new SecretRing(options.secrets);
    this.cookies = new VerifiedCookies(this.ring);
    this.clock = new StoreClock(options.clock, options.store);
    this.rotation = new IdRotation({
      options,
      store: options.store,
      events,
      sign: (id) => this.ring.sign(id),
      moveData: (data, from, to) => this.moveData(data, from, to),
      touchPolicy: (now) => this.touchPolicy(now),
      end: (key, reason) => this.end(key, reason),
    });
  }

  get store(): SessionStore {
    return this.options.store;
  }

  /** The time by which this instance judges sessions (see {@link StoreClock}). */
  now(): number {
    return this.clock.now();
  }

  /** Registers something to run when sessions end (the vault, key minting). */
  addListener(listener: SessionLifecycleListener): void {
    this.listeners.push(listener);
  }

  /**
   * Reads a cookie value: one store round trip, expiry checked server-side. With
   * `slide: false` the session is only looked at: its idle deadline does not move and its ID
   * does not rotate (a page polling its time left must not keep itself signed in).
   */
  async resolve(cookieValue: string, options?: { slide?: boolean }): Promise<ResolveResult> {
    const slide = options?.slide !== false;
    const verified = this.cookies.verify(cookieValue);
    if (!verified) return { state: 'invalid' };
    const key = verified.key;
    const asking = this.clock.sync();
    if (asking) await asking;
    const local = this.clock.local();
    const now = local + this.clock.lead;
    // The one read every request makes: a recovery is reported only when the store had been failing.
    const record = await this.watchStore(this.store.load(key, slide ? this.touchPolicy(now) : this.lookPolicy(now)));
    if (!record) {
      this.cookies.forget(key);
      return { state: 'invalid' };
    }
    if (record.movedTo) {
      // A rotated-out ID: its cookie is no longer remembered as verified (the tombstone decides what it leads to).
      this.cookies.forget(key);
      return this.watchStore(this.rotation.follow(verified.sessionId, record, now));
    }
    this.clock.observe(record, local);
    // Judged by the later of this clock and the store's: a lagging clock never keeps an
    // expired session alive (and the store refuses to extend one, see the touch script).
    if (expiryOf(record) <= Math.max(now, local + this.clock.lead)) {
      await this.end(key, 'expired');
      return { state: 'expired' };
    }
    if (slide && this.rotation.due(record, now)) {
      const rotated = await this.watchStore(this.rotation.rotate(verified.sessionId, record, now));
      // The ID this request came with is now rotated out: forget its cookie, as an ended session's is.
      if (rotated.state !== 'active' || rotated.record.key !== key) this.cookies.forget(key);
      return rotated;
    }
    // The first request with a new ID's own cookie: the client has it (one write per rotation).
    if (record.data[UNUSED_FIELD] !== undefined) await this.markUsed(record);
    // A touch sets lastSeenAt to now and bumps the version past the creating write; a record
    // whose ID was issued at this very moment (a successor, marked used just now) was not touched.
    const touched = record.lastSeenAt === now && record.version > 1 && record.lastSeenAt !== idIssuedAt(record);
    const signedValue = verified.signedWithOldSecret ? this.ring.sign(verified.sessionId) : cookieValue;
    return { state: 'active', record, refreshCookie: touched || verified.signedWithOldSecret, signedValue };
  }

  /** Removes the successor's "never used" mark (see `UNUSED_FIELD`), on this record only. */
  private async markUsed(record: StoredSession): Promise<void> {
    await this.watchStore(this.store.patch(record.key, {}, [UNUSED_FIELD], { followMoved: false }));
    const { [UNUSED_FIELD]: _, ...rest } = record.data;
    record.data = rest;
  }

  /** Starts a new session for a user (call on login). */
  async create(user: SessionUser, data: Record<string, string> = {}): Promise<IssuedSession> {
    checkUser(user);
    const now = this.now();
    const absoluteExpiresAt = now + absoluteLifetime(this.options);
    const issued = await this.issue(user.id, now, absoluteExpiresAt, { ...data, [USER_FIELD]: JSON.stringify(user) });
    this.events.emit({ event: 'session.created', sessionRef: sessionRef(issued.record.key), userRef: userRef(user.id) });
    const capped = await trimToCap(this.store, this.options.maxPerUser, user.id, issued.record.key, now).catch(async (e: unknown) => {
      // The cap's ends were not confirmed: the login fails (503) and its new session, whose cookie nobody gets, goes too.
      if (e instanceof StoreNotDurableError) await this.end(issued.record.key, 'replaced').catch(() => false);
      return this.unconfirmed(e, 'cap');
    });
    if (capped.length > 0) {
      await Promise.all(capped.map((r) => this.finish(r, 'cap')));
      issued.endedByCap = capped.filter((r) => !r.movedTo);
    }
    const results = await Promise.allSettled(this.listeners.map((l) => l.onSessionStarted?.(issued.record)));
    if (results.some((r) => r.status === 'rejected')) {
      process.emitWarning('Keyward: a session-start listener failed; it will be retried on first use.', { code: 'KW_LISTENER_FAILED' });
    }
    return issued;
  }

  /**
   * Moves a session to a fresh ID on a privilege change of the same user: the old ID is
   * dead at once, data and deadline carry over, and whatever is bound to the old ID (the
   * vault's data key) is re-bound to the new one by the listeners' `onSessionMoving`.
   *
   * A change of user is not a privilege change: when `user.id` differs from the session's
   * user, the session ends (its lifecycle listeners run: minted keys revoked, vault entries
   * gone) and a new, empty session starts for `user`, exactly as a login does. Nothing of
   * the first user's session reaches the second.
   *
   * Returns null if the session had already ended.
   */
  async regenerate(record: StoredSession, user?: SessionUser): Promise<IssuedSession | null> {
    if (user) checkUser(user);
    if (user && user.id !== record.userId) {
      if (!(await this.end(record.key, 'replaced'))) return null;
      return this.create(user);
    }
    this.cookies.forget(record.key);
    // The ID rotated since this request read it: move the live successor instead.
    const old = await liveEndOf(await this.store.take(record.key).catch((e: unknown) => this.unconfirmed(e, 'replaced')), (link) =>
      this.store.take(link.key).catch((e: unknown) => this.unconfirmed(e, 'replaced')),
    );
    if (!old) return null;
    if (user && user.id !== old.userId) {
      // The record changed hands between our read and the take: treat it as a login.
      await this.notifyEnded(old, 'replaced');
      return this.create(user);
    }
    const data = user ? { ...old.data, [USER_FIELD]: JSON.stringify(user) } : old.data;
    let issued: IssuedSession;
    try {
      issued = await this.issue(old.userId, old.createdAt, old.absoluteExpiresAt, (toKey) => this.moveData(data, old.key, toKey));
    } catch (e) {
      // The old record is gone; whatever it held must still end properly.
      await this.notifyEnded(old, 'replaced');
      throw e;
    }
    // The session lives on under a new handle: the old one's rotated-out IDs lead nowhere now.
    await this.dropTombstones(old);
    return issued;
  }

  /** Lets each listener re-bind what it keeps bound to the old store key (the vault's data key). */
  private moveData(data: Record<string, string>, fromKey: string, toKey: string): Record<string, string> {
    let moved = data;
    for (const l of this.listeners) if (l.onSessionMoving) moved = l.onSessionMoving(moved, fromKey, toKey);
    // Whatever moves a session to a new ID (a regenerate, a timed rotation) restarts its ID's clock.
    return { ...moved, [ID_ISSUED_FIELD]: String(this.now()) };
  }

  /** Ends one session (idempotent) and runs the lifecycle listeners. */
  async end(key: string, reason: SessionEndReason): Promise<boolean> {
    this.cookies.forget(key);
    const record = await this.store.take(key).catch((e: unknown) => this.unconfirmed(e, reason));
    if (!record) return false;
    return this.finish(record, reason);
  }

  /**
   * An end the store's replicas did not confirm in time (`StoreNotDurableError`): what the
   * store took still ends here (its listeners run: minted keys revoked, ...), then the error
   * goes on, so the client is answered 503 and does not believe the end happened.
   */
  private async unconfirmed(e: unknown, reason: SessionEndReason): Promise<never> {
    if (e instanceof StoreNotDurableError) {
      const taken = (Array.isArray(e.written) ? e.written : [e.written]).filter((r): r is StoredSession => !!r && typeof r === 'object');
      await Promise.allSettled(taken.map((r) => this.finish(r, reason)));
    }
    throw e;
  }

  /** Runs the end of a record just taken from the store; a rotated-out ID's tombstone ends its successor. */
  private async finish(record: StoredSession, reason: SessionEndReason): Promise<boolean> {
    const live = await liveEndOf(record, (link) => {
      this.cookies.forget(link.key);
      // The successor's take is an end too: unconfirmed, it still ends here and the client hears 503.
      return this.store.take(link.key).catch((e: unknown) => this.unconfirmed(e, reason));
    });
    if (!live) return false;
    await this.notifyEnded(live, reason);
    await this.dropTombstones(live);
    return true;
  }

  /**
   * The session's rotated-out IDs have nothing left to protect once its record is taken: their
   * tombstones go, all of them where the store indexes them by handle (one call), else those
   * the record lists. A session that never rotated lists none and costs no call.
   */
  private async dropTombstones(record: StoredSession): Promise<void> {
    const previous = previousKeysOf(record);
    if (previous.length === 0) return;
    if (this.store.dropTombstonesOf) await this.store.dropTombstonesOf(record.handle).catch(() => 0);
    else if (this.store.takeMany) await this.store.takeMany(previous).catch(() => null);
    else await Promise.all(previous.map((k) => this.store.take(k).catch(() => null)));
  }

  /** Reports store outages and recoveries as security events (a boolean check when nothing changes). */
  private async watchStore<T>(op: Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await op;
    } catch (e) {
      throw this.storeFailed(e);
    }
    if (this.storeDown) this.storeRecovered();
    return result;
  }

  /** Notes a failed store call (one `store.unavailable` event per outage); returns the error to rethrow. */
  private storeFailed(e: unknown): unknown {
    if (e instanceof StoreUnavailableError && !this.storeDown) {
      this.storeDown = true;
      this.events.emit({ event: 'store.unavailable', storeKind: this.store.kind });
    }
    return e;
  }

  private storeRecovered(): void {
    this.storeDown = false;
    this.events.emit({ event: 'store.recovered', storeKind: this.store.kind });
  }

  /** Ends every session of a user; returns how many ended. */
  async endAllForUser(userId: string, reason: SessionEndReason = 'logout-all'): Promise<number> {
    const sessions = await this.store.listByUser(userId);
    const ended = await Promise.all(sessions.map((s) => this.end(s.key, reason)));
    return ended.filter(Boolean).length;
  }

  /** The live sessions of a user, newest first. */
  async list(userId: string): Promise<StoredSession[]> {
    const now = this.now();
    const all = await this.store.listByUser(userId);
    return all.filter((s) => expiryOf(s) > now).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Ends the session of `userId` with this public handle; 404-style error if none. */
  async revokeByHandle(userId: string, handle: string): Promise<void> {
    const target = typeof handle === 'string' ? (await this.list(userId)).find((s) => s.handle === handle) : undefined;
    if (!target || !(await this.end(target.key, 'revoked'))) {
      throw new NotFoundError(KeywardErrorCode.SessionNotFound, 'No such session for this user.');
    }
  }

  /**
   * Writes named fields of one session without touching the others. False if it ended.
   * Keyward's own `kw.` fields are refused (`KW_INVALID_ARGUMENT`): they are written only by
   * the engine and the vault, which keep what they mean (a written `kw.prev` would make one
   * session's end delete other sessions without their lifecycle).
   */
  async patch(key: string, set: Record<string, string>, unset: string[] = []): Promise<boolean> {
    for (const name of [...Object.keys(set), ...unset]) checkFieldName(name);
    return this.store.patch(key, set, unset);
  }

  /**
   * Ends one batch of expired sessions (called by the sweeper); returns how many ended.
   * Sessions end {@link SWEEP_CONCURRENCY} at a time, taken from the store in one call
   * where the store can ({@link SessionStore.takeMany}), and the event loop turns whenever
   * `slice` has used its time, so a large sweep never holds up requests.
   */
  async sweep(limit = SWEEP_BATCH, slice = new EventLoopSlice()): Promise<number> {
    const keys = await this.store.expiredKeys(this.now(), limit);
    let ended = 0;
    for (let i = 0; i < keys.length; i += SWEEP_CONCURRENCY) {
      await slice.pause();
      const chunk = keys.slice(i, i + SWEEP_CONCURRENCY);
      for (const k of chunk) this.cookies.forget(k);
      // The stores' sweeps take without waiting for replicas (an expired session back after a
      // failover is still expired and is swept again); a rotated-out ID's successor is taken by
      // finish() as an end, and unconfirmed it has still ended here.
      const records = this.store.takeMany ? await this.store.takeMany(chunk) : await Promise.all(chunk.map((k) => this.store.take(k)));
      const done = await Promise.all(records.map((r) => (r ? this.finish(r, 'expired').catch((e: unknown) => (e instanceof StoreNotDurableError ? true : Promise.reject(e))) : false)));
      ended += done.filter(Boolean).length;
    }
    return ended;
  }

  /** Milliseconds the cookie should live: the idle timeout, never past the absolute deadline. */
  cookieLifetime(record: StoredSession): number {
    return Math.max(1000, Math.min(this.options.idleTimeoutMs, record.absoluteExpiresAt - this.now()));
  }

  /** Public view of a record. */
  info(record: StoredSession): SessionInfo {
    return {
      id: record.handle,
      user: userOf(record),
      createdAt: new Date(record.createdAt),
      lastSeenAt: new Date(record.lastSeenAt),
      expiresAt: new Date(expiryOf(record)),
      absoluteExpiresAt: new Date(record.absoluteExpiresAt),
      idIssuedAt: new Date(idIssuedAt(record)),
    };
  }

  private async issue(
    userId: string,
    createdAt: number,
    absoluteExpiresAt: number,
    dataFor: Record<string, string> | ((key: string) => Record<string, string>),
  ): Promise<IssuedSession> {
    const now = this.now();
    const id = generateSessionId();
    const key = storeKeyOf(id);
    const data = typeof dataFor === 'function' ? dataFor(key) : dataFor;
    const record: StoredSession = {
      key,
      handle: handleOf(key),
      userId,
      createdAt,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + this.options.idleTimeoutMs, absoluteExpiresAt),
      absoluteExpiresAt,
      version: 1,
      data,
    };
    await this.store.create(record);
    return { record, signedValue: this.ring.sign(id) };
  }

  private touchPolicy(now: number): TouchPolicy {
    return { now, touchAfterMs: this.options.touchIntervalMs, idleMs: this.options.idleTimeoutMs };
  }

  /** A load that never extends the session. */
  private lookPolicy(now: number): TouchPolicy {
    return { now, touchAfterMs: Number.MAX_SAFE_INTEGER, idleMs: this.options.idleTimeoutMs };
  }

  private async notifyEnded(record: StoredSession, reason: SessionEndReason): Promise<void> {
    this.events.emit({
      event: 'session.ended',
      sessionRef: sessionRef(record.key),
      userRef: userRef(record.userId),
      reason: endedReason(record, reason),
      ...(reason === 'reuse' ? { severity: 'critical' as const } : {}),
    });
    const results = await Promise.allSettled(this.listeners.map((l) => l.onSessionEnded?.(record, reason)));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      process.emitWarning(`Keyward: ${failed.length} session-end listener(s) failed; the session ended anyway.`, { code: 'KW_LISTENER_FAILED' });
    }
  }
}

/** The reason a `session.ended` event gives: an expiry says which deadline passed. */
function endedReason(record: StoredSession, reason: SessionEndReason): SessionEndedReason {
  if (reason !== 'expired') return reason;
  return record.absoluteExpiresAt <= record.idleExpiresAt ? 'absolute' : 'idle';
}
