import { createHash } from 'node:crypto';
import { liveSecrets } from '../../redaction/live-secrets.js';
import type { SessionStore, StoredSession } from '../../stores/session-store.interface.js';
import { SessionRequiredError, VaultError, VaultErrorCode } from '../../keyward.errors.js';
import type { Vault } from '../vault.js';
import { keyRef, sessionRef, userRef } from '../../events/security-event.js';

/** A token set as the authorization server issued it (times in ms since the epoch). */
export interface OAuthTokenSet {
  accessToken: string;
  refreshToken?: string;
  /** When the access token expires; undefined when the server did not say (never refreshed early). */
  expiresAt?: number;
  /** Granted scopes, space-separated, when the server said. */
  scope?: string;
  idToken?: string;
}

/**
 * A connection's state as the provider works with it: the access token, its expiry and the
 * generation (bumped by each refresh) from the access slot; refresh token, scope, ID token
 * and when connected from the grant slot.
 */
export interface StoredTokens {
  a: string;
  r?: string;
  e?: number;
  s?: string;
  i?: string;
  c: number;
  g: number;
}

/**
 * What a call needs, opened from the access slot alone: the access token, its expiry, the
 * generation, and whether there is a refresh token to renew it with (the token itself is
 * in the grant slot, opened only to refresh, revoke or list).
 */
export interface AccessTokenState {
  a: string;
  e?: number;
  g: number;
  refreshable: boolean;
}

/**
 * Where one connection's tokens are kept for a request: the session's vault entries
 * (`bind: 'session'`) or the user's (`bind: 'user'`). Both seal two entries: the access
 * slot (`oauth-at.<name>`: access token, expiry, generation), which a proxied call opens,
 * and the grant slot (`oauth.<name>`: refresh and ID token, scope, when connected), opened
 * only to refresh, revoke, disconnect or list. A grant slot written before the split holds
 * the whole set (the access token too) and no access slot exists: it is read as it is and
 * rewritten in the two slots at the next write (a refresh or a new connection).
 */
export interface TokenCustody {
  /** For `credential.*` events: the owner as a keyed hash. */
  readonly refs: { sessionRef?: string; userRef?: string };
  /** The store lease of a refresh (one per owner and connection, across instances). */
  readonly lease: string;
  /** The single-flight key of a refresh in this process. */
  readonly flight: string;
  /** The access slot as this request has it (one entry opened), or undefined when not connected. */
  access(): Promise<AccessTokenState | undefined>;
  /** The whole state as this request has it (the session's record in hand; the user's entries read now). */
  read(): Promise<StoredTokens | undefined>;
  /** The whole state as the store has it now (another request or instance may have refreshed). */
  reload(): Promise<StoredTokens | undefined>;
  /**
   * Writes both slots to the owner as last read: in a session one atomic write; for a user
   * the grant slot first (a rotated refresh token is stored before the access token that
   * came with it can be used), then the access slot.
   */
  write(s: StoredTokens): Promise<void>;
  /** Removes the state; true when this caller removed it (for the user scope: a claim on the grant slot). */
  remove(): Promise<boolean>;
}

const NO_TOUCH = Number.MAX_SAFE_INTEGER;

/** Name of the provider state holding a connection's grant (and, in the shape before the split, every token). */
export function stateName(name: string): string {
  return `oauth.${name}`;
}

/** Name of the provider state holding a connection's access token, expiry and generation. */
export function accessStateName(name: string): string {
  return `oauth-at.${name}`;
}

/** Refs, lease and flight are worked out when first asked for: a call that is not due never needs them. */
abstract class Custody {
  private memo?: { refs: { sessionRef?: string; userRef?: string }; lease: string; flight: string };
  protected abstract names(): { refs: { sessionRef?: string; userRef?: string }; lease: string; flight: string };
  private get all(): { refs: { sessionRef?: string; userRef?: string }; lease: string; flight: string } {
    return (this.memo ??= this.names());
  }
  get refs(): { sessionRef?: string; userRef?: string } {
    return this.all.refs;
  }
  get lease(): string {
    return this.all.lease;
  }
  get flight(): string {
    return this.all.flight;
  }
}

/** The tokens bound to one session (by its handle, which survives ID rotation). */
export class SessionCustody extends Custody implements TokenCustody {
  constructor(
    private readonly vault: Vault,
    private readonly store: SessionStore,
    private record: StoredSession,
    private readonly name: string,
  ) {
    super();
  }

  protected names(): { refs: { sessionRef: string }; lease: string; flight: string } {
    return { refs: { sessionRef: sessionRef(this.record.key) }, lease: sessionLease(this.record, this.name), flight: `s|${this.record.handle}|${this.name}` };
  }

  async access(): Promise<AccessTokenState | undefined> {
    const hot = await this.vault.openProviderState(this.record, accessStateName(this.name));
    if (hot !== undefined) return parseAccess(hot, this.name);
    return legacyAccess(await this.vault.openProviderState(this.record, stateName(this.name)), this.name);
  }

  async read(): Promise<StoredTokens | undefined> {
    return merge(await this.vault.openProviderState(this.record, accessStateName(this.name)), await this.vault.openProviderState(this.record, stateName(this.name)), this.name);
  }

  async reload(): Promise<StoredTokens | undefined> {
    this.record = await reloadSession(this.store, this.record);
    return this.read();
  }

  write(s: StoredTokens): Promise<void> {
    const [hot, grant] = split(s);
    return this.vault.putProviderStates(this.record, { [stateName(this.name)]: grant, [accessStateName(this.name)]: hot });
  }

  async remove(): Promise<boolean> {
    await this.vault.removeProviderState(this.record, [accessStateName(this.name), stateName(this.name)]);
    return true;
  }
}

/** The store lease of one session's refresh of one connection. */
export function sessionLease(session: StoredSession, name: string): string {
  return `oauth-refresh:${session.handle}:${name}`;
}

/** The tokens kept for a user across the user's sessions, in the vault's user scope. */
export class UserCustody extends Custody implements TokenCustody {
  /**
   * The last read found a grant slot from before the split and no access slot: the next write
   * keeps the access token in the grant slot too, so a call between its two writes still finds
   * a token (the write after that one leaves it out).
   */
  private legacy = false;

  constructor(
    private readonly vault: Vault,
    private readonly userId: string,
    private readonly name: string,
  ) {
    super();
  }

  protected names(): { refs: { userRef: string }; lease: string; flight: string } {
    // The user ID is the app's; the lease name carries only a digest of it.
    const lease = `oauth-refresh:u:${createHash('sha256').update(this.userId).digest('base64url').slice(0, 32)}:${this.name}`;
    return { refs: { userRef: userRef(this.userId) }, lease, flight: `u|${this.userId}|${this.name}` };
  }

  async access(): Promise<AccessTokenState | undefined> {
    // One store read; only the access slot is opened (the grant slot only when written before the split).
    const [hot, grant] = await this.vault.openUserProviderStates(this.userId, [accessStateName(this.name), stateName(this.name)], true);
    this.legacy = hot === undefined && grant !== undefined;
    return hot !== undefined ? parseAccess(hot, this.name) : legacyAccess(grant, this.name);
  }

  async read(): Promise<StoredTokens | undefined> {
    const [hot, grant] = await this.vault.openUserProviderStates(this.userId, [accessStateName(this.name), stateName(this.name)]);
    this.legacy = hot === undefined && grant !== undefined;
    return merge(hot, grant, this.name);
  }

  reload(): Promise<StoredTokens | undefined> {
    return this.read();
  }

  async write(s: StoredTokens): Promise<void> {
    const [hot, grant] = split(s, this.legacy);
    await this.vault.putUserProviderState(this.userId, stateName(this.name), grant);
    await this.vault.putUserProviderState(this.userId, accessStateName(this.name), hot);
  }

  async remove(): Promise<boolean> {
    // The access slot first: once the grant is claimed, no call finds a token of it.
    await this.vault.removeUserProviderState(this.userId, accessStateName(this.name));
    return this.vault.removeUserProviderState(this.userId, stateName(this.name));
  }
}

/** The session as the store has it now (following a rotated ID to its successor). */
async function reloadSession(store: SessionStore, record: StoredSession): Promise<StoredSession> {
  let key = record.key;
  for (let hop = 0; hop < 4; hop++) {
    const fresh = await store.load(key, { now: Date.now(), touchAfterMs: NO_TOUCH, idleMs: 0 });
    if (!fresh) break;
    if (!fresh.movedTo) return fresh;
    key = fresh.movedTo.key;
  }
  throw new SessionRequiredError();
}

function malformed(name: string): VaultError {
  return new VaultError(VaultErrorCode.Malformed, `The stored tokens of "${name}" are malformed; connect again.`);
}

function parseJson(text: string, name: string): Record<string, unknown> {
  let v: unknown = null;
  try {
    v = JSON.parse(text);
  } catch {
    // fall through
  }
  if (!v || typeof v !== 'object') throw malformed(name);
  return v as Record<string, unknown>;
}

/** The access slot parsed (its token is registered with redaction by the `Secret` that carries it). */
function parseAccess(text: string, name: string): AccessTokenState {
  const v = parseJson(text, name);
  if (typeof v.a !== 'string' || typeof v.g !== 'number' || (v.e !== undefined && typeof v.e !== 'number')) throw malformed(name);
  return { a: v.a, e: v.e as number | undefined, g: v.g, refreshable: v.n !== 1 };
}

/** A grant slot in the shape before the split (the whole set), as the access state; undefined for none or a split grant without its access slot. */
function legacyAccess(grant: string | undefined, name: string): AccessTokenState | undefined {
  if (grant === undefined) return undefined;
  const s = parseGrant(grant, name);
  if (s.a === undefined) return undefined;
  return { a: s.a, e: s.e, g: s.g, refreshable: s.r !== undefined };
}

/**
 * The grant slot parsed, its tokens registered with redaction; in the shape before the
 * split it also holds the access token and expiry. A malformed one is refused.
 */
function parseGrant(text: string, name: string): Partial<StoredTokens> & { c: number; g: number } {
  const v = parseJson(text, name) as Partial<StoredTokens>;
  if (typeof v.c !== 'number' || typeof v.g !== 'number' || (v.a !== undefined && typeof v.a !== 'string') || (v.r !== undefined && typeof v.r !== 'string')) throw malformed(name);
  if (v.a !== undefined) liveSecrets.add(v.a);
  if (v.r !== undefined) liveSecrets.add(v.r);
  return v as Partial<StoredTokens> & { c: number; g: number };
}

/** The whole state from both slots (the access slot's token, expiry and generation win), or undefined without a grant. */
function merge(hot: string | undefined, grant: string | undefined, name: string): StoredTokens | undefined {
  if (grant === undefined) return undefined;
  const g = parseGrant(grant, name);
  if (hot === undefined) return typeof g.a === 'string' ? (g as StoredTokens) : undefined;
  const h = parseAccess(hot, name);
  liveSecrets.add(h.a);
  const s: StoredTokens = { ...g, a: h.a, g: h.g };
  if (h.e === undefined) delete s.e;
  else s.e = h.e;
  return s;
}

/** A state as the two sealed slots: [access slot, grant slot]; `whole`: the grant slot keeps every token (see {@link UserCustody}). */
function split(s: StoredTokens, whole = false): [string, string] {
  const hot: { a: string; e?: number; g: number; n?: 1 } = { a: s.a, g: s.g };
  if (s.e !== undefined) hot.e = s.e;
  if (!s.r) hot.n = 1;
  const grant: Partial<StoredTokens> = whole ? { ...s } : { c: s.c, g: s.g };
  if (s.r) grant.r = s.r;
  if (s.s) grant.s = s.s;
  if (s.i) grant.i = s.i;
  return [JSON.stringify(hot), JSON.stringify(grant)];
}

export function toStored(t: OAuthTokenSet, connectedAt: number, generation: number): StoredTokens {
  const s: StoredTokens = { a: t.accessToken, c: connectedAt, g: generation };
  if (t.refreshToken) s.r = t.refreshToken;
  if (t.expiresAt !== undefined) s.e = t.expiresAt;
  if (t.scope) s.s = t.scope;
  if (t.idToken) s.i = t.idToken;
  return s;
}

/** Every token of a set, registered with redaction the moment it exists. */
export function registerTokens(t: OAuthTokenSet): void {
  for (const v of [t.accessToken, t.refreshToken, t.idToken]) if (typeof v === 'string') liveSecrets.add(v);
}

/** A correlation id of a token for events: a digest prefix, hashed again by `keyRef`. */
export function tokenRef(token: string): string {
  return keyRef(`oauth:${createHash('sha256').update(token).digest('base64url').slice(0, 16)}`);
}
