import type { SessionStore, StoredSession } from '../stores/session-store.interface.js';

/**
 * The per-user session cap (`session.maxPerUser`): after a login, the user's oldest
 * sessions beyond the cap end, decided atomically by the store (`trimUser`), so concurrent
 * logins never leave more than the cap and each ended session is ended once. Returns the
 * records the store removed; the caller runs their lifecycle (minted keys revoked, as at
 * logout) with reason `cap`.
 */
export async function trimToCap(store: SessionStore, max: number | null, userId: string, keepKey: string, now: number): Promise<StoredSession[]> {
  if (max === null) return [];
  return store.trimUser!(userId, max, keepKey, now);
}
