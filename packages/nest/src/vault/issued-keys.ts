import type { StoredSession } from '../stores/session-store.interface.js';

/** Plain (non-secret) ledger of keys issued to a session: `kw.mk:<id>` = `{ n, r }`. */
export const ISSUED_PREFIX = 'kw.mk:';
export const ISSUED_ID = /^[A-Za-z0-9_.-]{1,100}$/;

/** A key an upstream issued for a session, as the ledger records it. */
export interface IssuedKey {
  id: string;
  /** Credential name it was issued for. */
  name: string;
  /** When it stops being used (after a rotation), or null while current. */
  retireAt: number | null;
}

/** Every key the ledger of a (possibly just-ended) session lists. */
export function issuedKeysOf(record: StoredSession): IssuedKey[] {
  const out: IssuedKey[] = [];
  for (const [field, raw] of Object.entries(record.data)) {
    if (!field.startsWith(ISSUED_PREFIX)) continue;
    try {
      const v = JSON.parse(raw) as { n?: unknown; r?: unknown };
      out.push({ id: field.slice(ISSUED_PREFIX.length), name: String(v.n), retireAt: typeof v.r === 'number' ? v.r : null });
    } catch {
      out.push({ id: field.slice(ISSUED_PREFIX.length), name: '', retireAt: 0 });
    }
  }
  return out;
}

