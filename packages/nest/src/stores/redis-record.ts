import { StoreCorruptError } from '../keyward.errors.js';
import type { StoredSession, UserEntry } from './session-store.interface.js';

// How a session is laid out in its Redis hash: u user, h handle, c created, l last seen,
// ie/ae idle and absolute expiry, v version, `d:<name>` each data field; and on a rotated-out
// ID's tombstone n, ns, ra, g, k: its link to the successor (see ROTATE_CLAIM).
const RECORD_FIELDS = new Set(['u', 'h', 'c', 'l', 'ie', 'ae', 'v', 'n', 'ns', 'ra', 'g', 'k']);
/** The prefix of a data field's name in the hash. */
export const DATA = 'd:';

/** The record as HSET arguments (`field, value, ...`). */
export function encodeRecord(s: StoredSession): string[] {
  const fields: string[] = ['u', s.userId, 'h', s.handle, 'c', String(s.createdAt), 'l', String(s.lastSeenAt),
    'ie', String(s.idleExpiresAt), 'ae', String(s.absoluteExpiresAt), 'v', String(s.version)];
  for (const [k, v] of Object.entries(s.data)) fields.push(DATA + k, v);
  return fields;
}

/** A record from its hash (`HGETALL` as a flat list); a tombstone comes back with `movedTo` and no data. */
export function decodeRecord(key: string, flat: string[]): StoredSession {
  const f: Record<string, string> = {};
  const fields: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!;
    if (name.startsWith(DATA)) fields.push([name.slice(DATA.length), flat[i + 1]!]);
    else if (RECORD_FIELDS.has(name)) f[name] = flat[i + 1]!;
  }
  // fromEntries defines own properties: a field named `__proto__` stays a field.
  const data: Record<string, string> = Object.fromEntries(fields);
  const nums = [f.c, f.l, f.ie, f.ae, f.v].map(Number);
  if (f.u === undefined || f.h === undefined || nums.some((n) => !Number.isFinite(n))) throw new StoreCorruptError('session');
  const [createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, version] = nums as [number, number, number, number, number];
  const s: StoredSession = { key, handle: f.h, userId: f.u, createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, version, data };
  if (f.n !== undefined) {
    const link = { key: f.n, sealedId: f.ns ?? '', rotatedAt: Number(f.ra), graceUntil: Number(f.g), keepUntil: Number(f.k) };
    if (!link.sealedId || ![link.rotatedAt, link.graceUntil, link.keepUntil].every(Number.isFinite)) throw new StoreCorruptError('session');
    return { ...s, data: {}, movedTo: link };
  }
  return s;
}

/** A user entry as stored (JSON), or null if it is not one. */
export function parseUserEntry(raw: string): UserEntry | null {
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && typeof (v as UserEntry).value === 'string' && Number.isFinite((v as UserEntry).updatedAt)) {
      return { value: (v as UserEntry).value, updatedAt: (v as UserEntry).updatedAt };
    }
  } catch {
    // fall through
  }
  return null;
}

/** A list reply as strings (node-redis may hand back Buffers or numbers only if configured to). */
export function strings(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map(String) : [];
}
