import { randomBytes } from 'node:crypto';
import { digestSecret, digestsEqual } from './secret-compare.js';
import type { KeyListing, KeyStatus, MintOptions, MintedKey, ServerKeyInput } from './types.js';

/** Upper bound for a minted key's lifetime (one year). */
export const MAX_TTL_MS = 366 * 24 * 60 * 60 * 1000;
/** Upper bound for a minted key's label. */
export const MAX_LABEL_LENGTH = 200;
/** Inactive minted keys are forgotten this long after they stopped working. */
const FORGET_INACTIVE_AFTER_MS = 24 * 60 * 60 * 1000;

/** Which key authenticated a request. */
export interface Authenticated {
  readonly keyId: string;
  readonly kind: 'server' | 'minted';
}

interface HashEntry {
  readonly digest: Buffer;
  readonly keyId: string;
  readonly kind: 'server' | 'minted';
}

interface MintedRecord {
  readonly id: string;
  readonly digestHex: string;
  readonly label: string | null;
  readonly expiresAtMs: number;
  revokedAtMs: number | null;
}

/** Thrown for invalid mint options; the message is safe to show to the client. */
export class MintOptionsError extends Error {
  override readonly name = 'MintOptionsError';
}

/**
 * Holds every key the upstream accepts. Keys are stored only as SHA-256 digests, looked
 * up by digest and confirmed with a constant-time comparison, so no lookup time depends
 * on a prefix of the presented key.
 */
export class KeyRegistry {
  readonly #byDigest = new Map<string, HashEntry>();
  readonly #serverKeys = new Map<string, string>(); // id -> digest hex, insertion-ordered
  readonly #minted = new Map<string, MintedRecord>();
  readonly #defaultTtlMs: number;
  readonly #now: () => number;
  #mintedCount = 0;
  #revokedCount = 0;
  #nextServerIndex = 1;

  constructor(options: {
    serverKeys: ReadonlyArray<ServerKeyInput>;
    defaultTtlMs: number;
    now?: () => number;
  }) {
    this.#defaultTtlMs = options.defaultTtlMs;
    this.#now = options.now ?? Date.now;
    options.serverKeys.forEach((input, index) => {
      if (typeof input === 'string') this.addServerKey(input, `server-${index + 1}`);
      else if (input !== null && typeof input === 'object') this.addServerKey(input.key, input.id);
      else throw new TypeError(`serverKeys[${index}] must be a string or {id, key}`);
    });
    this.#nextServerIndex = options.serverKeys.length + 1;
  }

  /** Ids of the accepted server keys, in insertion order. */
  get serverKeyIds(): string[] {
    return [...this.#serverKeys.keys()];
  }

  /** Accepts another server key; returns its id. */
  addServerKey(key: string, id?: string): string {
    if (typeof key !== 'string' || key.length === 0) throw new TypeError('server key must be a non-empty string');
    let keyId = id;
    if (keyId === undefined) {
      do keyId = `server-${this.#nextServerIndex++}`;
      while (this.#serverKeys.has(keyId));
    }
    if (typeof keyId !== 'string' || keyId.length === 0) throw new TypeError('server key id must be a non-empty string');
    if (this.#serverKeys.has(keyId) || this.#minted.has(keyId)) throw new TypeError(`duplicate key id '${keyId}'`);
    const digest = digestSecret(key);
    const digestHex = digest.toString('hex');
    if (this.#byDigest.has(digestHex)) throw new TypeError(`server key '${keyId}' duplicates another key`);
    this.#byDigest.set(digestHex, { digest, keyId, kind: 'server' });
    this.#serverKeys.set(keyId, digestHex);
    return keyId;
  }

  /** Stops accepting a server key; returns false if the id is unknown. */
  removeServerKey(id: string): boolean {
    const digestHex = this.#serverKeys.get(id);
    if (digestHex === undefined) return false;
    this.#serverKeys.delete(id);
    this.#byDigest.delete(digestHex);
    return true;
  }

  /** Returns which key `presented` is, or null if it is not an active key. */
  authenticate(presented: string): Authenticated | null {
    if (presented.length === 0) return null;
    const digest = digestSecret(presented);
    const digestHex = digest.toString('hex');
    const entry = this.#byDigest.get(digestHex);
    if (entry === undefined) {
      digestsEqual(digest, digest); // keep the work roughly uniform
      return null;
    }
    if (!digestsEqual(entry.digest, digest)) return null;
    if (entry.kind === 'minted') {
      const record = this.#minted.get(entry.keyId);
      if (record === undefined || !this.#isActive(record)) {
        this.#byDigest.delete(digestHex);
        return null;
      }
    }
    return { keyId: entry.keyId, kind: entry.kind };
  }

  /**
   * Mints a key. Throws {@link MintOptionsError} for a bad `ttlMs` or `label`.
   */
  mint(options: MintOptions = {}): MintedKey {
    const ttlMs = options.ttlMs ?? this.#defaultTtlMs;
    if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TTL_MS) {
      throw new MintOptionsError(`ttlMs must be an integer between 1 and ${MAX_TTL_MS}`);
    }
    const label = options.label ?? null;
    if (label !== null && (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH)) {
      throw new MintOptionsError(`label must be a string of at most ${MAX_LABEL_LENGTH} characters`);
    }
    this.#forgetStale();
    let id: string;
    do id = `mk_${randomBytes(8).toString('hex')}`;
    while (this.#minted.has(id));
    const key = `dk_live_${randomBytes(32).toString('base64url')}`;
    const digest = digestSecret(key);
    const digestHex = digest.toString('hex');
    const expiresAtMs = this.#now() + ttlMs;
    this.#byDigest.set(digestHex, { digest, keyId: id, kind: 'minted' });
    this.#minted.set(id, { id, digestHex, label, expiresAtMs, revokedAtMs: null });
    this.#mintedCount++;
    return { id, key, expiresAt: new Date(expiresAtMs).toISOString() };
  }

  /** Revokes a minted key (idempotent); returns false if the id is unknown. */
  revoke(id: string): boolean {
    const record = this.#minted.get(id);
    if (record === undefined) return false;
    if (record.revokedAtMs === null) {
      record.revokedAtMs = this.#now();
      this.#revokedCount++;
    }
    this.#byDigest.delete(record.digestHex);
    return true;
  }

  /** Status of a minted key, or undefined if unknown. */
  status(id: string): KeyStatus | undefined {
    const record = this.#minted.get(id);
    return record === undefined ? undefined : { id, active: this.#isActive(record) };
  }

  /** Every remembered minted key, without key values. */
  list(): KeyListing[] {
    return [...this.#minted.values()].map((record) => ({
      id: record.id,
      active: this.#isActive(record),
      label: record.label,
      expiresAt: new Date(record.expiresAtMs).toISOString(),
    }));
  }

  /** Minted / revoked totals and the number of minted keys currently active. */
  counts(): { minted: number; revoked: number; active: number } {
    let active = 0;
    for (const record of this.#minted.values()) if (this.#isActive(record)) active++;
    return { minted: this.#mintedCount, revoked: this.#revokedCount, active };
  }

  #isActive(record: MintedRecord): boolean {
    return record.revokedAtMs === null && this.#now() < record.expiresAtMs;
  }

  /** Drops minted keys that stopped working more than a day ago, so memory stays bounded. */
  #forgetStale(): void {
    const cutoff = this.#now() - FORGET_INACTIVE_AFTER_MS;
    for (const record of this.#minted.values()) {
      const endedAt = record.revokedAtMs ?? record.expiresAtMs;
      if (endedAt < cutoff) {
        this.#minted.delete(record.id);
        this.#byDigest.delete(record.digestHex);
      }
    }
  }
}
