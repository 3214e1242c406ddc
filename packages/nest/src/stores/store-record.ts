import type { StoredSession, TouchPolicy } from './session-store.interface.js';

/** Earliest moment the session stops being valid. */
export function expiryOf(s: Pick<StoredSession, 'idleExpiresAt' | 'absoluteExpiresAt'>): number {
  return Math.min(s.idleExpiresAt, s.absoluteExpiresAt);
}

/** Applies a touch policy to a record in place; returns true if it changed. */
export function applyTouch(s: StoredSession, touch: TouchPolicy): boolean {
  if (s.lastSeenAt > touch.now - touch.touchAfterMs) return false;
  if (expiryOf(s) <= touch.now) return false; // expired records are not revived
  s.lastSeenAt = touch.now;
  s.idleExpiresAt = Math.min(touch.now + touch.idleMs, s.absoluteExpiresAt);
  s.version += 1;
  return true;
}

/** Deep copy, so callers never share a store's internal object. */
export function cloneSession(s: StoredSession): StoredSession {
  return { ...s, data: { ...s.data } };
}
