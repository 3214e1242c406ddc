import { createHmac, randomBytes } from 'node:crypto';
import { REDACTED } from '@keyward/core';
import { KeywardErrorCode, RedactionCapacityError } from '../keyward.errors.js';

const MARK = REDACTED;
/**
 * The shortest value the registry can scrub reliably: every encoded form of an 8-character
 * value is at least 8 characters long, and the scan indexes forms by their first 8. Keys
 * shorter than this are refused wherever Keyward accepts a key (server keys at startup,
 * minted keys when issued, user keys when submitted), never accepted unscrubbed.
 */
export const MIN_SCRUBBABLE_LENGTH = 8;
const MIN_LENGTH = MIN_SCRUBBABLE_LENGTH;

/** Base64 characters of `b` at byte offset `shift` inside a larger base64 value (those that depend on `b` alone). */
function base64Core(b: Buffer, shift: 0 | 1 | 2): string {
  const text = Buffer.concat([Buffer.alloc(shift), b, Buffer.alloc(3)]).toString('base64');
  return text.slice(Math.ceil((shift * 8) / 6), Math.floor(((shift + b.length) * 8) / 6));
}

/** The forms a secret may take in text: raw, base64 (padded or not), base64url, hex, URL-encoded. */
export function encodedForms(secret: string | Buffer): string[] {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  const forms = new Set<string>([b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase()]);
  // Also inside a larger base64 value (e.g. Basic auth of "user:key", a base64 JSON document).
  for (const shift of [0, 1, 2] as const) {
    const core = base64Core(b, shift);
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  if (typeof secret === 'string') {
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1)); // as it appears inside a JSON string
  }
  return [...forms].filter((f) => f.length >= MIN_LENGTH);
}

/** Bounds of a {@link LiveSecrets} registry. Every bound is per pool: one pool never evicts another's entries. */
export interface LiveSecretsLimits {
  /**
   * Run-time secrets (minted keys, values opened from the vault, `liveSecrets.add()`):
   * at most this many; past it the least recently used are forgotten.
   * @default 20_000
   */
  capacity?: number;
  /**
   * Run-time secrets: at most this many bytes of V8 heap (as {@link registryEntryBytes}
   * counts them; least recently used forgotten past it). The default holds `capacity`
   * (20,000) keys of up to 64 characters (about 2.9 KB each), so for ordinary keys the entry
   * count is the bound that applies; this one caps long values.
   * @default 64 MiB
   */
  maxBytes?: number;
  /**
   * Users' own keys (all users): at most this many.
   * @default 20_000
   */
  userCapacity?: number;
  /**
   * Users' own keys (all users): at most this many bytes of V8 heap (as for `maxBytes`).
   * @default 64 MiB
   */
  userMaxBytes?: number;
  /**
   * Keys one user may hold at a time (one per credential name, plus one being replaced).
   * @default 32
   */
  perUser?: number;
  /**
   * Bytes one user (or session) may hold, counted as for `maxBytes` (a value being replaced is not counted).
   * @default 1 MiB
   */
  perUserBytes?: number;
  /**
   * A user's key not stored or opened for this long may be forgotten to make room for
   * another user's (its plaintext is then no longer in memory: the vault holds only
   * ciphertext, and opening it registers it again before it is revealed). A key used
   * more recently than this is never pushed out: the new one is refused instead.
   * @default 900_000 (15 minutes)
   */
  userIdleMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

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
  user: string;
  /** Ids held by the slot, oldest first (at most two: the current value and one replacing it). */
  ids: string[];
}

/**
 * Size of an entry on the V8 heap, as measured (bench/src/probe/mem-registry.mjs, Node 20):
 * about 512 bytes for the entry, 200 per form (the string's header, its place in the form
 * map, its prefix and prefix set) and one per character (forms are ASCII or one-byte
 * strings). A 43-character key: 8 forms, 503 characters, measured 2,586 bytes (this counts
 * 2,615); a 200-character key: measured 4,267 (counts 4,445). The earlier count (two bytes
 * per character, 96 per form) said 1,838 and 5,498: 30% low for ordinary keys, so the byte
 * bound allowed more heap than it said.
 */
export function registryEntryBytes(forms: readonly string[]): number {
  return forms.reduce((n, f) => n + f.length + 200, 512);
}
const sizeOf = registryEntryBytes;

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
 * - **user** ({@link hold}): the keys users bring. Only values actually stored, one slot
 *   per user and credential name; replaced and deleted values leave at once. At most
 *   `perUser` per user; when the pool is full, an idle entry may be forgotten, else the
 *   new key is refused: a user can never evict another user's key in use, a session's
 *   key, or a configuration secret.
 *
 * Values shared by several pools or slots are counted per holder: releasing one never
 * stops the others being scrubbed.
 */
export class LiveSecrets {
  private readonly forms = new Map<string, number>(); // form -> refcount
  /** Forms indexed by their first MIN_LENGTH characters: a scan costs one map lookup per position, whatever the number of secrets. */
  private readonly byPrefix = new Map<string, Set<string>>();
  private readonly config = new Map<string, Entry>();
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly runtime = new Map<string, Entry>();
  private readonly user = new Map<string, UserEntry>();
  private readonly slots = new Map<string, Slot>();
  private readonly slotsPerUser = new Map<string, number>();
  /** Slots of each owner, so an owner that ends (a session) releases them all at once. */
  private readonly slotsOfOwner = new Map<string, Set<string>>();
  private readonly bytesPerUser = new Map<string, number>();
  /** Tag -> run-time id, so a holder can forget a value it no longer has (a revoked key, by its id). */
  private readonly tags = new Map<string, string>();
  /** Told each value the registry no longer tracks in a pool (caches of derived forms drop theirs). */
  private readonly forgetListeners = new Set<(secret: string) => void>();
  private runtimeBytes = 0;
  private userBytes = 0;
  private longest = 0;
  private readonly limits: Required<Omit<LiveSecretsLimits, 'now'>>;
  private readonly now: () => number;

  /** @param limits bounds of each pool, or (as before) the run-time capacity alone. */
  constructor(limits: LiveSecretsLimits | number = {}) {
    const l = typeof limits === 'number' ? { capacity: limits } : limits;
    this.limits = {
      capacity: l.capacity ?? 20_000,
      maxBytes: l.maxBytes ?? 64 * 1024 * 1024,
      userCapacity: l.userCapacity ?? 20_000,
      userMaxBytes: l.userMaxBytes ?? 64 * 1024 * 1024,
      perUser: l.perUser ?? 32,
      perUserBytes: l.perUserBytes ?? 1024 * 1024,
      userIdleMs: l.userIdleMs ?? 900_000,
    };
    this.now = l.now ?? Date.now;
  }

  /** Number of secrets tracked (all pools). */
  get size(): number {
    return this.config.size + this.runtime.size + this.user.size;
  }

  /** Entries and counted bytes per pool (for health checks and tests). */
  stats(): { config: number; runtime: number; runtimeBytes: number; user: number; userBytes: number; tags: number } {
    return { config: this.config.size, runtime: this.runtime.size, runtimeBytes: this.runtimeBytes, user: this.user.size, userBytes: this.userBytes, tags: this.tags.size };
  }

  /** Length of the longest form tracked so far (the stdio scrubber holds back this much of an unfinished line). */
  get longestForm(): number {
    return this.longest;
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
    while ((this.runtime.size > this.limits.capacity || this.runtimeBytes > this.limits.maxBytes) && this.runtime.size > 1) {
      this.forgetRuntime(this.runtime.keys().next().value as string);
    }
    return true;
  }

  /**
   * Stops scrubbing a run-time value that can no longer be used (a minted key whose
   * revocation the issuer confirmed), before the bounds would push it out. Pinned values and
   * users' held keys are not touched. Returns true if it was tracked.
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
   * Scrubs a user's own key on behalf of `slot` (one per user and credential name) until
   * {@link release}d. Returns true if the slot did not hold this value yet. Throws a
   * {@link RedactionCapacityError} (and registers nothing) when the user already holds
   * `perUser` slots or the pool is full of keys in use.
   */
  hold(slot: string, user: string, secret: string): boolean {
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
    if (!s && (this.slotsPerUser.get(user) ?? 0) >= this.limits.perUser) {
      throw new RedactionCapacityError(KeywardErrorCode.KeyLimit, `You already hold ${this.limits.perUser} keys; delete one before adding another.`);
    }
    const forms = existing ? existing.forms : encodedForms(secret);
    const bytes = existing ? existing.bytes : sizeOf(forms);
    const replaced = (s?.ids ?? []).reduce((n, x) => n + (this.user.get(x)?.bytes ?? 0), 0);
    if ((this.bytesPerUser.get(user) ?? 0) - replaced + bytes > this.limits.perUserBytes) {
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
      this.slots.set(slot, (s = { user, ids: [] }));
      this.slotsPerUser.set(user, (this.slotsPerUser.get(user) ?? 0) + 1);
      let owned = this.slotsOfOwner.get(user);
      if (!owned) this.slotsOfOwner.set(user, (owned = new Set()));
      owned.add(slot);
    }
    s.ids.push(id);
    this.bytesPerUser.set(user, (this.bytesPerUser.get(user) ?? 0) + entry.bytes);
    // A slot holds its current value and at most one replacing it.
    while (s.ids.length > 2) this.unhold(slot, s, s.ids[0]!);
    return true;
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
    return this.find(text, 0) !== null;
  }

  /** The text with every tracked secret replaced by `[REDACTED]`. */
  scrub(text: string): string {
    if (this.forms.size === 0 || text.length < MIN_LENGTH) return text;
    let out = '';
    let from = 0;
    for (let hit = this.find(text, 0); hit !== null; hit = this.find(text, from)) {
      out += text.slice(from, hit.at) + MARK;
      from = hit.at + hit.form.length;
    }
    return from === 0 ? text : out + text.slice(from);
  }

  /**
   * Where `text` may be cut so that no tracked form straddles the cut: `at` itself, or the
   * end of a form that spans it (for writers that emit a long text in pieces).
   */
  safeCut(text: string, at: number): number {
    let cut = Math.max(0, Math.min(at, text.length));
    for (let i = Math.max(0, cut - this.longest + 1); i < cut; i++) {
      const bucket = this.byPrefix.get(text.slice(i, i + MIN_LENGTH));
      if (!bucket) continue;
      for (const f of bucket) if (i + f.length > cut && text.startsWith(f, i)) cut = i + f.length;
    }
    return cut;
  }

  private find(text: string, start: number): { at: number; form: string } | null {
    for (let i = start; i <= text.length - MIN_LENGTH; i++) {
      const bucket = this.byPrefix.get(text.slice(i, i + MIN_LENGTH));
      if (!bucket) continue;
      let best: string | undefined;
      for (const f of bucket) if ((!best || f.length > best.length) && text.startsWith(f, i)) best = f;
      if (best) return { at: i, form: best };
    }
    return null;
  }

  private create(secret: string | Buffer, forms = encodedForms(secret)): Entry {
    for (const f of forms) {
      this.forms.set(f, (this.forms.get(f) ?? 0) + 1);
      const prefix = f.slice(0, MIN_LENGTH);
      let bucket = this.byPrefix.get(prefix);
      if (!bucket) this.byPrefix.set(prefix, (bucket = new Set()));
      bucket.add(f);
      if (f.length > this.longest) this.longest = f.length;
    }
    return { forms, bytes: sizeOf(forms) };
  }

  private drop(entry: Entry): void {
    for (const f of entry.forms) {
      const n = (this.forms.get(f) ?? 1) - 1;
      if (n > 0) this.forms.set(f, n);
      else {
        this.forms.delete(f);
        const bucket = this.byPrefix.get(f.slice(0, MIN_LENGTH));
        bucket?.delete(f);
        if (bucket?.size === 0) this.byPrefix.delete(f.slice(0, MIN_LENGTH));
      }
    }
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

  private unhold(slot: string, s: Slot, id: string): void {
    if (!s.ids.includes(id)) return;
    s.ids = s.ids.filter((x) => x !== id);
    const held = (this.bytesPerUser.get(s.user) ?? 0) - (this.user.get(id)?.bytes ?? 0);
    if (held > 0) this.bytesPerUser.set(s.user, held);
    else this.bytesPerUser.delete(s.user);
    if (s.ids.length === 0) {
      this.slots.delete(slot);
      const owned = this.slotsOfOwner.get(s.user);
      owned?.delete(slot);
      if (owned?.size === 0) this.slotsOfOwner.delete(s.user);
      const n = (this.slotsPerUser.get(s.user) ?? 1) - 1;
      if (n > 0) this.slotsPerUser.set(s.user, n);
      else this.slotsPerUser.delete(s.user);
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

/** The process-wide registry: the vault, the providers and `Secret` add to it. */
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
