import type { SessionLink, StoredSession, TouchPolicy } from './session-store.interface.js';

/** Earliest moment the session stops being valid. */
export function expiryOf(s: Pick<StoredSession, 'idleExpiresAt' | 'absoluteExpiresAt'>): number {
  return Math.min(s.idleExpiresAt, s.absoluteExpiresAt);
}

/** True if the touch policy would extend this record now (expired records are never revived). */
export function touchDue(s: StoredSession, touch: TouchPolicy): boolean {
  return s.lastSeenAt <= touch.now - touch.touchAfterMs && expiryOf(s) > touch.now;
}

/** Applies a touch policy to a record in place; returns true if it changed. */
export function applyTouch(s: StoredSession, touch: TouchPolicy): boolean {
  if (!touchDue(s, touch)) return false;
  s.lastSeenAt = touch.now;
  s.idleExpiresAt = Math.min(touch.now + touch.idleMs, s.absoluteExpiresAt);
  s.version += 1;
  return true;
}

/** Deep copy, so callers never share a store's internal object. */
export function cloneSession(s: StoredSession): StoredSession {
  return { ...s, data: { ...s.data } };
}

/** What a rotated-out record leaves behind: its facts without data, and where it leads. */
export function tombstoneOf(s: StoredSession, link: SessionLink): StoredSession {
  return { ...s, data: {}, version: s.version + 1, movedTo: { ...link } };
}
