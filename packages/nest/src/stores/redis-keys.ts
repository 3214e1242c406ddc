/**
 * The names of every key the Redis store writes, under one prefix. Each carries a hash tag
 * (`{...}`) naming what it belongs to, so every atomic step stays in one Redis Cluster slot:
 * a session record by its store key, a user's index, entries and sessions by age by the user
 * (one slot for the three), a session's rotated-out IDs by its public handle.
 *
 * @example
 * new RedisKeys('kw:').record(key) // 'kw:s:{<key>}'
 */
export class RedisKeys {
  /** @param prefix The store's namespace (`RedisStoreOptions.prefix`). */
  constructor(readonly prefix: string) {}

  /** A session record (a hash), or a rotated-out ID's tombstone. */
  record(key: string): string {
    return `${this.prefix}s:{${key}}`;
  }

  /** A record's fence: written (in the record's slot) only to be WAITed for when an end finds the record gone. */
  fence(key: string): string {
    return `${this.prefix}f:{${key}}`;
  }

  /** The store keys of a user's sessions (a set). */
  user(userId: string): string {
    return `${this.prefix}u:{${userId}}`;
  }

  /** A user's own named values (a hash). */
  userEntries(userId: string): string {
    return `${this.prefix}ue:{${userId}}`;
  }

  /** A user's sessions scored by creation time: the per-user cap trims it atomically. */
  byAge(userId: string): string {
    return `${this.prefix}uc:{${userId}}`;
  }

  /**
   * The store keys of a session's rotated-out IDs (a set, by the public handle every ID of
   * a session shares): the end of the session removes them all.
   */
  tombstones(handle: string): string {
    return `${this.prefix}t:{${handle}}`;
  }

  /** Every session's store key scored by (a lower bound of) its expiry: the sweep's index. */
  expiry(): string {
    return `${this.prefix}exp`;
  }

  lease(name: string): string {
    return `${this.prefix}lease:${name}`;
  }

  /** The part of a record's name before its store key (`SCAN` patterns). */
  get recordOpen(): string {
    return `${this.prefix}s:{`;
  }

  /** The part of a user entries' name before the user ID. */
  get userEntriesOpen(): string {
    return `${this.prefix}ue:{`;
  }
}
