/**
 * The contract every session store implements. Stores know nothing of HTTP, Nest or
 * the vault: they keep records and answer atomically. The same contract suite runs
 * against every implementation.
 */

/** A session as the store keeps it. `key` is a hash of the session ID, never the ID. */
export interface StoredSession {
  /** Store key: a one-way hash of the session ID. */
  key: string;
  /** Public handle shown in "my sessions"; derived from `key`. */
  handle: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** Incremented by every write; lets callers see that something changed. */
  version: number;
  /** Named values, each a string (JSON or ciphertext). Written field by field, never as a whole. */
  data: Record<string, string>;
  /**
   * The store's own clock (ms) when it read this record, from stores that have a clock of
   * their own and report it without an extra round trip (Redis, on a touch). Never stored.
   * The engine never judges expiry earlier than this, so an instance whose clock lags
   * cannot keep an expired session alive.
   */
  storeNow?: number;
  /**
   * Set only on what a rotated-out ID left behind (a tombstone): the session moved to a new
   * ID. Such a record holds no data; the engine follows the link during the grace period and
   * treats a later use as token theft. Stores never return it from `listByUser`.
   */
  movedTo?: SessionLink;
}

/** Where a rotated-out session ID leads (see {@link SessionStore.rotate}). */
export interface SessionLink {
  /** Store key of the successor record (a hash, like every store key). */
  key: string;
  /**
   * The successor's session ID, sealed with a key derived from the previous ID: only a
   * holder of the previous cookie can open it, a store dump cannot.
   */
  sealedId: string;
  rotatedAt: number;
  /** Until then the previous ID leads to the successor; after it, its use ends the session. */
  graceUntil: number;
  /** The tombstone is kept until then (the session's absolute deadline) to detect reuse. */
  keepUntil: number;
}

/** What {@link SessionStore.rotate} did. */
export type RotateOutcome =
  /** This caller's successor is now the session. */
  | { state: 'rotated' }
  /** Another caller rotated first: here is the one successor. */
  | { state: 'moved'; link: SessionLink }
  /** The record changed since it was read (a touch or a write): read it again. */
  | { state: 'stale' }
  /** The record no longer exists. */
  | { state: 'gone' };

/** What {@link SessionStore.load} should do when the session was last seen long enough ago. */
export interface TouchPolicy {
  now: number;
  /** Extend only if `lastSeenAt <= now - touchAfterMs`. */
  touchAfterMs: number;
  /** New idle expiry = min(now + idleMs, absoluteExpiresAt). */
  idleMs: number;
}

/** How {@link SessionStore.patch} treats a rotated-out ID. */
export interface PatchOptions {
  /**
   * True (the default): the write lands on the live successor. False: only the record at
   * this very key is written, for values bound to the key itself (the vault's data key,
   * wrapped with the store key as additional data).
   */
  followMoved?: boolean;
  /**
   * True for a write that must survive a failover of the store (the ledger of keys minted for
   * a session, which its end revokes): where the store confirms ends of sessions with its
   * replicas (`RedisStore`'s `durableEnds`), this write is confirmed too, or the call throws
   * `StoreNotDurableError`. Other stores ignore it.
   */
  durable?: boolean;
}

/**
 * One fixed-window counter that {@link SessionStore.hitCounters} counts a hit on (a rate
 * limit or a quota: a quota is a long window).
 */
export interface CounterHit {
  /** The counter's name within its group; the store adds its namespace. */
  name: string;
  /** Hits allowed per window, at least 1. */
  max: number;
  /** Length of a window (ms). A window starts at the first hit after the previous one ended. */
  windowMs: number;
}

/** What {@link SessionStore.hitCounters} decided. */
export type CounterVerdict =
  /** Every counter had room: each counted the hit. */
  | { allowed: true }
  /**
   * At least one counter was full: none counted the hit. `refusedBy` is the index (in the
   * list given) of the full counter whose window ends last, `retryAfterMs` the time until then.
   */
  | { allowed: false; refusedBy: number; retryAfterMs: number };

/** A named per-user value (for example, a user's own encrypted API key). */
export interface UserEntry {
  value: string;
  updatedAt: number;
}

export interface SessionStore {
  /** Short name used in logs and the self-audit, e.g. `redis`, `sqlite`, `memory`. */
  readonly kind: string;
  /** True only for stores that lose data on restart; production refuses them. */
  readonly volatile: boolean;

  /** Inserts a new record and adds it to the user's index. */
  create(session: StoredSession): Promise<void>;

  /**
   * Reads a record in one round trip and, if it is due, extends its idle expiry in the
   * same atomic step. Returns null when there is no record. Expired records are returned
   * as they are: the engine decides, so that lifecycle hooks run.
   */
  load(key: string, touch: TouchPolicy): Promise<StoredSession | null>;

  /**
   * Sets and deletes named data fields of an existing record atomically, leaving every
   * other field alone (two requests writing different fields both win). A write to a
   * rotated-out ID lands on its live successor (a request that read the record before the
   * rotation), unless `options.followMoved` is false: then it is not written. Returns false
   * when nothing was written (the record no longer exists, or moved and is not followed).
   */
  patch(key: string, set: Readonly<Record<string, string>>, unset: readonly string[], options?: PatchOptions): Promise<boolean>;

  /**
   * Sets one data field only if it is absent (and the record exists), atomically.
   * Returns the field's value afterwards (the winner's, if another caller was first),
   * or null when the record no longer exists.
   */
  setIfAbsent(key: string, name: string, value: string): Promise<string | null>;

  /**
   * Removes a record atomically and returns what it held (for lifecycle hooks), or null
   * if it was already gone. Exactly one concurrent caller receives the record.
   */
  take(key: string): Promise<StoredSession | null>;

  /**
   * {@link take} of several keys in one call (the sweeper's batches), result `i` for
   * `keys[i]`, each with `take`'s guarantee: exactly one concurrent caller receives a
   * record. For stores where one call is cheaper than many (SQLite: one transaction, one
   * sync to disk); without it, the engine calls `take` per key.
   */
  takeMany?(keys: readonly string[]): Promise<Array<StoredSession | null>>;

  /**
   * Moves the session at `from.key` to a new ID, atomically: if the record is still at
   * version `from.version` and has no successor, `successor` is stored and the old record
   * becomes a tombstone holding `link` (no data) until `link.keepUntil` or the session's end
   * ({@link dropTombstonesOf}: the store indexes it by the session's handle). Exactly one of any
   * number of concurrent callers (on any number of instances) gets `rotated`; every other
   * gets `moved` with the winner's link, and nothing of the losers' successors remains.
   * After it, writes to the old key ({@link patch}) land on the successor, and
   * {@link take} of the old key returns the tombstone (with `movedTo`).
   */
  rotate?(from: { key: string; version: number }, successor: StoredSession, link: SessionLink): Promise<RotateOutcome>;

  /**
   * Atomically ends the oldest records of a user beyond `max` (never `keep`, the session
   * just created) and returns them as {@link take} does: concurrent logins never leave more
   * than `max`, and each removed record is returned to exactly one caller. Expired records
   * are removed first.
   */
  trimUser?(userId: string, max: number, keep: string, now: number): Promise<StoredSession[]>;

  /**
   * Every live record of a user, each session once (stale index entries are dropped on the
   * way): never a tombstone, and never two records of one session, even while concurrent
   * callers {@link rotate} it (a losing successor is not a session).
   */
  listByUser(userId: string): Promise<StoredSession[]>;

  /**
   * Removes every tombstone that the session with this public handle left by rotating (its
   * rotated-out IDs, however many), never a live record; returns how many it removed. The
   * engine calls it at the session's end (after taking the live record), so that nothing of
   * a logged-out session stays until the tombstones' `keepUntil`, weeks later. Costs nothing
   * on a request: the store indexes tombstones by handle when {@link rotate} writes them.
   * Without it, the engine removes only the tombstones the record lists (its last 32).
   *
   * @example
   * await store.take(liveKey);
   * await store.dropTombstonesOf(record.handle); // the session's old IDs go with it
   */
  dropTombstonesOf?(handle: string): Promise<number>;

  /** Keys of records whose expiry is at or before `now`, oldest first, at most `limit`. */
  expiredKeys(now: number, limit: number): Promise<string[]>;

  /** Per-user named values (bring-your-own keys live here). */
  getUserEntries(userId: string): Promise<Record<string, UserEntry>>;
  setUserEntry(userId: string, name: string, entry: UserEntry): Promise<void>;
  /** Sets an entry only if absent; returns the entry that is stored afterwards. */
  setUserEntryIfAbsent(userId: string, name: string, entry: UserEntry): Promise<UserEntry>;
  /** Returns true if something was deleted. */
  deleteUserEntry(userId: string, name: string): Promise<boolean>;

  /** Every session key, in batches (for maintenance such as re-wrapping vault keys). */
  scanSessionKeys(): AsyncIterable<string[]>;
  /** Every user ID that has user entries, in batches. */
  scanUserIds(): AsyncIterable<string[]>;

  /**
   * Tries to take a named lease for `ttlMs` (so one instance of many runs a sweep).
   * Returns true if this owner holds it now.
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;

  /** Drops a lease whoever holds it (the thing it guarded is gone, e.g. its session ended). */
  releaseLease?(name: string): Promise<void>;

  /**
   * Counts one hit on several fixed-window counters of one group, all or nothing, in one
   * atomic step (one round trip): if every counter has room (fewer than `max` hits in its
   * current window), each counts the hit; otherwise none does and the verdict says when the
   * fullest one frees up. A window whose end is at or before `now` (the engine's clock)
   * starts over at `now`. The counters of one group share a Redis Cluster hash slot, so a
   * group is one subject (a user, or a session). Expired windows are dropped by the store
   * (Redis key expiry; SQLite and memory in {@link expiredKeys}, the sweep).
   * Used by the proxy's call limits (`proxy.limits`); a store without it cannot have them.
   *
   * @example
   * await store.hitCounters('u:alice', [{ name: 'all|u|60000', max: 600, windowMs: 60_000 }], Date.now());
   */
  hitCounters?(group: string, counters: readonly CounterHit[], now: number): Promise<CounterVerdict>;

  /** Throws {@link StoreUnavailableError} when the store cannot answer. */
  ping(): Promise<void>;

  /**
   * The store's own clock (ms since the epoch), for stores that have one (Redis `TIME`). The
   * engine then judges time by it alone (asked every few seconds, off the request path) and
   * never by another instance's `lastSeenAt`.
   */
  time?(): Promise<number>;

  /** Closes connections and files. Called on application shutdown. */
  close(): Promise<void>;
}
