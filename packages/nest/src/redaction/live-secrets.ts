import { createHmac, randomBytes } from 'node:crypto';
import { KeywardErrorCode, RedactionCapacityError } from '../keyward.errors.js';
import { MIN_SCRUBBABLE_LENGTH, encodedForms, registryEntryBytes } from './encoded-forms.js';
import { FormIndex } from './form-index.js';
import { REDACTION_DEFAULTS, type RedactionOptions, type ResolvedRedactionOptions } from './redaction-options.js';

// What users of the registry match and refuse by, with it.
export { MIN_SCRUBBABLE_LENGTH, encodedForms } from './encoded-forms.js';

const MIN_LENGTH = MIN_SCRUBBABLE_LENGTH;
const sizeOf = registryEntryBytes;

interface Entry {
  forms: string[];
  bytes: number;
  /** Run-time entries: the name the holder forgets it by (a minted key's id), if any. */
  tag?: string;
}

interface UserEntry extends Entry {
  /** Slots (user + credential name) holding this value. */
  holders: Set<string>;
  lastUsed: number;
}

interface Slot {
  /** Who ends the slot: a user (their own keys) or a session (its values), released together by {@link LiveSecrets.releaseOwner}. */
  owner: string;
  /** Whose bounds the slot counts against: always the user, also for a value stored in one of their sessions. */
  account: string;
  /** Ids held by the slot, oldest first (at most two: the current value and one replacing it). */
  ids: string[];
}

/**
 * Every secret the process holds live (server keys, minted keys, user keys, session
 * secrets, key-encryption keys), in every encoded form, so any text can be scrubbed of
 * them by exact match. Three pools, each bounded on its own, so none can push another's
 * secrets out:
 *
 * - **configuration** (`add(v, { pinned: true })`: session secrets, key-encryption keys,
 *   server keys, admin tokens): never forgotten;
 * - **run-time** (`add(v)`, every {@link Secret}): minted keys and values opened from
 *   the vault. Bounded in entries and bytes; past a bound the least recently *used*
 *   entry is forgotten (a key in use is registered again each time it is opened);
 * - **user** ({@link hold}): the keys users bring and values stored in sessions, which the
 *   vault accepts only in a key's shape (`checkUserKey`: no log syntax, not guessable text).
 *   Only values actually stored, one slot per user and credential name; replaced and deleted
 *   values leave at once. At most `perUser` per user, over the user's own keys and all their
 *   sessions' values; when the pool is full an idle entry may be forgotten, else the new key
 *   is refused: a user never evicts another's key in use, a session's key, or a pinned one.
 *
 * One registry per process, {@link liveSecrets}: the vault, the providers, the logger and
 * the stdio scrubber use it; bounds: `KeywardModule.forRoot({ redaction })`. A value held by
 * several pools or slots stays scrubbed until the last one releases it.
 */
export class LiveSecrets {
  /** Every tracked form, where scans look. */
  private readonly index = new FormIndex();
  private readonly config = new Map<string, Entry>();
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly runtime = new Map<string, Entry>();
  private readonly user = new Map<string, UserEntry>();
  private readonly slots = new Map<string, Slot>();
  /** Slots and counted bytes per account (user): the per-user bounds. */
  private readonly slotsOfAccount = new Map<string, Set<string>>();
  private readonly bytesPerUser = new Map<string, number>();
  /** Slots of each owner, so an owner that ends (a session) releases them all at once. */
  private readonly slotsOfOwner = new Map<string, Set<string>>();
  /** Tag -> run-time id, so a holder can forget a value it no longer has (a revoked key, by its id). */
  private readonly tags = new Map<string, string>();
  /** Told each value the registry no longer tracks in a pool (caches of derived forms drop theirs). */
  private readonly forgetListeners = new Set<(secret: string) => void>();
  private runtimeBytes = 0;
  private userBytes = 0;
  private limits: ResolvedRedactionOptions = REDACTION_DEFAULTS;
  private readonly now: () => number;

  /**
   * Internal: the process has one registry, {@link liveSecrets}; one made here is filled by
   * nothing Keyward does (tests look inside one). `limits`: per pool, or the run-time capacity.
   */
  constructor(limits: RedactionOptions | number = {}, now: () => number = Date.now) {
    this.configure(typeof limits === 'number' ? { capacity: limits } : limits);
    this.now = now;
  }

  /**
   * Sets the bounds (validated by `KeywardModule`'s option check; unset ones take their
   * default). A run-time pool over a new bound forgets its least recently used entries; the
   * user pool keeps what it holds and refuses new keys until it is under its bounds again.
   */
  configure(limits: RedactionOptions): void {
    this.limits = { ...REDACTION_DEFAULTS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
    this.trimRuntime();
  }

  /** The bounds in force. */
  get bounds(): ResolvedRedactionOptions {
    return this.limits;
  }

  /** Number of secrets tracked (all pools). */
  get size(): number {
    return this.config.size + this.runtime.size + this.user.size;
  }

  /** Entries and counted bytes per pool (for health checks and tests). */
  stats(): { config: number; runtime: number; runtimeBytes: number; user: number; userBytes: number; tags: number } {
    return { config: this.config.size, runtime: this.runtime.size, runtimeBytes: this.runtimeBytes, user: this.user.size, userBytes: this.userBytes, tags: this.tags.size };
  }

  /** Length of the longest form tracked so far. */
  get longestForm(): number {
    return this.index.longestForm;
  }

  /**
   * Starts scrubbing a secret (a string, or raw key bytes). `pinned` ones (configuration)
   * are never forgotten; others join the run-time pool. Values shorter than
   * {@link MIN_SCRUBBABLE_LENGTH} are ignored (false): refuse them where they enter.
   */
  add(secret: string | Buffer, options: { pinned?: boolean; tag?: string } = {}): boolean {
    const id = idOf(secret);
    if (id === null) return false;
    if (this.config.has(id)) return true;
    if (options.pinned) {
      this.config.set(id, this.create(secret));
      return true;
    }
    let entry = this.runtime.get(id);
    if (entry) {
      // Used again: the most recently used now.
      this.runtime.delete(id);
      this.runtime.set(id, entry);
    } else {
      entry = this.create(secret);
      this.runtime.set(id, entry);
      this.runtimeBytes += entry.bytes;
    }
    if (options.tag !== undefined && entry.tag !== options.tag) {
      if (entry.tag !== undefined) this.tags.delete(entry.tag);
      // A tag names one value: one that carried it before keeps being scrubbed, untagged.
      const other = this.tags.get(options.tag);
      const previous = other === undefined ? undefined : this.runtime.get(other);
      if (previous) previous.tag = undefined;
      entry.tag = options.tag;
      this.tags.set(options.tag, id);
    }
    this.trimRuntime();
    return true;
  }

  private trimRuntime(): void {
    while ((this.runtime.size > this.limits.capacity || this.runtimeBytes > this.limits.maxBytes) && this.runtime.size > 1) {
      this.forgetRuntime(this.runtime.keys().next().value as string);
    }
  }

  /**
   * Stops scrubbing a run-time value that can no longer be used (a minted key whose revocation
   * the issuer confirmed). Pinned values and users' held keys are not touched; true if tracked.
   */
  forget(secret: string | Buffer): boolean {
    const id = idOf(secret);
    return id !== null && this.forgetRuntime(id);
  }

  /** {@link forget} by the tag the value was added with (`add(v, { tag })`): a holder that keeps only an id. */
  forgetTagged(tag: string): boolean {
    const id = this.tags.get(tag);
    return id !== undefined && this.forgetRuntime(id);
  }

  /**
   * Calls `listener` with each string value the registry stops tracking in some pool
   * (forgotten, evicted, released), so a cache of forms derived from it can drop them.
   * Returns a function that removes the listener.
   */
  onForget(listener: (secret: string) => void): () => void {
    this.forgetListeners.add(listener);
    return () => this.forgetListeners.delete(listener);
  }

  private forgetRuntime(id: string): boolean {
    const e = this.runtime.get(id);
    if (!e) return false;
    this.runtime.delete(id);
    this.runtimeBytes -= e.bytes;
    if (e.tag !== undefined && this.tags.get(e.tag) === id) this.tags.delete(e.tag);
    this.drop(e);
    this.forgotten(id);
    return true;
  }

  private forgotten(id: string): void {
    if (this.forgetListeners.size === 0 || !id.startsWith('s:')) return;
    const secret = id.slice(2);
    for (const l of this.forgetListeners) l(secret);
  }

  /**
   * Scrubs a user-supplied value on behalf of `slot` (one per owner and credential name)
   * until {@link release}d or its `owner` ends ({@link releaseOwner}). The owner is the user
   * for their own keys, or the session a value was stored in; `account` (default: the
   * owner) is the user whose bounds it counts against, whichever session holds it. Returns
   * true if the slot did not hold this value yet. Throws a {@link RedactionCapacityError}
   * (and registers nothing) when the account already holds `perUser` slots or
   * `perUserBytes`, or the pool is full of keys in use.
   */
  hold(slot: string, owner: string, secret: string, account: string = owner): boolean {
    const id = idOf(secret);
    if (id === null) throw new TypeError(`A user key must be at least ${MIN_LENGTH} characters to be scrubbed.`);
    const now = this.now();
    let s = this.slots.get(slot);
    const existing = this.user.get(id);
    if (s?.ids.includes(id)) {
      existing!.lastUsed = now;
      this.touchUser(id, existing!);
      return false;
    }
    if (!s && (this.slotsOfAccount.get(account)?.size ?? 0) >= this.limits.perUser && !this.forgetIdleOf(account, now)) {
      throw new RedactionCapacityError(KeywardErrorCode.KeyLimit, `You already hold ${this.limits.perUser} keys; delete one before adding another.`);
    }
    const forms = existing ? existing.forms : encodedForms(secret);
    const bytes = existing ? existing.bytes : sizeOf(forms);
    const replaced = (s?.ids ?? []).reduce((n, x) => n + (this.user.get(x)?.bytes ?? 0), 0);
    if ((this.bytesPerUser.get(account) ?? 0) - replaced + bytes > this.limits.perUserBytes) {
      throw new RedactionCapacityError(KeywardErrorCode.KeyLimit, 'Your keys are too large in total to keep out of logs; delete one before adding another.');
    }
    let entry = existing;
    if (!entry) {
      this.makeRoom(bytes, now);
      entry = { ...this.create(secret, forms), holders: new Set(), lastUsed: now };
      this.user.set(id, entry);
      this.userBytes += entry.bytes;
    }
    entry.lastUsed = now;
    this.touchUser(id, entry);
    entry.holders.add(slot);
    if (!s) {
      this.slots.set(slot, (s = { owner, account, ids: [] }));
      let counted = this.slotsOfAccount.get(account);
      if (!counted) this.slotsOfAccount.set(account, (counted = new Set()));
      counted.add(slot);
      let owned = this.slotsOfOwner.get(owner);
      if (!owned) this.slotsOfOwner.set(owner, (owned = new Set()));
      owned.add(slot);
    }
    s.ids.push(id);
    this.bytesPerUser.set(account, (this.bytesPerUser.get(account) ?? 0) + entry.bytes);
    // A slot holds its current value and at most one replacing it.
    while (s.ids.length > 2) this.unhold(slot, s, s.ids[0]!);
    return true;
  }

  /** True if `slot` holds `secret` already (a value opened again needs no new checks). */
  holds(slot: string, secret: string): boolean {
    const id = idOf(secret);
    return id !== null && (this.slots.get(slot)?.ids.includes(id) ?? false);
  }

  /**
   * Stops scrubbing values of `slot`: all of them, all but `keep` (after a replacement
   * was stored), or only `only` (after storing it failed). Values other holders still
   * hold stay scrubbed.
   */
  release(slot: string, which: { keep?: string; only?: string } = {}): void {
    const s = this.slots.get(slot);
    if (!s) return;
    const keep = which.keep === undefined ? null : idOf(which.keep);
    const only = which.only === undefined ? null : idOf(which.only);
    for (const id of [...s.ids]) {
      if (keep !== null && id === keep) continue;
      if (which.only !== undefined && id !== only) continue;
      this.unhold(slot, s, id);
    }
  }

  /** Stops scrubbing every value `owner` holds (a session that ended); values other holders still hold stay scrubbed. */
  releaseOwner(owner: string): void {
    for (const slot of [...(this.slotsOfOwner.get(owner) ?? [])]) this.release(slot);
  }

  /** True if the text contains any tracked secret in any form. */
  contains(text: string): boolean {
    return this.index.contains(text);
  }

  /** The text with every tracked secret replaced by `[REDACTED]`. */
  scrub(text: string): string {
    return this.index.scrub(text);
  }

  /** Where `text` may be cut so that no tracked form straddles the cut: `at`, or the end of a form spanning it. */
  safeCut(text: string, at: number): number {
    return this.index.safeCut(text, at);
  }

  /** Where the tail of `text` that could be the start of a tracked form begins (`text.length` if none). */
  pendingStart(text: string): number {
    return this.index.pendingStart(text);
  }

  private create(secret: string | Buffer, forms = encodedForms(secret)): Entry {
    this.index.add(forms);
    return { forms, bytes: sizeOf(forms) };
  }

  private drop(entry: Entry): void {
    this.index.remove(entry.forms);
  }

  private touchUser(id: string, entry: UserEntry): void {
    this.user.delete(id);
    this.user.set(id, entry);
  }

  /** Frees room for `bytes` in the user pool by forgetting idle entries only; refuses otherwise. */
  private makeRoom(bytes: number, now: number): void {
    while (this.user.size + 1 > this.limits.userCapacity || this.userBytes + bytes > this.limits.userMaxBytes) {
      const first = this.user.entries().next().value as [string, UserEntry] | undefined;
      if (!first || now - first[1].lastUsed < this.limits.userIdleMs) {
        throw new RedactionCapacityError(KeywardErrorCode.RedactionCapacity, 'Too many keys are in use right now to store another safely; try again later.');
      }
      const [id, entry] = first;
      for (const slot of [...entry.holders]) {
        const s = this.slots.get(slot);
        if (s) this.unhold(slot, s, id);
      }
    }
  }

  /**
   * Makes room in one account: forgets the slot of its values used longest ago, if that is
   * longer than `userIdleMs` (a value left in a session the user no longer uses; opening it
   * again registers it again). False when every slot is in use.
   */
  private forgetIdleOf(account: string, now: number): boolean {
    let oldest: { slot: string; s: Slot; lastUsed: number } | undefined;
    for (const slot of this.slotsOfAccount.get(account) ?? []) {
      const s = this.slots.get(slot);
      if (!s) continue;
      const lastUsed = Math.max(...s.ids.map((id) => this.user.get(id)?.lastUsed ?? 0));
      if (!oldest || lastUsed < oldest.lastUsed) oldest = { slot, s, lastUsed };
    }
    if (!oldest || now - oldest.lastUsed < this.limits.userIdleMs) return false;
    for (const id of [...oldest.s.ids]) this.unhold(oldest.slot, oldest.s, id);
    return true;
  }

  private unhold(slot: string, s: Slot, id: string): void {
    if (!s.ids.includes(id)) return;
    s.ids = s.ids.filter((x) => x !== id);
    const held = (this.bytesPerUser.get(s.account) ?? 0) - (this.user.get(id)?.bytes ?? 0);
    if (held > 0) this.bytesPerUser.set(s.account, held);
    else this.bytesPerUser.delete(s.account);
    if (s.ids.length === 0) {
      this.slots.delete(slot);
      const owned = this.slotsOfOwner.get(s.owner);
      owned?.delete(slot);
      if (owned?.size === 0) this.slotsOfOwner.delete(s.owner);
      const counted = this.slotsOfAccount.get(s.account);
      counted?.delete(slot);
      if (counted?.size === 0) this.slotsOfAccount.delete(s.account);
    }
    const entry = this.user.get(id);
    if (!entry) return;
    entry.holders.delete(slot);
    if (entry.holders.size > 0) return;
    this.user.delete(id);
    this.userBytes -= entry.bytes;
    this.drop(entry);
    this.forgotten(id);
  }
}

function idOf(secret: string | Buffer): string | null {
  if (typeof secret === 'string') return secret.length >= MIN_LENGTH ? `s:${secret}` : null;
  return Buffer.isBuffer(secret) && secret.length > 0 ? `b:${secret.toString('base64')}` : null;
}

/**
 * The process's one registry: the vault, the providers and `Secret` add to it, the
 * redacting logger, the stdio scrubber and the proxy's echo scrubber read it. Bounds:
 * `KeywardModule.forRoot({ redaction })`.
 */
export const liveSecrets = new LiveSecrets();

const logKey = randomBytes(32);

/**
 * A keyed hash of a session (or any) identifier for log lines: two lines about the same
 * session can be correlated, and the identifier cannot be recovered. The key is random
 * per process.
 */
export function logId(identifier: string): string {
  return createHmac('sha256', logKey).update(identifier).digest('base64url').slice(0, 16);
}
