import { randomBytes, timingSafeEqual } from 'node:crypto';
import { OAuthError, OAuthErrorCode, SessionRequiredError, VaultError, VaultErrorCode } from '../keyward.errors.js';
import type { SessionStore, StoredSession } from '../stores/session-store.interface.js';
import type { Clock } from '../util/clock.js';
import type { ConnectionInfo, OAuthTokenProvider } from '../vault/providers/oauth-token.provider.js';
import type { Vault } from '../vault/vault.js';
import type { ResolvedOAuthConnection, ResolvedOAuthOptions } from './oauth-options.js';
import type { OpenIdConnectionClient } from './openid-client.adapter.js';
import { providerErrorCode } from './openid-client.adapter.js';
import { TransactionHandles, type TransactionPointer } from './transaction-handle.js';

/** One configured connection at run time: its options, its protocol client, its token custody. */
export interface Connection {
  options: ResolvedOAuthConnection;
  client: OpenIdConnectionClient;
  provider: OAuthTokenProvider;
}

/** The short-lived cookie that carries the transaction handle across the provider's redirect. */
export interface HandleCookie {
  name: string;
  value: string;
  path: string;
  maxAgeSeconds: number;
  secure: boolean;
}

/** A pending flow, sealed in the session until its callback (single use). */
interface Pending {
  s: string;
  v: string;
  o?: string;
  r: string;
  u: string;
  c: number;
}

/** Marks a transaction as used: the one caller whose mark lands wins (`setIfAbsent`). */
const USED_PREFIX = 'kw.oauth.used:';
const NO_TOUCH = Number.MAX_SAFE_INTEGER;

/**
 * Connected accounts (docs/connected-accounts.md): starts an authorization-code flow for a
 * session, finishes it at the callback, lists and removes a session's connections. The
 * protocol is openid-client's; this decides what is kept where: the pending transaction
 * sealed in the session (single use, minutes), the browser holding only a sealed handle,
 * the tokens sealed by the connection's {@link OAuthTokenProvider}.
 *
 * @example
 * // Inject it to list connections in a page of your own:
 * const list = await connections.list(session.storedRecord!);
 */
export class ConnectionService {
  private readonly handles: TransactionHandles;

  constructor(
    private readonly options: ResolvedOAuthOptions,
    private readonly connections: ReadonlyMap<string, Connection>,
    private readonly vault: Vault,
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly cookie: { secure: boolean; secrets: readonly string[] },
  ) {
    this.handles = new TransactionHandles(cookie.secrets);
  }

  /** Names of the configured connections. */
  get names(): string[] {
    return [...this.connections.keys()];
  }

  /** The name of the cookie that carries a connection's transaction handle. */
  handleCookieName(name: string): string {
    return `${this.cookie.secure ? '__Secure-' : ''}kw-oauth-${name}`;
  }

  /** The default redirect URI of a connection, for an app served at `origin`. */
  redirectUri(name: string, origin: string): string {
    return this.connection(name).options.redirectUri?.href ?? `${origin}/api/connect/${name}/callback`;
  }

  /**
   * Starts a flow for the session: a pending transaction sealed in the session, and where
   * to send the browser (the provider's authorization URL) with the handle cookie to set.
   */
  async start(record: StoredSession, name: string, returnTo: unknown, origin: string): Promise<{ location: string; cookie: HandleCookie }> {
    const c = this.connection(name);
    const redirectUri = this.redirectUri(name, origin);
    const req = await c.client.authorizationRequest(redirectUri);
    const id = randomBytes(16).toString('base64url');
    const pending: Pending = { s: req.state, v: req.verifier, r: safeReturnTo(returnTo), u: redirectUri, c: this.clock.now() };
    if (req.nonce) pending.o = req.nonce;
    await this.vault.putProviderState(record, txName(id), JSON.stringify(pending));
    const handle = this.handles.seal({ k: record.key, t: id, n: name });
    return {
      location: req.url.href,
      cookie: { name: this.handleCookieName(name), value: handle, path: `/api/connect/${name}/`, maxAgeSeconds: Math.ceil(this.options.transactionTtlMs / 1000), secure: this.cookie.secure },
    };
  }

  /**
   * Finishes a flow: takes the pending transaction (once, on any instance), checks state,
   * redeems the code with its PKCE verifier (and nonce), seals the tokens. Returns the
   * same-origin path to send the browser back to. `current` is the session the callback
   * request carried a cookie of, if any (with `SameSite=Strict` it usually carries none).
   * Every refusal is an `OAuthError`; nothing is stored then.
   */
  async callback(name: string, query: URLSearchParams, handle: string | undefined, current: StoredSession | undefined): Promise<{ returnTo: string }> {
    const c = this.connection(name);
    const pointer = this.handles.open(handle);
    if (!pointer || pointer.n !== name) throw missing(name);
    const record = await this.liveSession(pointer);
    if (current && current.handle !== record.handle) {
      throw new OAuthError(OAuthErrorCode.SessionMismatch, `This "${name}" callback belongs to another session than the one signed in here; start the connection again.`);
    }
    const pending = await this.take(record, pointer);
    if (this.clock.now() - pending.c > this.options.transactionTtlMs) {
      throw new OAuthError(OAuthErrorCode.TransactionExpired, `The "${name}" connection took longer than ${Math.round(this.options.transactionTtlMs / 60_000)} minutes at the provider; start it again.`);
    }
    const error = query.get('error');
    if (error !== null) throw new OAuthError(OAuthErrorCode.ProviderError, `The "${name}" provider answered ${providerErrorCode(error)}.`);
    const state = query.get('state') ?? '';
    if (!sameSecret(state, pending.s)) throw new OAuthError(OAuthErrorCode.StateMismatch, `The "${name}" callback's state does not match the connection this browser started; start it again.`);
    const url = new URL(pending.u);
    for (const [k, v] of query) url.searchParams.append(k, v);
    const tokens = await c.client.exchange(url, { state: pending.s, verifier: pending.v, nonce: pending.o });
    await c.provider.save(this.vault, record, name, tokens, this.clock.now());
    return { returnTo: pending.r };
  }

  /** The connections the session sees (never a token): its own, and its user's (`bind: 'user'`). */
  async list(record: StoredSession): Promise<ConnectionInfo[]> {
    const out: ConnectionInfo[] = [];
    for (const [name, c] of this.connections) {
      const info = await c.provider.info(this.vault, record, name).catch(() => undefined);
      if (info) out.push(info);
    }
    return out;
  }

  /** Removes a connection the session sees (for `bind: 'user'`, the user's, from every session) and revokes its tokens; false if there was none. */
  async disconnect(record: StoredSession, name: string): Promise<boolean> {
    return this.connection(name).provider.disconnect(this.vault, record, name);
  }

  private connection(name: string): Connection {
    const c = typeof name === 'string' ? this.connections.get(name) : undefined;
    if (!c) throw new OAuthError(OAuthErrorCode.UnknownConnection, `No connection named ${JSON.stringify(String(name).slice(0, 64))} is configured.`);
    return c;
  }

  /** The session that started the flow, as the store has it now (a rotated ID followed to its successor). */
  private async liveSession(p: TransactionPointer): Promise<StoredSession> {
    let key = p.k;
    for (let hop = 0; hop < 4; hop++) {
      const r = await this.store.load(key, { now: this.clock.now(), touchAfterMs: NO_TOUCH, idleMs: 0 });
      if (!r) break;
      if (r.movedTo) {
        key = r.movedTo.key;
        continue;
      }
      if (Math.min(r.idleExpiresAt, r.absoluteExpiresAt) <= this.clock.now()) break;
      return r;
    }
    throw new SessionRequiredError();
  }

  /** Takes the pending transaction once: the first caller to mark it used (on any instance) gets it. */
  private async take(record: StoredSession, p: TransactionPointer): Promise<Pending> {
    const mark = randomBytes(12).toString('base64url');
    const winner = await this.store.setIfAbsent(record.key, USED_PREFIX + p.t, mark);
    if (winner === null) throw new SessionRequiredError();
    if (winner !== mark) throw missing(p.n);
    let raw: string | undefined;
    try {
      raw = await this.vault.openProviderState(record, txName(p.t));
    } catch (e) {
      if (e instanceof VaultError) throw missing(p.n);
      throw e;
    }
    await this.vault.removeProviderState(record, txName(p.t));
    if (raw === undefined) throw missing(p.n);
    const v = JSON.parse(raw) as Pending;
    if (typeof v.s !== 'string' || typeof v.v !== 'string' || typeof v.u !== 'string' || typeof v.c !== 'number') {
      throw new VaultError(VaultErrorCode.Malformed, 'A pending connection is malformed.');
    }
    return v;
  }
}

/**
 * Where to send the browser after the flow: a same-origin path only (`/` otherwise): starts
 * with one `/`, no `//`, no backslash, no scheme, no control characters, bounded.
 */
export function safeReturnTo(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 512) return '/';
  if (!v.startsWith('/') || v.startsWith('//') || v.includes('\\') || /[\x00-\x1f\x7f]/.test(v)) return '/';
  try {
    const u = new URL(v, 'http://same.invalid');
    if (u.origin !== 'http://same.invalid') return '/';
    return u.pathname + u.search + u.hash;
  } catch {
    return '/';
  }
}

function txName(id: string): string {
  return `oauth.tx.${id}`;
}

function missing(name: string): OAuthError {
  return new OAuthError(OAuthErrorCode.TransactionMissing, `No pending "${name}" connection for this browser (none was started, it was already used, or its cookie was lost); start it again.`);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
