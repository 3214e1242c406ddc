import { StoreNotDurableError } from '../keyward.errors.js';
import type { RedisCalls } from './redis-calls.js';
import { flatHash } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import { decodeRecord, encodeRecord, strings } from './redis-record.js';
import { SCRIPT } from './redis.scripts.js';
import type { RotateOutcome, SessionLink, StoredSession } from './session-store.interface.js';
import { expiryOf } from './store-record.js';

/** Most links a listing follows from a tombstone to the live record (as `patch` does). */
const MAX_LIST_HOPS = 8;

/**
 * The steps of a session's life on Redis that touch more than its record: creating it in its
 * user's indexes, taking it out of them, moving it to a new ID, the per-user cap, listing a
 * user's sessions, and removing a session's rotated-out IDs at its end. What each index holds:
 *
 * - the user's set (`u:{user}`): the store key of each session, once: the creator adds it,
 *   a rotation's winner moves it to its successor (a loser's successor is never added);
 * - the user's sessions by age (`uc:{user}`, same slot): the cap's index, moved likewise;
 * - the session's rotated-out IDs (`t:{handle}`): every tombstone it left, so that its end
 *   removes them all, however many rotations it lived through.
 */
export class RedisLifecycle {
  constructor(
    private readonly calls: RedisCalls,
    private readonly keys: RedisKeys,
    private readonly graceMs: number,
  ) {}

  /**
   * Writes a record; `indexed` adds it to its user's set and sessions by age (a new session,
   * not a successor). The index entries go first: a replica has a prefix of its master's
   * writes, so a failover can lose a new session's index entry only with its record, never
   * alone (a record its user's index lost would outlive logout-all). On a Cluster the two
   * live on different masters: with durable ends, the entries are confirmed by the user's
   * master's replicas before the record is written (a 503 `KW_STORE_NOT_DURABLE` login
   * otherwise, leaving only an entry that names no record, dropped by the next listing).
   */
  async write(s: StoredSession, indexed: boolean): Promise<void> {
    const rk = this.keys.record(s.key);
    const index = indexed && this.calls.cluster && this.calls.durable;
    if (index) await this.calls.durableScriptKeys(SCRIPT.indexAdd, [this.keys.user(s.userId), this.keys.byAge(s.userId)], [s.key, s.createdAt]);
    await Promise.all([
      indexed && !index ? this.calls.cmd('SADD', this.keys.user(s.userId), s.key) : undefined,
      indexed && !index ? this.calls.cmd('ZADD', this.keys.byAge(s.userId), s.createdAt, s.key) : undefined,
      this.calls.cmd('HSET', rk, ...encodeRecord(s)),
      this.calls.cmd('PEXPIREAT', rk, expiryOf(s) + this.graceMs),
      this.calls.cmd('ZADD', this.keys.expiry(), expiryOf(s), s.key),
    ]);
  }

  /**
   * Takes a record (TAKE) and its index entries. With durable ends, the TAKE is confirmed
   * by replicas (or a {@link StoreNotDurableError} carries the record taken, so the caller
   * still ends it properly), and a record already gone is confirmed by a fence write: an
   * end retried after an unconfirmed one answers only once the first one is on a replica.
   * `durable: false` (the sweeper's takes of expired records) skips the confirmation: an
   * expired session that comes back after a failover is still expired and is swept again.
   */
  async take(key: string, durable = true): Promise<StoredSession | null> {
    let reply: unknown;
    try {
      reply = durable ? await this.calls.durableScript(SCRIPT.take, this.keys.record(key), []) : await this.calls.script(SCRIPT.take, this.keys.record(key), []);
    } catch (e) {
      if (!(e instanceof StoreNotDurableError)) throw e;
      const flat = flatHash(e.written);
      const s = flat.length === 0 ? null : decodeRecord(key, flat);
      if (s) await this.unindex(s).catch(() => undefined);
      throw new StoreNotDurableError(s);
    }
    const flat = flatHash(reply);
    if (flat.length === 0) {
      await Promise.all([
        this.calls.cmd('ZREM', this.keys.expiry(), key),
        durable && this.calls.durable ? this.calls.durableScript(SCRIPT.fence, this.keys.fence(key), []) : undefined,
      ]);
      return null;
    }
    const s = decodeRecord(key, flat);
    await this.unindex(s);
    return s;
  }

  /** Removes a taken record from its user's indexes and the expiry index. */
  private async unindex(s: StoredSession): Promise<void> {
    const key = s.key;
    await Promise.all([
      this.calls.cmd('SREM', this.keys.user(s.userId), key),
      this.calls.cmd('ZREM', this.keys.expiry(), key),
      this.calls.cmd('ZREM', this.keys.byAge(s.userId), key),
    ]);
  }

  /**
   * Rotation across hash slots (the old and the new record live on different cluster
   * nodes): the successor is written first (in no user index yet) and the old key entered
   * in the session's rotated-out IDs, then one script on the old record decides who won
   * (ROTATE_CLAIM). A loser deletes its successor and takes the winner's; the winner moves
   * the user's index entries to its successor. A racer that sees the old record as moved
   * therefore always finds the successor already written, and a listing never sees a
   * loser's successor.
   */
  async rotate(from: { key: string; version: number }, successor: StoredSession, link: SessionLink): Promise<RotateOutcome> {
    await Promise.all([
      this.write(successor, false),
      // Before the claim, so that no tombstone is ever left out of the set; an entry for a
      // rotation that then fails names no tombstone, and the end skips it.
      this.calls.script(SCRIPT.addTombstone, this.keys.tombstones(successor.handle), [from.key, link.keepUntil]),
    ]);
    const args = [from.version, link.key, link.sealedId, link.rotatedAt, link.graceUntil, link.keepUntil];
    let reply: string[];
    try {
      reply = strings(await this.calls.durableScript(SCRIPT.rotate, this.keys.record(from.key), args));
    } catch (e) {
      const claimed = e instanceof StoreNotDurableError && strings(e.written)[0] === 'rotated';
      // A claim not confirmed by a replica stands on the master (the old ID leads to the successor): the successor stays.
      if (claimed) throw e;
      if (!(e instanceof StoreNotDurableError)) {
        await this.discard(successor).catch(() => undefined);
        throw e;
      }
      reply = strings(e.written); // no claim of ours was written: nothing to confirm
    }
    if (reply[0] === 'rotated') {
      await Promise.all([this.calls.cmd('ZREM', this.keys.expiry(), from.key), this.moveMember(successor.userId, from.key, successor.key)]);
      return { state: 'rotated' };
    }
    await this.discard(successor);
    if (reply[0] === 'moved') {
      const [, key, sealedId, rotatedAt, graceUntil, keepUntil] = reply;
      return { state: 'moved', link: { key: key!, sealedId: sealedId!, rotatedAt: Number(rotatedAt), graceUntil: Number(graceUntil), keepUntil: Number(keepUntil) } };
    }
    return { state: reply[0] === 'stale' ? 'stale' : 'gone' };
  }

  /**
   * The per-user cap. Expired records go first, then the oldest: their expiry is read first
   * (an expired record never comes back to life, so the read stays true), and one script
   * removes the members to end from the user's sessions by age, atomically (TRIM_USER).
   */
  async trimUser(userId: string, max: number, keep: string, now: number): Promise<StoredSession[]> {
    const out: StoredSession[] = [];
    // Index entries of records that are already gone free no slot: trim again until every
    // removed entry was a live record (each pass removes entries, so this ends).
    for (let pass = 0; pass < 16; pass++) {
      const members = strings(await this.calls.cmd('ZRANGE', this.keys.byAge(userId), 0, -1));
      if (members.length <= max) break;
      const rows = await Promise.all(members.map(async (k) => (await this.calls.cmd('HMGET', this.keys.record(k), 'ie', 'ae', 'n')) as Array<string | null>));
      // Gone, or expired (a tombstone is a session mid-rotation: judged by its age).
      const first = members.filter((k, i) => {
        const [ie, ae, moved] = rows[i]!;
        if (ie == null || ae == null) return moved == null;
        return moved == null && Math.min(Number(ie), Number(ae)) <= now;
      });
      const keys = strings(await this.calls.script(SCRIPT.trimUser, this.keys.byAge(userId), [max, keep, ...first]));
      if (keys.length === 0) break;
      const settled = await Promise.allSettled(keys.map((k) => this.take(k)));
      let missing = 0;
      for (const r of settled) {
        const s = r.status === 'fulfilled' ? r.value : r.reason instanceof StoreNotDurableError ? (r.reason.written as StoredSession | null) : null;
        if (s) out.push(s);
        else if (r.status === 'fulfilled') missing++;
      }
      const failed = settled.find((r) => r.status === 'rejected');
      // Every record taken is handed back (to be ended properly) with the first failure.
      if (failed) throw failed.reason instanceof StoreNotDurableError ? new StoreNotDurableError(out) : failed.reason;
      if (missing === 0) break;
    }
    return out;
  }

  /**
   * A user's live sessions, each once. The set holds each session's store key once; a
   * tombstone in it (a rotation between its claim and the move of the index entry, or one
   * whose winner stopped there) stands for its successor: the listing follows the link,
   * lists the successor and moves the entry itself. Entries of records that are gone, and
   * tombstones whose successor is listed, are dropped on the way.
   */
  async listByUser(userId: string): Promise<StoredSession[]> {
    const setKey = this.keys.user(userId);
    const keys = strings(await this.calls.cmd('SMEMBERS', setKey));
    const rows = await Promise.all(keys.map(async (k) => flatHash(await this.calls.cmd('HGETALL', this.keys.record(k)))));
    const live = new Map<string, StoredSession>();
    const moved: StoredSession[] = [];
    const stale: string[] = [];
    rows.forEach((row, i) => {
      const s = row.length === 0 ? null : decodeRecord(keys[i]!, row);
      if (!s) stale.push(keys[i]!);
      else if (s.movedTo) moved.push(s);
      else live.set(s.key, s);
    });
    await Promise.all(
      moved.map(async (t) => {
        if (live.has(t.movedTo!.key)) return void stale.push(t.key);
        const end = await this.liveEnd(t);
        if (!end) return void stale.push(t.key);
        live.set(end.key, end);
        await this.moveMember(userId, t.key, end.key);
      }),
    );
    if (stale.length > 0) await this.calls.cmd('SREM', setKey, ...stale);
    // One per handle whatever the set held (entries written before this version could name
    // a rotation's losing successor): the most recently seen.
    const byHandle = new Map<string, StoredSession>();
    for (const s of live.values()) {
      const seen = byHandle.get(s.handle);
      if (!seen || s.lastSeenAt > seen.lastSeenAt) byHandle.set(s.handle, s);
    }
    return [...byHandle.values()];
  }

  /**
   * Removes every rotated-out ID's tombstone of the session with this handle (never a live
   * record); returns how many. One script on a single Redis; on a Cluster, where the
   * tombstones live in other slots, the set is taken in one script and each tombstone
   * dropped by one of its own (pipelined).
   */
  async dropTombstonesOf(handle: string): Promise<number> {
    const setKey = this.keys.tombstones(handle);
    if (!this.calls.cluster) return Number(await this.calls.script(SCRIPT.dropTombstones, setKey, [this.keys.prefix, handle]));
    const members = strings(await this.calls.script(SCRIPT.takeSet, setKey, []));
    const dropped = await Promise.all(members.map((k) => this.calls.script(SCRIPT.dropTombstone, this.keys.record(k), [handle])));
    return dropped.filter((n) => Number(n) === 1).length;
  }

  /** The live record a tombstone leads to, or null if the chain ends nowhere. */
  private async liveEnd(t: StoredSession): Promise<StoredSession | null> {
    let s = t;
    for (let hop = 0; hop < MAX_LIST_HOPS && s.movedTo; hop++) {
      const row = flatHash(await this.calls.cmd('HGETALL', this.keys.record(s.movedTo.key)));
      if (row.length === 0) return null;
      s = decodeRecord(s.movedTo.key, row);
      if (s.handle !== t.handle || s.userId !== t.userId) return null;
    }
    return s.movedTo ? null : s;
  }

  /** The user's index entries of `from` now name `to` (MOVE_MEMBER). */
  private moveMember(userId: string, from: string, to: string): Promise<unknown> {
    return this.calls.scriptKeys(SCRIPT.moveMember, [this.keys.user(userId), this.keys.byAge(userId)], [from, to]);
  }

  /** Removes a successor that lost its rotation race (never a session anyone was given). */
  private async discard(s: StoredSession): Promise<void> {
    await Promise.all([this.calls.cmd('DEL', this.keys.record(s.key)), this.calls.cmd('ZREM', this.keys.expiry(), s.key)]);
  }
}
