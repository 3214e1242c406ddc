import { InvalidArgumentError, StoreCorruptError } from '../keyward.errors.js';
import type { StoredSession } from '../stores/session-store.interface.js';
import type { SessionUser } from './session.types.js';

/** Data fields of a session record: the user, and the names apps may use (`kw.` names are Keyward's own). */

/** Data field holding the user; fields starting with `kw.` are reserved for Keyward. */
export const USER_FIELD = 'kw.user';
const RESERVED_PREFIX = 'kw.';
const FIELD_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const MAX_USER_ID = 256;

/** The user stored in a record. */
export function userOf(record: StoredSession): SessionUser {
  const raw = record.data[USER_FIELD];
  if (raw === undefined) return { id: record.userId };
  try {
    const user = JSON.parse(raw) as SessionUser;
    if (user && typeof user === 'object' && user.id === record.userId) return user;
  } catch {
    // fall through
  }
  throw new StoreCorruptError('session user');
}

/** A session user Keyward can store and index: an `id` without control characters or braces. */
export function checkUser(user: SessionUser): void {
  if (!user || typeof user !== 'object' || typeof user.id !== 'string' || user.id.length === 0 || user.id.length > MAX_USER_ID || /[\0-\x1f\x7f{}]/.test(user.id)) {
    throw new InvalidArgumentError('The session user needs an `id`: a non-empty string of at most 256 characters without control characters or braces.');
  }
}

/** Field names are plain tokens; `kw.` names are Keyward's own (only Keyward's own code passes `allowReserved`). */
export function checkFieldName(name: string, allowReserved = false): void {
  if (typeof name !== 'string' || !FIELD_NAME.test(name) || (!allowReserved && name.startsWith(RESERVED_PREFIX))) {
    throw new InvalidArgumentError('Session field names are 1-128 characters of letters, digits and _ . : - and may not start with "kw.".');
  }
}
