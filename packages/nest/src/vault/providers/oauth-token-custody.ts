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

/** The sealed state: tokens, expiry, scope, when connected, a generation bumped by each refresh. */
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
 * Where one connection's tokens are kept for a request: the session's vault entries
 * (`bind: 'session'`) or the user's (`bind: 'user'`). Both seal the same JSON state; they
 * differ in who sees it, how it is read again and which lease guards its refresh.
 */
export interface TokenCustody {
  /** For `credential.*` events: the owner as a keyed hash. */
  readonly refs: { sessionRef?: string; userRef?: string };
  /** The store lease of a refresh (one per owner and connection, across instances). */
  readonly lease: string;
  /** The single-flight key of a refresh in this process. */
  readonly flight: string;
  /** The state as this request has it (the session's record in hand; the user's entries read now). */
  read(): Promise<StoredTokens | undefined>;
  /** The state as the store has it now (another request or instance may have refreshed). */
  reload(): Promise<StoredTokens | undefined>;
  /** One atomic field write, to the owner as last read. */
  write(s: StoredTokens): Promise<void>;
  /** Removes the state; true when this caller removed it (for the user scope: a claim). */
  remove(): Promise<boolean>;
}

const NO_TOUCH = Number.MAX_SAFE_INTEGER;

/** Name of the provider state holding a connection's tokens. */
export function stateName(name: string): string {
  return `oauth.${name}`;
}

/** The tokens bound to one session (by its handle, which survives ID rotation). */
export class SessionCustody implements TokenCustody {
  readonly refs: { sessionRef: string };
  readonly lease: string;
  readonly flight: string;

  constructor(
    private readonly vault: Vault,
    private readonly store: SessionStore,
    private record: StoredSession,
    private readonly name: string,
  ) {
    this.refs = { sessionRef: sessionRef(record.key) };
    this.lease = sessionLease(record, name);
    this.flight = `s|${record.handle}|${name}`;
  }

  read(): Promise<StoredTokens | undefined> {
    return parseState(this.vault.openProviderState(this.record, stateName(this.name)), this.name);
  }

  async reload(): Promise<StoredTokens | undefined> {
    this.record = await reloadSession(this.store, this.record);
    return this.read();
  }

  write(s: StoredTokens): Promise<void> {
    return this.vault.putProviderState(this.record, stateName(this.name), JSON.stringify(s));
  }

  async remove(): Promise<boolean> {
    await this.vault.removeProviderState(this.record, stateName(this.name));
    return true;
  }
}

/** The store lease of one session's refresh of one connection. */
export function sessionLease(session: StoredSession, name: string): string {
  return `oauth-refresh:${session.handle}:${name}`;
}

/** The tokens kept for a user across the user's sessions, in the vault's user scope. */
export class UserCustody implements TokenCustody {
  readonly refs: { userRef: string };
  readonly lease: string;
  readonly flight: string;

  constructor(
    private readonly vault: Vault,
    private readonly userId: string,
    private readonly name: string,
  ) {
    this.refs = { userRef: userRef(userId) };
    // The user ID is the app's; the lease name carries only a digest of it.
    this.lease = `oauth-refresh:u:${createHash('sha256').update(userId).digest('base64url').slice(0, 32)}:${name}`;
    this.flight = `u|${userId}|${name}`;
  }

  read(): Promise<StoredTokens | undefined> {
    return parseState(this.vault.openUserProviderState(this.userId, stateName(this.name)), this.name);
  }

  reload(): Promise<StoredTokens | undefined> {
    return this.read();
  }

  write(s: StoredTokens): Promise<void> {
    return this.vault.putUserProviderState(this.userId, stateName(this.name), JSON.stringify(s));
  }

  remove(): Promise<boolean> {
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

/** The sealed state parsed, its tokens registered with redaction; a malformed one is refused. */
async function parseState(raw: Promise<string | undefined>, name: string): Promise<StoredTokens | undefined> {
  const text = await raw;
  if (text === undefined) return undefined;
  let v: Partial<StoredTokens> | null = null;
  try {
    v = JSON.parse(text) as Partial<StoredTokens>;
  } catch {
    // fall through
  }
  if (!v || typeof v.a !== 'string' || typeof v.c !== 'number' || typeof v.g !== 'number') {
    throw new VaultError(VaultErrorCode.Malformed, `The stored tokens of "${name}" are malformed; connect again.`);
  }
  liveSecrets.add(v.a);
  if (typeof v.r === 'string') liveSecrets.add(v.r);
  return v as StoredTokens;
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
