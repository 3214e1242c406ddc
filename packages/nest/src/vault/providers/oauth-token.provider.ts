import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionEndReason } from '../../session/session.types.js';
import type { SessionStore, StoredSession } from '../../stores/session-store.interface.js';
import type { CredentialProvider, CredentialRequest } from '../credential-provider.interface.js';
import { OAuthError, OAuthErrorCode, VaultError, VaultErrorCode } from '../../keyward.errors.js';
import { Secret } from '../secret.js';
import type { Vault } from '../vault.js';
import type { SecurityEventSink } from '../../events/security-event.js';
import { TokenRevoker } from './oauth-revocation.js';
import { SessionCustody, UserCustody, registerTokens, sessionLease, toStored, tokenRef, type AccessTokenState, type OAuthTokenSet, type StoredTokens, type TokenCustody } from './oauth-token-custody.js';

export { registerTokens, type OAuthTokenSet } from './oauth-token-custody.js';

/**
 * The protocol side of a connection, implemented by Keyward's `oauth/` folder with
 * openid-client: this provider only decides custody (where the tokens live, when they are
 * refreshed, when they die).
 */
export interface OAuthTokenClient {
  /**
   * Redeems a refresh token. Throws `OAuthError` `KW_OAUTH_RECONNECT` when the server
   * refuses it (`invalid_grant`), `KW_OAUTH_UNAVAILABLE` when it cannot be reached or fails.
   */
  refresh(refreshToken: string): Promise<OAuthTokenSet>;
  /** RFC 7009 revocation; false when the server advertises no revocation endpoint. */
  revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean>;
}

/** Options of {@link OAuthTokenProvider} (made by `KeywardModule` from `oauth.connections`). */
export interface OAuthTokenProviderOptions {
  client: OAuthTokenClient;
  /** The session store, to read a session again while another instance refreshes its token. */
  store: SessionStore;
  /**
   * Who owns the tokens: the session that connected, or the user (every session of the
   * user; revoked on logout-all and disconnect). See `OAuthConnectionOptions.bind`.
   * @default 'session'
   */
  bind?: 'session' | 'user';
  /** Refresh this long before the access token expires. @default 60_000 */
  refreshSkewMs?: number;
  /** Retries of a failed revocation at session end. @default [1_000, 5_000, 30_000, 120_000] */
  revokeRetryDelaysMs?: readonly number[];
  /** How long a refresh may hold the store lease (and others wait for it). @default 15_000 */
  refreshLeaseMs?: number;
}

/** One connection a session sees (its own, or its user's), as the user may see it (never a token). */
export interface ConnectionInfo {
  service: string;
  scopes: string[];
  expiresAt: Date | null;
  connectedAt: Date;
}

const POLL_MS = 50;

/**
 * The tokens of a connected account (see docs/connected-accounts.md), a credential the proxy
 * and `CredentialService.use()` can name: the access token is sealed in the vault (the
 * session's entries, or the user's with `bind: 'user'`; never a cookie, body, event or log
 * line), refreshed before it expires and once when the upstream answers 401 to it, once per
 * owner across requests and instances (a store lease; the rotated refresh token is stored
 * before anyone uses it), and revoked (RFC 7009) when its owner ends: the session's every
 * kind of end, or for a user the logout-all; and at disconnect.
 *
 * @example
 * // Made for you from `oauth.connections`; name it in a proxy service:
 * proxy: { services: { github: { baseUrl: 'https://api.github.com/', credential: 'github' } } }
 */
export class OAuthTokenProvider implements CredentialProvider {
  readonly kind = 'oauth';
  private readonly inflight = new Map<string, Promise<Secret>>();
  private readonly skew: number;
  private readonly leaseMs: number;
  private readonly bind: 'session' | 'user';
  private readonly revoker: TokenRevoker;
  private events: SecurityEventSink;

  constructor(private readonly options: OAuthTokenProviderOptions) {
    this.skew = options.refreshSkewMs ?? 60_000;
    this.leaseMs = options.refreshLeaseMs ?? 15_000;
    this.bind = options.bind ?? 'session';
    this.revoker = new TokenRevoker((t, hint) => options.client.revoke(t, hint), options.revokeRetryDelaysMs ?? [1_000, 5_000, 30_000, 120_000]);
    this.events = this.revoker.events;
  }

  bindEvents(events: SecurityEventSink): void {
    this.events = this.revoker.events = events;
  }

  /** Revocations waiting for a retry (for health checks and tests). */
  get pendingRevocationCount(): number {
    return this.revoker.pendingCount;
  }

  async acquire(req: CredentialRequest): Promise<Secret> {
    const custody = this.custody(req.vault, req.session, req.name);
    // The access slot only: the refresh and ID tokens stay sealed unless a refresh is due.
    const current = await custody.access();
    if (!current) throw notConnected(req.name);
    if (!this.due(current, req.now)) return new Secret(current.a);
    if (!current.refreshable) {
      // Nothing to refresh with: used until it expires, then the connection is gone.
      if (current.e !== undefined && current.e > req.now) return new Secret(current.a);
      await custody.remove().catch(() => undefined);
      throw reconnect(req.name);
    }
    return this.once(custody.flight, () => this.refresh(req, custody, current, false));
  }

  /**
   * The upstream answered 401 to `rejected`: a fresh access token to retry the call once
   * with (the same single-flight refresh and lease as at expiry), the one another request
   * got meanwhile, or undefined when there is nothing to refresh with.
   */
  async renew(req: CredentialRequest, rejected: Secret): Promise<Secret | undefined> {
    const custody = this.custody(req.vault, req.session, req.name);
    const current = await custody.access();
    if (!current) throw notConnected(req.name);
    if (!sameToken(current.a, rejected.reveal())) return new Secret(current.a);
    if (!current.refreshable) return undefined;
    return this.once(`${custody.flight}|401`, () => this.refresh(req, custody, current, true));
  }

  /**
   * Seals a fresh token set for the session (or its user, with `bind: 'user'`) after the
   * authorization-code exchange. The tokens are registered with redaction before anything
   * else can see them. A connection the owner had before is replaced (its tokens revoked).
   */
  async save(vault: Vault, record: StoredSession, name: string, tokens: OAuthTokenSet, now: number): Promise<void> {
    registerTokens(tokens);
    const custody = this.custody(vault, record, name);
    const previous = await custody.read().catch(() => undefined);
    const stored = toStored(tokens, now, 0);
    try {
      await custody.write(stored);
    } catch (e) {
      // Half written (a user's grant without its access slot) is a connection nobody sees and
      // nothing revokes: undo it, revoke the fresh tokens, and let the callback fail.
      // The connection it replaced is gone with it, so its tokens are revoked too.
      await custody.remove().catch(() => undefined);
      for (const t of previous ? [stored, previous] : [stored]) void this.revoker.revoke(t, name, custody.refs, 'replaced').catch(() => undefined);
      throw e;
    }
    this.events.emit({ event: 'credential.minted', credentialName: name, keyRef: tokenRef(tokens.refreshToken ?? tokens.accessToken), ...custody.refs });
    if (previous) void this.revoker.revoke(previous, name, custody.refs, 'replaced');
  }

  /** The connection of this name the session sees (never a token), or undefined. */
  async info(vault: Vault, record: StoredSession, name: string): Promise<ConnectionInfo | undefined> {
    const s = await this.custody(vault, record, name).read();
    if (!s) return undefined;
    return { service: name, scopes: s.s ? s.s.split(' ').filter(Boolean) : [], expiresAt: s.e === undefined ? null : new Date(s.e), connectedAt: new Date(s.c) };
  }

  /**
   * The ID token of the session's connection, or undefined: only for an RP-initiated logout's
   * `id_token_hint` (OpenID Connect sign-in), never for an answer of its own.
   */
  async idToken(vault: Vault, record: StoredSession, name: string): Promise<string | undefined> {
    return (await this.custody(vault, record, name).read().catch(() => undefined))?.i;
  }

  /** Removes the connection (the session's, or the user's) and revokes its tokens; false if there was none. */
  async disconnect(vault: Vault, record: StoredSession, name: string): Promise<boolean> {
    const custody = this.custody(vault, record, name);
    const s = await this.holdingRefreshLease(custody, async () => {
      const read = await custody.read();
      return read && (await custody.remove()) ? read : undefined;
    });
    if (!s) return false;
    await this.revoker.revoke(s, name, custody.refs, 'disconnect');
    return true;
  }

  /**
   * Runs a removal while holding the refresh lease (waiting, at most the lease's time, for a
   * refresh under way to finish): a refresh that read the tokens before the removal would
   * otherwise write its rotated tokens back after it, bringing the connection back unrevoked.
   */
  private async holdingRefreshLease<T>(custody: TokenCustody, run: () => Promise<T>): Promise<T> {
    const owner = randomBytes(12).toString('base64url');
    const deadline = Date.now() + this.leaseMs;
    let held = false;
    while (!(held = await this.options.store.acquireLease(custody.lease, owner, this.leaseMs)) && Date.now() < deadline) await sleep(POLL_MS);
    try {
      return await run();
    } finally {
      if (held) await this.options.store.releaseLease?.(custody.lease).catch(() => undefined);
    }
  }

  /**
   * A session ended. Session-bound tokens end with it, whatever the reason. User-bound
   * tokens end on logout-all only (the first of the user's ending sessions to remove them
   * revokes them); another session's end leaves them to the user's other sessions.
   */
  async onSessionEnded(session: StoredSession, reason: SessionEndReason, name: string, vault?: Vault): Promise<void> {
    if (!vault) return;
    if (this.bind === 'session') await vault.releaseLease(sessionLease(session, name)).catch(() => undefined);
    else if (reason !== 'logout-all') return;
    const custody = this.custody(vault, session, name);
    let s: StoredTokens | undefined;
    try {
      s = this.bind === 'user'
        ? await this.holdingRefreshLease(custody, async () => {
            const read = await custody.read();
            return read && (await custody.remove()) ? read : undefined;
          })
        : await custody.read();
    } catch {
      return; // a state that does not open cannot be revoked; its tokens expire at the provider
    }
    if (!s) return;
    if (!(await this.revoker.revoke(s, name, custody.refs, reason))) {
      throw new VaultError(VaultErrorCode.CredentialUnavailable, `Could not revoke the "${name}" tokens yet; retrying in the background.`);
    }
  }

  close(): void {
    this.revoker.close();
  }

  private custody(vault: Vault, record: StoredSession, name: string): TokenCustody {
    return this.bind === 'user' ? new UserCustody(vault, record.userId, name) : new SessionCustody(vault, this.options.store, record, name);
  }

  private once(flight: string, run: () => Promise<Secret>): Promise<Secret> {
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = run().finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, pending);
    }
    return pending;
  }

  private due(s: { e?: number }, now: number): boolean {
    return s.e !== undefined && s.e - this.skew <= now;
  }

  /**
   * One refresh per owner across instances: the lease holder refreshes, the others wait for
   * its result. `force` (an upstream 401): refresh even if not due, unless another request
   * or instance already refreshed past the token that was seen.
   */
  private async refresh(req: CredentialRequest, custody: TokenCustody, seen: AccessTokenState, force: boolean): Promise<Secret> {
    const owner = randomBytes(12).toString('base64url');
    const deadline = Date.now() + this.leaseMs;
    const settled = (s: StoredTokens, now: number): boolean => s.g !== seen.g || (!force && !this.due(s, now));
    for (;;) {
      const now = Math.max(req.now, Date.now());
      const current = await custody.reload();
      if (!current) throw notConnected(req.name);
      // Another request or instance refreshed meanwhile: use its token.
      if (settled(current, now)) return new Secret(current.a);
      // The lease's owner is this attempt, not this process: two app instances in one process
      // (or a process restarted with the same identity) must not both believe they hold it.
      if (await this.options.store.acquireLease(custody.lease, owner, this.leaseMs)) {
        try {
          // Read again under the lease: another holder may have refreshed and released it
          // between the read above and this acquire (its rotated refresh token replaced ours).
          const latest = await custody.reload();
          if (!latest) throw notConnected(req.name);
          if (settled(latest, now)) return new Secret(latest.a);
          return await this.refreshHolding(req.name, custody, latest);
        } finally {
          await this.options.store.releaseLease?.(custody.lease).catch(() => undefined);
        }
      }
      if (Date.now() >= deadline) throw new OAuthError(OAuthErrorCode.Unavailable, `The "${req.name}" token is being refreshed and the refresh did not finish in time; retry.`);
      await sleep(POLL_MS);
    }
  }

  private async refreshHolding(name: string, custody: TokenCustody, current: StoredTokens): Promise<Secret> {
    if (!current.r) {
      // The grant lost its refresh token (a state written without one): nothing to refresh with.
      await custody.remove().catch(() => undefined);
      throw reconnect(name);
    }
    let fresh: OAuthTokenSet;
    try {
      fresh = await this.options.client.refresh(current.r);
    } catch (e) {
      if (e instanceof OAuthError && e.code === OAuthErrorCode.Reconnect) {
        // The grant is gone: so is the connection. Nothing to revoke at the server.
        await custody.remove().catch(() => undefined);
        this.events.emit({ event: 'credential.revoked', credentialName: name, keyRef: tokenRef(current.r), reason: 'invalid_grant', ...custody.refs });
        throw e;
      }
      throw e instanceof OAuthError ? e : new OAuthError(OAuthErrorCode.Unavailable, `The authorization server of "${name}" could not refresh the token; retry.`);
    }
    registerTokens(fresh);
    // A server that does not rotate refresh tokens keeps the one it has.
    // Nor does a refresh answer without an ID token (OpenID Connect makes it optional there) lose
    // the one the sign-in gave: RP-initiated logout sends it as id_token_hint.
    const next = toStored({ ...fresh, refreshToken: fresh.refreshToken ?? current.r, scope: fresh.scope ?? current.s, idToken: fresh.idToken ?? current.i }, current.c, current.g + 1);
    // Stored (in a session one atomic write of both slots; for a user the grant slot with the
    // rotated refresh token first) before the new tokens are used or the lease is released.
    await custody.write(next);
    this.events.emit({ event: 'credential.minted', credentialName: name, keyRef: tokenRef(next.r ?? next.a), ...custody.refs });
    return new Secret(next.a);
  }
}

/** Two tokens compared in constant time (by digest, so their lengths do not show). */
function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function notConnected(name: string): OAuthError {
  return new OAuthError(OAuthErrorCode.NotConnected, `No "${name}" account is connected in this session; connect it at /api/connect/${name}.`);
}

function reconnect(name: string): OAuthError {
  return new OAuthError(OAuthErrorCode.Reconnect, `The "${name}" connection expired or was revoked at the provider; connect it again at /api/connect/${name}.`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
