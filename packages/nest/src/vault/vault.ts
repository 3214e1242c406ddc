import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, KeywardErrorCode, SessionRequiredError, VaultError, VaultErrorCode } from '../keyward.errors.js';
import type { SessionStore, StoredSession } from '../stores/session-store.interface.js';
import { KeyRing, open, seal } from './key-ring.js';
import { Secret, checkUserKey, maskSecret, openedSessionValue, openedUserKey, removeSessionValue, removeUserKey, storeSessionValue, storeUserKey } from './secret.js';
import { MIN_SCRUBBABLE_LENGTH } from '../redaction/live-secrets.js';

/** Session data field holding the session's wrapped data key. */
const DEK_FIELD = 'kw.dek';
/** Session data fields holding sealed credentials: `kw.c:<name>`. */
const CRED_PREFIX = 'kw.c:';
/**
 * Marks Keyward's own sealed state (a provider's current key) among a session's sealed
 * entries: `kw.c:#<name>`. Public credential names may not contain it, so no public call
 * can read, overwrite or remove internal state.
 */
const INTERNAL_MARK = '#';
/** Session data keys: `v2.<vid>.<wrapped>`, the wrapping bound to the session's store key. */
const SESSION_DEK_VERSION = 'v2';
/** User data keys: `v1.<vid>.<wrapped>`, the wrapping bound to the user ID. */
const USER_DEK_VERSION = 'v1';
const USER_DEK = 'kw.dek';
const USER_CRED_PREFIX = 'c:';
/** A provider's own per-user state (a user-bound OAuth connection): never listed as a user key. */
const USER_STATE_PREFIX = 'p:';
const NAME = /^[A-Za-z0-9_.:-]{1,96}$/;
const MAX_SECRET = 8192;
const NO_TOUCH = Number.MAX_SAFE_INTEGER;

/** One of a user's stored keys, as the user may see it. */
export interface MaskedCredential {
  name: string;
  masked: string;
  updatedAt: Date;
}

/** What {@link Vault.rewrapAll} did. */
export interface RewrapReport {
  sessionsScanned: number;
  usersScanned: number;
  rewrapped: number;
  failed: number;
}

/** Public credential names: never the internal mark, so they cannot reach internal state. */
function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes(INTERNAL_MARK)) throw new InvalidArgumentError('Credential names are 1-96 letters, digits, or _ . : -.');
}

function checkSecret(value: string): void {
  // Checked before anything registers it: only stored values become live secrets.
  if (typeof value !== 'string' || value.length < MIN_SCRUBBABLE_LENGTH || value.length > MAX_SECRET || /[^\x20-\x7e]/.test(value)) {
    throw new InvalidArgumentError(`A key must be ${MIN_SCRUBBABLE_LENGTH}-${MAX_SECRET} printable ASCII characters (no spaces at the ends, no control characters).`);
  }
  if (value.trim() !== value) throw new InvalidArgumentError('A key must not start or end with whitespace.');
}

/**
 * The encrypted credential vault. Each session (and each user, for keys the user brings)
 * has its own random data key, wrapped by the newest key-encryption key; every
 * credential is sealed with AES-256-GCM under that data key with additional data naming
 * its owner and its name, so a ciphertext moved to another session or name fails to
 * open. Session entries live inside the session record and die with it.
 *
 * A session's data key is wrapped with additional data naming the session's store key
 * (format `v2`): copied with its credentials into another session record, it does not
 * unwrap there. A same-user regenerate re-wraps it for the new key
 * ({@link Vault.rebindSession}). Data keys of the earlier, unbound format (`v1`, written
 * before this binding existed) are refused with `KW_VAULT_LEGACY_ENTRY`, never opened:
 * the user logs in again and gets a bound one.
 */
export class Vault {
  constructor(
    private readonly ring: KeyRing,
    private readonly store: SessionStore,
  ) {}

  // ----- session scope -----

  /** Seals a credential into a session. */
  async putSession(record: StoredSession, name: string, plaintext: string): Promise<void> {
    checkName(name);
    checkSecret(plaintext);
    // Registered for redaction only once it is stored (and released if the write fails).
    await storeSessionValue(record, name, plaintext, () => this.sealInto(record, name, plaintext));
  }

  /** Opens a session credential, or undefined if the session has none of that name. */
  async openSession(record: StoredSession, name: string): Promise<Secret | undefined> {
    checkName(name);
    const plain = await this.openPlain(record, name);
    return plain === undefined ? undefined : openedSessionValue(record, name, plain);
  }

  /** Removes a session credential. */
  async removeSession(record: StoredSession, name: string): Promise<void> {
    checkName(name);
    await removeSessionValue(record.handle, name, async () => {
      await this.store.patch(record.key, {}, [CRED_PREFIX + name]);
    });
    delete record.data[CRED_PREFIX + name];
  }

  /**
   * Seals a credential provider's own state into a session (for example the minted-key
   * provider's current key), in a namespace that no public credential name can reach.
   * For providers, not for application code.
   */
  async putProviderState(record: StoredSession, name: string, value: string): Promise<void> {
    checkName(name);
    await this.sealInto(record, INTERNAL_MARK + name, value);
  }

  /**
   * Opens what {@link putProviderState} stored, or undefined: the provider's own state, as
   * the provider wrote it (it registers the secrets inside it itself, e.g. `new Secret(key)`).
   */
  async openProviderState(record: StoredSession, name: string): Promise<string | undefined> {
    checkName(name);
    return this.openPlain(record, INTERNAL_MARK + name);
  }

  /** Removes what {@link putProviderState} stored (a provider's own state), if anything. */
  async removeProviderState(record: StoredSession, name: string): Promise<void> {
    checkName(name);
    await this.store.patch(record.key, {}, [CRED_PREFIX + INTERNAL_MARK + name]);
    delete record.data[CRED_PREFIX + INTERNAL_MARK + name];
  }

  /**
   * The data of a session moving from store key `fromKey` to `toKey` (a same-user
   * regenerate), with its data key re-wrapped for the new key. Pure (no store access) and
   * never throws: a data key that cannot be re-bound (tampered, legacy, unknown key id) is
   * dropped with every entry sealed under it, so nothing unbound is carried over. The
   * ledger of issued keys is kept, so they are still revoked when the session ends.
   */
  rebindSession(data: Readonly<Record<string, string>>, fromKey: string, toKey: string): Record<string, string> {
    const stored = data[DEK_FIELD];
    if (stored === undefined) return { ...data };
    try {
      const { vid, dataKey } = this.unwrap(stored, 's', fromKey);
      return { ...data, [DEK_FIELD]: this.wrap(dataKey, vid, 's', toKey) };
    } catch {
      return Object.fromEntries(Object.entries(data).filter(([f]) => f !== DEK_FIELD && !f.startsWith(CRED_PREFIX)));
    }
  }

  private async sealInto(record: StoredSession, entry: string, plaintext: string): Promise<void> {
    const { dataKey, vid } = await this.sessionKey(record);
    const sealed = seal(dataKey, Buffer.from(plaintext, 'utf8'), `cred|s|${vid}|${entry}`);
    if (!(await this.store.patch(record.key, { [CRED_PREFIX + entry]: sealed }, []))) throw gone();
    record.data[CRED_PREFIX + entry] = sealed;
  }

  /** The plaintext of a session entry; callers wrap it in a `Secret` at once. */
  private async openPlain(record: StoredSession, entry: string): Promise<string | undefined> {
    const sealed = record.data[CRED_PREFIX + entry];
    if (sealed === undefined) return undefined;
    const { dataKey, vid } = await this.sessionKey(record);
    return open(dataKey, sealed, `cred|s|${vid}|${entry}`).toString('utf8');
  }

  // ----- user scope (bring your own key) -----

  /** Seals a user's own key; only a mask of it can ever be read back. */
  async putUser(userId: string, name: string, plaintext: string, now = Date.now()): Promise<void> {
    checkName(name);
    checkUserKey(plaintext);
    const { dataKey, vid } = await this.userKey(userId);
    const sealed = seal(dataKey, Buffer.from(plaintext, 'utf8'), `cred|u|${userId}|${vid}|${name}`);
    const value = JSON.stringify({ c: sealed, m: maskSecret(plaintext) });
    await storeUserKey(userId, name, plaintext, () => this.store.setUserEntry(userId, USER_CRED_PREFIX + name, { value, updatedAt: now }));
  }

  /** Opens a user's own key, or undefined if the user stored none of that name. */
  async openUser(userId: string, name: string): Promise<Secret | undefined> {
    checkName(name);
    const entries = await this.store.getUserEntries(userId);
    const entry = entries[USER_CRED_PREFIX + name];
    if (!entry) return undefined;
    const { c } = parseUserCredential(entry.value);
    const { dataKey, vid } = await this.userKey(userId, entries[USER_DEK]?.value);
    return openedUserKey(userId, name, open(dataKey, c, `cred|u|${userId}|${vid}|${name}`).toString('utf8'));
  }

  /** A user's stored keys, masked. */
  async listUser(userId: string): Promise<MaskedCredential[]> {
    const entries = await this.store.getUserEntries(userId);
    return Object.entries(entries)
      .filter(([k]) => k.startsWith(USER_CRED_PREFIX))
      .map(([k, e]) => ({ name: k.slice(USER_CRED_PREFIX.length), masked: parseUserCredential(e.value).m, updatedAt: new Date(e.updatedAt) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Deletes a user's key; true if there was one. */
  async removeUser(userId: string, name: string): Promise<boolean> {
    checkName(name);
    return removeUserKey(userId, name, () => this.store.deleteUserEntry(userId, USER_CRED_PREFIX + name));
  }

  /**
   * Seals a credential provider's own per-user state (a user-bound OAuth connection) under
   * the user's data key, in a namespace no user key name reaches (one field write). For
   * providers, not for application code.
   */
  async putUserProviderState(userId: string, name: string, value: string, now = Date.now()): Promise<void> {
    checkName(name);
    const { dataKey, vid } = await this.userKey(userId);
    const sealed = seal(dataKey, Buffer.from(value, 'utf8'), `state|u|${userId}|${vid}|${name}`);
    await this.store.setUserEntry(userId, USER_STATE_PREFIX + name, { value: sealed, updatedAt: now });
  }

  /** Opens what {@link putUserProviderState} stored (read from the store now), or undefined. */
  async openUserProviderState(userId: string, name: string): Promise<string | undefined> {
    checkName(name);
    const entries = await this.store.getUserEntries(userId);
    const entry = entries[USER_STATE_PREFIX + name];
    if (!entry) return undefined;
    const { dataKey, vid } = await this.userKey(userId, entries[USER_DEK]?.value);
    return open(dataKey, entry.value, `state|u|${userId}|${vid}|${name}`).toString('utf8');
  }

  /** Removes a provider's per-user state; true for the one caller that removed it (a claim). */
  removeUserProviderState(userId: string, name: string): Promise<boolean> {
    checkName(name);
    return this.store.deleteUserEntry(userId, USER_STATE_PREFIX + name);
  }

  // ----- ledger of keys issued to a session (plain ids, no key material) -----

  /** Records that a key was issued to a session; false if the session has ended. */
  async recordIssued(record: StoredSession, key: IssuedKey): Promise<boolean> {
    if (!ISSUED_ID.test(key.id)) throw new VaultError(VaultErrorCode.Malformed, 'An upstream returned a key id with unexpected characters.');
    const value = JSON.stringify({ n: key.name, r: key.retireAt });
    // Durable where the store confirms ends with replicas: a ledger entry lost in a failover is a key its session's end never revokes.
    const ok = await this.store.patch(record.key, { [ISSUED_PREFIX + key.id]: value }, [], { durable: true });
    if (ok) record.data[ISSUED_PREFIX + key.id] = value;
    return ok;
  }

  /** Removes a key from a session's ledger (after it was revoked). */
  async forgetIssued(record: StoredSession, id: string): Promise<void> {
    await this.store.patch(record.key, {}, [ISSUED_PREFIX + id]);
    delete record.data[ISSUED_PREFIX + id];
  }

  /**
   * Takes a short lease in the store so that, of all the attempts on every app instance,
   * only one does a piece of work (such as rotating one session's minted key). True if this
   * attempt holds it. The owner is the attempt, not the process: two app instances in one
   * process (or two requests of one instance) never both hold it.
   */
  tryLease(name: string, ttlMs: number): Promise<boolean> {
    return this.store.acquireLease(name, randomBytes(12).toString('base64url'), ttlMs);
  }

  /** Drops a lease taken with {@link tryLease} (when what it guarded is gone). */
  async releaseLease(name: string): Promise<void> {
    await this.store.releaseLease?.(name);
  }

  // ----- rotation of key-encryption keys -----

  /**
   * Re-wraps every data key not wrapped by the newest key-encryption key (sessions and
   * users). Safe to run while the app serves traffic; entries are also re-wrapped lazily
   * when read.
   */
  async rewrapAll(): Promise<RewrapReport> {
    const report: RewrapReport = { sessionsScanned: 0, usersScanned: 0, rewrapped: 0, failed: 0 };
    for await (const keys of this.store.scanSessionKeys()) {
      for (const key of keys) {
        report.sessionsScanned++;
        try {
          const record = await this.store.load(key, { now: Date.now(), touchAfterMs: NO_TOUCH, idleMs: 0 });
          if (record?.data[DEK_FIELD] && (await this.sessionKey(record)).rewrapped) report.rewrapped++;
        } catch {
          report.failed++;
        }
      }
    }
    for await (const users of this.store.scanUserIds()) {
      for (const userId of users) {
        report.usersScanned++;
        try {
          const entries = await this.store.getUserEntries(userId);
          if (entries[USER_DEK] && (await this.userKey(userId, entries[USER_DEK].value)).rewrapped) report.rewrapped++;
        } catch {
          report.failed++;
        }
      }
    }
    return report;
  }

  // ----- data keys -----

  private async sessionKey(record: StoredSession): Promise<{ dataKey: Buffer; vid: string; rewrapped: boolean }> {
    let stored = record.data[DEK_FIELD];
    if (stored === undefined) {
      const candidate = this.newDataKey('s', record.key);
      const winner = await this.store.setIfAbsent(record.key, DEK_FIELD, candidate);
      if (winner === null) throw gone();
      stored = record.data[DEK_FIELD] = winner;
    }
    const { vid, dataKey, stale } = this.unwrap(stored, 's', record.key);
    if (!stale) return { dataKey, vid, rewrapped: false };
    const rewrapped = this.wrap(dataKey, vid, 's', record.key);
    // Bound to this store key: written only to the record at this key. A request that read the
    // record before an ID rotation must not write it onto the successor, whose data key the
    // rotation already re-wrapped for its own key (the session's entries would stop opening).
    if (await this.store.patch(record.key, { [DEK_FIELD]: rewrapped }, [], { followMoved: false })) record.data[DEK_FIELD] = rewrapped;
    return { dataKey, vid, rewrapped: true };
  }

  private async userKey(userId: string, known?: string): Promise<{ dataKey: Buffer; vid: string; rewrapped: boolean }> {
    let stored = known ?? (await this.store.getUserEntries(userId))[USER_DEK]?.value;
    if (stored === undefined) {
      const entry = await this.store.setUserEntryIfAbsent(userId, USER_DEK, { value: this.newDataKey('u', userId), updatedAt: Date.now() });
      stored = entry.value;
    }
    const { vid, dataKey, stale } = this.unwrap(stored, 'u', userId);
    if (!stale) return { dataKey, vid, rewrapped: false };
    await this.store.setUserEntry(userId, USER_DEK, { value: this.wrap(dataKey, vid, 'u', userId), updatedAt: Date.now() });
    return { dataKey, vid, rewrapped: true };
  }

  private newDataKey(scope: 's' | 'u', owner: string): string {
    return this.wrap(randomBytes(32), randomBytes(16).toString('base64url'), scope, owner);
  }

  /**
   * Wraps a data key for its owner: a session's store key (`v2`) or a user ID (`v1`). The
   * owner is in the additional data, so the wrapped key opens only where it belongs.
   */
  private wrap(dataKey: Buffer, vid: string, scope: 's' | 'u', owner: string): string {
    if (scope === 's') return `${SESSION_DEK_VERSION}.${vid}.${this.ring.wrap(dataKey, `dek|s2|${owner}|${vid}`)}`;
    return `${USER_DEK_VERSION}.${vid}.${this.ring.wrap(dataKey, `dek|u|${owner}|${vid}`)}`;
  }

  private unwrap(stored: string, scope: 's' | 'u', owner: string): { vid: string; dataKey: Buffer; stale: boolean } {
    const m = /^(v[0-9]+)\.([A-Za-z0-9_-]{22})\.(.+)$/.exec(stored);
    if (!m) throw new VaultError(VaultErrorCode.Malformed, 'A stored data key is malformed.');
    const [, version, vid, wrapped] = m as unknown as [string, string, string, string];
    if (scope === 's' && version === 'v1') {
      throw new VaultError(VaultErrorCode.LegacyEntry, 'This session\'s keys were stored by an earlier Keyward version without a binding to the session and are not used; log in again.');
    }
    if (version !== (scope === 's' ? SESSION_DEK_VERSION : USER_DEK_VERSION)) throw new VaultError(VaultErrorCode.Malformed, 'A stored data key is malformed.');
    const aad = scope === 's' ? `dek|s2|${owner}|${vid}` : `dek|u|${owner}|${vid}`;
    const { dataKey, stale } = this.ring.unwrap(wrapped, aad);
    return { vid, dataKey, stale };
  }
}

function parseUserCredential(raw: string): { c: string; m: string } {
  try {
    const v = JSON.parse(raw) as { c?: unknown; m?: unknown };
    if (typeof v.c === 'string' && typeof v.m === 'string') return { c: v.c, m: v.m };
  } catch {
    // fall through
  }
  throw new VaultError(VaultErrorCode.Malformed, 'A stored user key is malformed; store it again.');
}

function gone(): SessionRequiredError {
  return new SessionRequiredError(KeywardErrorCode.SessionRequired, 'The session ended; log in again.');
}

/** Plain (non-secret) ledger of keys issued to a session: `kw.mk:<id>` = `{ n, r }`. */
const ISSUED_PREFIX = 'kw.mk:';
const ISSUED_ID = /^[A-Za-z0-9_.-]{1,100}$/;

/** A key an upstream issued for a session, as the ledger records it. */
export interface IssuedKey {
  id: string;
  /** Credential name it was issued for. */
  name: string;
  /** When it stops being used (after a rotation), or null while current. */
  retireAt: number | null;
}

/** Every key the ledger of a (possibly just-ended) session lists. */
export function issuedKeysOf(record: StoredSession): IssuedKey[] {
  const out: IssuedKey[] = [];
  for (const [field, raw] of Object.entries(record.data)) {
    if (!field.startsWith(ISSUED_PREFIX)) continue;
    try {
      const v = JSON.parse(raw) as { n?: unknown; r?: unknown };
      out.push({ id: field.slice(ISSUED_PREFIX.length), name: String(v.n), retireAt: typeof v.r === 'number' ? v.r : null });
    } catch {
      out.push({ id: field.slice(ISSUED_PREFIX.length), name: '', retireAt: 0 });
    }
  }
  return out;
}

