import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VaultError, VaultErrorCode } from '../keyward.errors.js';

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const ALGO = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Parses `id:base64key` entries (newest first); each key must be 32 bytes. */
export function parseVaultKeys(entries: readonly string[], problems: string[], path = 'vault.keys'): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  if (!Array.isArray(entries) || entries.length === 0) {
    problems.push(`${path}: expected a non-empty list of 'id:base64key' entries, newest first (e.g. from KEYWARD_VAULT_KEYS). Generate one with \`node -e "console.log('k1:' + require('crypto').randomBytes(32).toString('base64'))"\`.`);
    return keys;
  }
  entries.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    if (typeof entry !== 'string') return void problems.push(`${at}: expected a string 'id:base64key'.`);
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID.test(id)) return void problems.push(`${at}: the key id must be 1-32 letters, digits, _ or - before a ':' (e.g. 'k2026:...').`);
    const b64 = entry.slice(colon + 1);
    const key = Buffer.from(b64, 'base64');
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64) || key.length !== 32) {
      return void problems.push(`${at}: key '${id}' must be 32 bytes, base64-encoded (got ${key.length} bytes).`);
    }
    if (keys.has(id)) return void problems.push(`${at}: key id '${id}' is listed twice.`);
    keys.set(id, key);
  });
  return keys;
}

/** Encrypts with AES-256-GCM; output `iv.ciphertext.tag` in base64url. */
export function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGO, key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `${iv.toString('base64url')}.${ct.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

/** Opens what {@link seal} produced with the same key and AAD, else throws a VaultError. */
export function open(key: Buffer, sealed: string, aad: string): Buffer {
  const parts = typeof sealed === 'string' ? sealed.split('.') : [];
  if (parts.length !== 3) throw new VaultError(VaultErrorCode.Malformed, 'A vault entry is malformed; store it again.');
  const [iv, ct, tag] = parts.map((p) => Buffer.from(p!, 'base64url')) as [Buffer, Buffer, Buffer];
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new VaultError(VaultErrorCode.Malformed, 'A vault entry is malformed; store it again.');
  try {
    const decipher = createDecipheriv(ALGO, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch {
    throw new VaultError(VaultErrorCode.DecryptFailed, 'A vault entry failed authentication (tampered, truncated, or bound to another session or name).');
  }
}

/**
 * Key-encryption keys, newest first: the newest wraps new data keys, any listed key
 * unwraps. Removing a key id makes entries wrapped by it unreadable, so re-wrap first.
 */
export class KeyRing {
  private readonly keys: Map<string, Buffer>;
  readonly currentId: string;

  constructor(keys: Map<string, Buffer>) {
    if (keys.size === 0) throw new TypeError('KeyRing needs at least one key.');
    this.keys = keys;
    this.currentId = keys.keys().next().value!;
  }

  get ids(): string[] {
    return [...this.keys.keys()];
  }

  /** The raw key bytes, for the redaction registry only. */
  material(): Buffer[] {
    return [...this.keys.values()];
  }

  /** Wraps a data key with the newest key-encryption key: `kid.iv.ct.tag`. */
  wrap(dataKey: Buffer, aad: string): string {
    return `${this.currentId}.${seal(this.keys.get(this.currentId)!, dataKey, `kek|${this.currentId}|${aad}`)}`;
  }

  /** Unwraps; reports whether the entry should be re-wrapped with the newest key. */
  unwrap(wrapped: string, aad: string): { dataKey: Buffer; stale: boolean } {
    const dot = typeof wrapped === 'string' ? wrapped.indexOf('.') : -1;
    if (dot <= 0) throw new VaultError(VaultErrorCode.Malformed, 'A wrapped data key is malformed.');
    const kid = wrapped.slice(0, dot);
    const kek = this.keys.get(kid);
    if (!kek) throw new VaultError(VaultErrorCode.UnknownKeyId, 'A vault entry was wrapped with a key id that is not in KEYWARD_VAULT_KEYS; add the old key back until everything is re-wrapped.');
    const dataKey = open(kek, wrapped.slice(dot + 1), `kek|${kid}|${aad}`);
    if (dataKey.length !== 32) throw new VaultError(VaultErrorCode.Malformed, 'A wrapped data key has the wrong length.');
    return { dataKey, stale: kid !== this.currentId };
  }
}
