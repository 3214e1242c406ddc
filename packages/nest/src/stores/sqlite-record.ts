import type { MoveRow, SessionRow } from './sqlite-schema.js';
import type { SessionLink, StoredSession } from './session-store.interface.js';

/** A record's row (its data lives in `kw_session_data`). */
export function toRow(s: StoredSession): SessionRow {
  return {
    key: s.key,
    handle: s.handle,
    user_id: s.userId,
    created_at: s.createdAt,
    last_seen_at: s.lastSeenAt,
    idle_expires_at: s.idleExpiresAt,
    absolute_expires_at: s.absoluteExpiresAt,
    version: s.version,
  };
}

/** A tombstone's row: the record's facts and its link. */
export function toMoveRow(t: StoredSession, link: SessionLink): MoveRow {
  return { ...toRow(t), successor: link.key, sealed_id: link.sealedId, rotated_at: link.rotatedAt, grace_until: link.graceUntil, keep_until: link.keepUntil };
}

export function linkOf(m: MoveRow): SessionLink {
  return { key: m.successor, sealedId: m.sealed_id, rotatedAt: m.rotated_at, graceUntil: m.grace_until, keepUntil: m.keep_until };
}

export function fromRow(r: SessionRow): Omit<StoredSession, 'data'> {
  return {
    key: r.key,
    handle: r.handle,
    userId: r.user_id,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    idleExpiresAt: r.idle_expires_at,
    absoluteExpiresAt: r.absolute_expires_at,
    version: r.version,
  };
}
