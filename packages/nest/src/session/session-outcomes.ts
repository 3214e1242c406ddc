import type { StoredSession } from '../stores/session-store.interface.js';

/** Outcome of reading the session cookie of one request. */
export type ResolveResult =
  | { state: 'none' }
  | { state: 'invalid'; reused?: boolean }
  | { state: 'expired' }
  /** `rotated`: this request moved the session to a new ID (`signedValue` is the new cookie). */
  | { state: 'active'; record: StoredSession; refreshCookie: boolean; signedValue: string; rotated?: boolean };

/** A session just created or moved to a new ID, with the cookie value to send. */
export interface IssuedSession {
  record: StoredSession;
  signedValue: string;
  /** Sessions of the same user that this login ended to stay within `session.maxPerUser`. */
  endedByCap?: StoredSession[];
}
