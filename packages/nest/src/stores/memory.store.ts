import { decideHits, type CounterWindow } from './counter-window.js';
import type { CounterHit, CounterVerdict, PatchOptions, RotateOutcome, SessionLink, SessionStore, StoredSession, TouchPolicy, UserEntry } from './session-store.interface.js';
import { applyTouch, cloneSession, expiryOf, tombstoneOf } from './store-record.js';

/**
 * A store in process memory, for unit tests and throwaway experiments only. Sessions
 * vanish on restart and are not shared between instances; production refuses it.
 *
 * @example
 * KeywardModule.forRoot({ session: { store: new MemoryStore(), secrets: [...] } })
 */
export class MemoryStore implements SessionStore {
  readonly kind = 'memory';
  readonly volatile = true;
  private readonly sessions = new Map<string, StoredSession>();
  private readonly users = new Map<string, Map<string, UserEntry>>();
  private readonly leases = new Map<string, { owner: string; until: number }>();
  /** Rotated-out IDs' tombstones, by their old store key. */
  private readonly moved = new Map<string, StoredSession>();
  /** The old store keys in `moved`, by the session's handle (`dropTombstonesOf`). */
  private readonly movedByHandle = new Map<string, Set<string>>();
  /** Call counters (`hitCounters`), by group and name. */
  private readonly counters = new Map<string, CounterWindow>();

  async create(session: StoredSession): Promise<void> {
    this.sessions.set(session.key, cloneSession(session));
  }

  async load(key: string, touch: TouchPolicy): Promise<StoredSession | null> {
    const s = this.sessions.get(key);
    if (!s) return this.tombstone(key, touch.now);
    applyTouch(s, touch);
    return cloneSession(s);
  }

  async patch(key: string, set: Readonly<Record<string, string>>, unset: readonly string[], options?: PatchOptions): Promise<boolean> {
    const s = this.sessions.get(options?.followMoved === false ? key : this.follow(key));
    if (!s) return false;
    for (const name of unset) delete s.data[name];
    // Spread defines own properties, so a field named `__proto__` is kept as data
    // (Object.assign would call the prototype setter and drop it).
    s.data = { ...s.data, ...set };
    s.version += 1;
    return true;
  }

  async setIfAbsent(key: string, name: string, value: string): Promise<string | null> {
    const s = this.sessions.get(key);
    if (!s) return null;
    // Own properties only: `toString` or `__proto__` are absent fields, not inherited members.
    if (!Object.hasOwn(s.data, name)) {
      s.data = { ...s.data, [name]: value };
      s.version += 1;
    }
    return Object.getOwnPropertyDescriptor(s.data, name)!.value as string;
  }

  async take(key: string): Promise<StoredSession | null> {
    const s = this.sessions.get(key);
    if (!s) {
      // A tombstone, however old: ending it is all that is left to do.
      const t = this.tombstone(key, Number.NEGATIVE_INFINITY);
      this.unmove(key);
      return t;
    }
    this.sessions.delete(key);
    return s;
  }

  async rotate(from: { key: string; version: number }, successor: StoredSession, link: SessionLink): Promise<RotateOutcome> {
    const moved = this.moved.get(from.key);
    if (moved?.movedTo) return { state: 'moved', link: { ...moved.movedTo } };
    const s = this.sessions.get(from.key);
    if (!s) return { state: 'gone' };
    if (s.version !== from.version) return { state: 'stale' };
    this.sessions.delete(from.key);
    this.sessions.set(successor.key, cloneSession(successor));
    this.moved.set(from.key, tombstoneOf(s, link));
    let mine = this.movedByHandle.get(s.handle);
    if (!mine) this.movedByHandle.set(s.handle, (mine = new Set()));
    mine.add(from.key);
    return { state: 'rotated' };
  }

  async dropTombstonesOf(handle: string): Promise<number> {
    const keys = this.movedByHandle.get(handle);
    if (!keys) return 0;
    this.movedByHandle.delete(handle);
    for (const key of keys) this.moved.delete(key);
    return keys.size;
  }

  /** Forgets one tombstone and its entry in the handle's index. */
  private unmove(key: string): void {
    const t = this.moved.get(key);
    if (!t) return;
    this.moved.delete(key);
    const mine = this.movedByHandle.get(t.handle);
    mine?.delete(key);
    if (mine?.size === 0) this.movedByHandle.delete(t.handle);
  }

  async trimUser(userId: string, max: number, keep: string, now: number): Promise<StoredSession[]> {
    const mine = [...this.sessions.values()].filter((s) => s.userId === userId);
    const excess = mine.length - max;
    if (excess <= 0) return [];
    const victims = mine
      .filter((s) => s.key !== keep)
      .sort((a, b) => Number(expiryOf(b) <= now) - Number(expiryOf(a) <= now) || a.createdAt - b.createdAt)
      .slice(0, excess);
    for (const v of victims) this.sessions.delete(v.key);
    return victims;
  }

  /** The key a write to `key` lands on: the live successor of a rotated-out key. */
  private follow(key: string): string {
    for (let i = 0; i < 8 && !this.sessions.has(key); i++) {
      const next = this.moved.get(key)?.movedTo?.key;
      if (!next) break;
      key = next;
    }
    return key;
  }

  /** A rotated-out ID's tombstone while it is kept (until `keepUntil`, judged at `now`: the engine's clock). */
  private tombstone(key: string, now: number): StoredSession | null {
    const t = this.moved.get(key);
    if (!t || t.movedTo!.keepUntil <= now) return null;
    return { ...cloneSession(t), movedTo: { ...t.movedTo! } };
  }

  async listByUser(userId: string): Promise<StoredSession[]> {
    return [...this.sessions.values()].filter((s) => s.userId === userId).map(cloneSession);
  }

  async expiredKeys(now: number, limit: number): Promise<string[]> {
    // Tombstones of rotated-out IDs are kept to the session's deadline, then dropped here
    // (the sweep is the one call that runs whether or not anyone presents the old ID).
    for (const [key, t] of this.moved) if (t.movedTo!.keepUntil <= now) this.unmove(key);
    for (const [key, w] of this.counters) if (w.resetAt <= now) this.counters.delete(key);
    return [...this.sessions.values()]
      .filter((s) => expiryOf(s) <= now)
      .sort((a, b) => expiryOf(a) - expiryOf(b))
      .slice(0, limit)
      .map((s) => s.key);
  }

  async getUserEntries(userId: string): Promise<Record<string, UserEntry>> {
    return Object.fromEntries([...(this.users.get(userId) ?? new Map()).entries()].map(([k, v]) => [k, { ...v }]));
  }

  async setUserEntry(userId: string, name: string, entry: UserEntry): Promise<void> {
    let m = this.users.get(userId);
    if (!m) this.users.set(userId, (m = new Map()));
    m.set(name, { ...entry });
  }

  async setUserEntryIfAbsent(userId: string, name: string, entry: UserEntry): Promise<UserEntry> {
    const existing = this.users.get(userId)?.get(name);
    if (existing) return { ...existing };
    await this.setUserEntry(userId, name, entry);
    return { ...entry };
  }

  async *scanSessionKeys(): AsyncIterable<string[]> {
    yield [...this.sessions.keys()];
  }

  async *scanUserIds(): AsyncIterable<string[]> {
    yield [...this.users.keys()];
  }

  async deleteUserEntry(userId: string, name: string): Promise<boolean> {
    return this.users.get(userId)?.delete(name) ?? false;
  }

  async releaseLease(name: string): Promise<void> {
    this.leases.delete(name);
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const lease = this.leases.get(name);
    if (lease && lease.until > now && lease.owner !== owner) return false;
    this.leases.set(name, { owner, until: now + ttlMs });
    return true;
  }

  async hitCounters(group: string, counters: readonly CounterHit[], now: number): Promise<CounterVerdict> {
    // Synchronous from read to write: atomic within this process, which is all this store serves.
    const keys = counters.map((c) => `${group}\0${c.name}`);
    const { verdict, next } = decideHits(keys.map((k) => this.counters.get(k)), counters, now);
    next.forEach((w, i) => this.counters.set(keys[i]!, w));
    return verdict;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
