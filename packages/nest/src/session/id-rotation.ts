import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { ResolvedSessionOptions } from './session-options.js';
import { sessionRef, userRef, type SecurityEventSink } from '../events/security-event.js';
import type { SessionLink, SessionStore, StoredSession, TouchPolicy } from '../stores/session-store.interface.js';
import { expiryOf } from '../stores/store-record.js';
import { generateSessionId, storeKeyOf } from './session-id.js';
import type { ResolveResult } from './session-outcomes.js';
import type { SessionEndReason } from './session.types.js';

/** Data field holding when the session's current ID was issued (ms); absent means at creation. */
export const ID_ISSUED_FIELD = 'kw.idAt';
/**
 * Data field set on a successor when it is made and removed by the first request that comes
 * with the successor's own ID: while it is there, nobody has used the new ID (the answer that
 * carried its cookie may never have reached the client).
 */
export const UNUSED_FIELD = 'kw.new';
/** Data field listing the store keys of the session's rotated-out IDs (their tombstones), removed when the session ends. */
export const PREVIOUS_KEYS_FIELD = 'kw.prev';
/**
 * Tombstones a session's record lists, newest last, so that they go at once when the
 * session ends (8 hours of rotations at the default 15 minutes). The list rides in the
 * record, which every request loads, so it is kept short: older tombstones are not
 * forgotten by the chain (reuse detection still walks them), they just stay in the store
 * until their own `keepUntil` (the session's absolute deadline plus the grace), when every
 * store drops them by itself.
 */
export const MAX_PREVIOUS = 32;
/**
 * The most links any walk along a session's chain of rotated-out IDs follows (a request
 * with an ID still in its grace, a regenerate racing a rotation, the end of a session
 * through an old key). Reuse detection does not walk: it finds the live session by its
 * handle, so an ID rotated out any number of times ago is still reported.
 */
export const MAX_SUCCESSOR_HOPS = 256;
const SEAL_CONTEXT = 'keyward-successor-v1';

/** When the record's current ID was issued: a field already loaded with the record, so the due check costs no store call. */
export function idIssuedAt(record: StoredSession): number {
  const raw = record.data[ID_ISSUED_FIELD];
  const at = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(at) && at > 0 ? at : record.createdAt;
}

/**
 * Seals the successor's session ID so that only a holder of the previous ID can open it:
 * AES-256-GCM under a key derived from the previous ID (which the store never sees; it
 * keeps only hashes), with the previous store key as additional data.
 */
export function sealSuccessor(previousId: string, previousKey: string, successorId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(previousId), iv);
  cipher.setAAD(Buffer.from(previousKey));
  const body = Buffer.concat([cipher.update(successorId, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Opens what {@link sealSuccessor} sealed, or null if it was not sealed for this ID. */
export function openSuccessor(previousId: string, previousKey: string, sealed: string): string | null {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 29) return null;
    const decipher = createDecipheriv('aes-256-gcm', sealKey(previousId), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(previousKey));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

function sealKey(previousId: string): Buffer {
  return createHmac('sha256', previousId).update(SEAL_CONTEXT).digest();
}

/** The store keys of a session's rotated-out IDs (their tombstones), oldest first. */
export function previousKeysOf(record: StoredSession): string[] {
  const raw = record.data[PREVIOUS_KEYS_FIELD];
  if (raw === undefined) return [];
  try {
    const keys = JSON.parse(raw) as unknown;
    return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string' && /^[A-Za-z0-9_-]{43}$/.test(k)) : [];
  } catch {
    return [];
  }
}

/**
 * Walks from a record to the live end of its chain of rotated-out IDs: while the record has
 * moved (`movedTo`), `next` fetches the record its link leads to (a load, or a take that
 * removes the tombstone on the way). Returns the first record that has not moved, or null
 * when a link leads nowhere (`next` gave null) or the chain is longer than
 * {@link MAX_SUCCESSOR_HOPS}. The one place that follows successors, so every walk has the
 * same bound.
 */
export async function liveEndOf(
  first: StoredSession | null,
  next: (link: SessionLink, from: StoredSession) => Promise<StoredSession | null>,
): Promise<StoredSession | null> {
  let record = first;
  for (let hops = 0; record?.movedTo; hops++) {
    if (hops >= MAX_SUCCESSOR_HOPS) return null;
    record = await next(record.movedTo, record);
  }
  return record;
}

/** What the rotation needs of the engine (it stays the engine's business how). */
export interface RotationHost {
  readonly options: ResolvedSessionOptions;
  readonly store: SessionStore;
  readonly events: SecurityEventSink;
  sign(sessionId: string): string;
  /** Runs the listeners' `onSessionMoving` (the vault re-wraps its data key for the new store key). */
  moveData(data: Record<string, string>, fromKey: string, toKey: string): Record<string, string>;
  touchPolicy(now: number): TouchPolicy;
  end(key: string, reason: SessionEndReason): Promise<boolean>;
}

/**
 * ID rotation on a timer. Every `rotateEveryMs` the next request moves the session to a new
 * ID (record, vault entries and minted keys carry over); the previous ID leads to the
 * successor for `rotateGraceMs`, then its use ends the session (`reuse`).
 *
 * Exactly one successor per ID, however many requests (on however many instances) race:
 * the store's `rotate` decides atomically, and the losers are handed the winner's successor
 * (and its cookie). A request that does not rotate costs nothing: {@link due} reads a field
 * of the record already loaded.
 */
export class IdRotation {
  constructor(private readonly host: RotationHost) {}

  /** True when the record's ID is old enough to rotate. Local: no store call. */
  due(record: StoredSession, now: number): boolean {
    const every = this.host.options.rotateEveryMs;
    return every !== false && now - idIssuedAt(record) >= every;
  }

  /** Moves the session to a new ID (or takes the successor a concurrent request made). */
  async rotate(sessionId: string, record: StoredSession, now: number, attempt = 0): Promise<ResolveResult> {
    const { options, store } = this.host;
    const nextId = generateSessionId();
    const nextKey = storeKeyOf(nextId);
    const successor: StoredSession = {
      key: nextKey,
      // The public handle stays: "my sessions" and revoke-by-handle see one session throughout.
      handle: record.handle,
      userId: record.userId,
      createdAt: record.createdAt,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + options.idleTimeoutMs, record.absoluteExpiresAt),
      absoluteExpiresAt: record.absoluteExpiresAt,
      version: 1,
      data: {
        ...this.host.moveData(record.data, record.key, nextKey), // stamps the new ID's issue time
        [PREVIOUS_KEYS_FIELD]: JSON.stringify([...previousKeysOf(record), record.key].slice(-MAX_PREVIOUS)),
        [UNUSED_FIELD]: '1',
      },
    };
    const graceUntil = now + options.rotateGraceMs;
    const link: SessionLink = {
      key: nextKey,
      sealedId: sealSuccessor(sessionId, record.key, nextId),
      rotatedAt: now,
      graceUntil,
      // Reuse is detected as long as the session could live, and at least past the grace.
      keepUntil: Math.max(record.absoluteExpiresAt, graceUntil) + options.rotateGraceMs,
    };
    const outcome = await store.rotate!({ key: record.key, version: record.version }, successor, link);
    switch (outcome.state) {
      case 'rotated':
        this.host.events.emit({ event: 'session.rotated', sessionRef: sessionRef(record.key), successorRef: sessionRef(nextKey), userRef: userRef(record.userId) });
        return { state: 'active', record: successor, refreshCookie: true, signedValue: this.host.sign(nextId), rotated: true };
      case 'moved':
        return this.follow(sessionId, { ...record, data: {}, movedTo: outcome.link }, now);
      case 'gone':
        return { state: 'invalid' };
      case 'stale': {
        // A touch or a write landed between our read and the rotation: read again and decide again.
        const again = await store.load(record.key, this.host.touchPolicy(now));
        if (!again) return { state: 'invalid' };
        if (again.movedTo) return this.follow(sessionId, again, now);
        if (attempt < 2 && this.due(again, now)) return this.rotate(sessionId, again, now, attempt + 1);
        // Still contended: serve this request with the current ID; the next one rotates.
        return { state: 'active', record: again, refreshCookie: false, signedValue: this.host.sign(sessionId) };
      }
    }
  }

  /**
   * A request with a rotated-out ID. Within the grace period it is served as the successor
   * (and given the successor's cookie); after it, the ID was kept by someone who should not
   * have it: the whole session ends (`reuse`). One exception: a successor nobody ever used
   * (the answer that carried its cookie never reached the client: a dropped connection, a
   * tab closed mid-request) takes the previous ID once more, and the session moves on to a
   * fresh ID at once, so the same previous ID is reuse from then on.
   */
  async follow(sessionId: string, tombstone: StoredSession, now: number): Promise<ResolveResult> {
    let id = sessionId;
    let ended: ResolveResult | undefined;
    let unused: { id: string; record: StoredSession } | undefined;
    const policy = this.host.touchPolicy(now);
    const next = await liveEndOf(tombstone, async (link, from) => {
      const nextId = openSuccessor(id, from.key, link.sealedId);
      if (nextId === null || storeKeyOf(nextId) !== link.key) return null;
      if (now > link.graceUntil) {
        const successor = await this.host.store.load(link.key, { ...policy, touchAfterMs: Number.MAX_SAFE_INTEGER });
        if (successor && !successor.movedTo && successor.data[UNUSED_FIELD] !== undefined && expiryOf(successor) > now) unused = { id: nextId, record: successor };
        else ended = await this.reused(from, now);
        return null;
      }
      id = nextId;
      return this.host.store.load(link.key, policy);
    });
    if (unused) return this.rotate(unused.id, unused.record, now);
    if (ended) return ended;
    if (!next) return { state: 'invalid' };
    if (expiryOf(next) <= now) {
      await this.host.end(next.key, 'expired');
      return { state: 'expired' };
    }
    return { state: 'active', record: next, refreshCookie: true, signedValue: this.host.sign(id) };
  }

  /**
   * A previous ID used after its grace: the live session ends with reason `reuse` (token
   * theft). A session that had expired anyway is only expired: an old cookie of a session
   * nobody used since is not a theft signal. The live session is found by the handle every
   * ID of a session shares, among its user's sessions: one store call, however many
   * rotations ago the ID was rotated out (walking the chain cost a read per rotation, up to
   * 256 a request, and an ID older than that went unreported).
   */
  private async reused(tombstone: StoredSession, now: number): Promise<ResolveResult> {
    const s = (await this.host.store.listByUser(tombstone.userId)).find((r) => r.handle === tombstone.handle && !r.movedTo);
    if (!s) return { state: 'invalid' };
    if (expiryOf(s) <= now) {
      await this.host.end(s.key, 'expired');
      return { state: 'expired' };
    }
    await this.host.end(s.key, 'reuse');
    return { state: 'invalid', reused: true };
  }
}
