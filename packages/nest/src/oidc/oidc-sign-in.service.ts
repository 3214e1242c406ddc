import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OAuthError, OAuthErrorCode, OidcError, OidcErrorCode, SessionRequiredError } from '../keyward.errors.js';
import { providerErrorCode, type OpenIdConnectionClient } from '../oauth/openid-client.adapter.js';
import { safeReturnTo } from '../oauth/connection.service.js';
import type { RequestSession } from '../session/request-session.js';
import { userOf } from '../session/session-fields.js';
import type { SessionEngine } from '../session/session.engine.js';
import type { SessionLifecycleListener, SessionUser } from '../session/session.types.js';
import type { SessionStore, StoredSession } from '../stores/session-store.interface.js';
import type { Clock } from '../util/clock.js';
import type { OAuthTokenProvider } from '../vault/providers/oauth-token.provider.js';
import type { Vault } from '../vault/vault.js';
import { LogoutTokenRefused, LogoutTokenVerifier } from './logout-token.js';
import { OIDC_CREDENTIAL, type ResolvedOidcOptions } from './oidc-options.js';
import { SignInHandles } from './sign-in-handle.js';

/** The short-lived cookie that carries the sealed pending sign-in across the provider's redirect. */
export interface SignInCookie {
  name: string;
  value: string;
  path: string;
  maxAgeSeconds: number;
  secure: boolean;
}

/** What `GET /api/auth/user` answers: safe claims, time left, where to log out. Never a token. */
export interface OidcUserInfo {
  user: SessionUser;
  /** Seconds until the session ends (its idle or absolute deadline, whichever comes first). */
  expiresIn: number;
  logoutUrl: string | null;
}

/** The route that logs out (RP-initiated), as the user endpoint names it. */
export const OIDC_LOGOUT_PATH = '/api/auth/oidc/logout';
/** Where the sign-in's cookie is sent (the callback only). */
export const OIDC_CALLBACK_PATH = '/api/auth/oidc/callback';
/** The user-entry namespace of the `sid` index: provider session -> Keyward user ID, for logout tokens that name only a `sid`. */
const SID_INDEX = 'kw.oidc-sid:';
const SID_ENTRY = 'u';
const CLOCK_TOLERANCE_MS = 30_000;
/** What a provider answers a `prompt=none` request it cannot satisfy without the user (OpenID Connect Core 3.1.2.6). */
const SILENT_REFUSALS = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/**
 * Sign-in with OpenID Connect and its logouts (docs/oidc-sign-in.md). The protocol is
 * openid-client's (and `jose`'s for logout tokens); this decides custody: the pending
 * sign-in sealed in a cookie and used once (a store mark), a new Keyward session from the
 * validated ID token, the tokens sealed in the vault as the `oidc` credential (revoked when
 * the session ends), sessions found again by `sub` (the user ID) or `sid` for a back-channel
 * logout on every instance.
 *
 * @example
 * // Made by KeywardModule from the `oidc` options; its routes are /api/auth/oidc/*.
 * const { location } = await oidc.start('/inbox', 'https://app.example.com');
 */
export class OidcSignInService {
  private readonly handles: SignInHandles;
  private readonly verifier: LogoutTokenVerifier;
  private readonly issuerTag: string;

  constructor(
    readonly options: ResolvedOidcOptions,
    private readonly client: OpenIdConnectionClient,
    private readonly tokens: OAuthTokenProvider,
    private readonly engine: SessionEngine,
    private readonly vault: Vault,
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly cookie: { secure: boolean; secrets: readonly string[] },
  ) {
    this.handles = new SignInHandles(cookie.secrets);
    this.verifier = new LogoutTokenVerifier(() => client.keys(), options.connection.clientId, options.logoutTokenMaxAgeMs, () => clock.now());
    this.issuerTag = digest(options.connection.issuer!.href).slice(0, 12);
  }

  /** The name of the sign-in's cookie. */
  get cookieName(): string {
    return `${this.cookie.secure ? '__Secure-' : ''}kw-oidc`;
  }

  /** The Keyward user ID of a provider subject: scoped by the issuer, stable, at most 256 characters. */
  userIdOf(sub: string): string {
    const safe = sub.length <= 200 && !/[\0-\x1f\x7f{}]/.test(sub);
    return `oidc:${this.issuerTag}:${safe ? sub : `#${digest(sub)}`}`;
  }

  /**
   * Starts a sign-in: the provider's authorization URL and the cookie holding the sealed
   * pending sign-in. `prompt: 'none'` is a silent re-authentication when
   * `oidc.silentReauthentication` is on (ignored otherwise).
   */
  async start(returnTo: unknown, origin: string, prompt?: unknown): Promise<{ location: string; cookie: SignInCookie }> {
    const redirectUri = this.options.connection.redirectUri?.href ?? `${origin}${OIDC_CALLBACK_PATH}`;
    const silent = prompt === 'none' && this.options.silentReauthentication;
    const req = await this.client.authorizationRequest(redirectUri, silent ? { prompt: 'none' } : {});
    const value = this.handles.seal({
      ...(silent ? { silent: true as const } : {}),
      id: randomBytes(16).toString('base64url'),
      state: req.state,
      verifier: req.verifier,
      nonce: req.nonce!,
      returnTo: safeReturnTo(returnTo),
      redirectUri,
      createdAt: this.clock.now(),
    });
    const cookie = { name: this.cookieName, value, path: OIDC_CALLBACK_PATH, maxAgeSeconds: Math.ceil(this.options.transactionTtlMs / 1000), secure: this.cookie.secure };
    return { location: req.url.href, cookie };
  }

  /**
   * Finishes a sign-in: opens the pending sign-in, marks it used (once, across instances),
   * lets openid-client redeem the code and validate the ID token, then starts a new
   * session for the user on `session` and seals the tokens in it. Every refusal is an
   * `OAuthError`/`OidcError` thrown before any session exists.
   */
  async callback(query: URLSearchParams, handle: string | undefined, session: RequestSession): Promise<{ returnTo: string }> {
    const pending = this.handles.open(handle);
    if (!pending) throw missing();
    if (this.clock.now() - pending.createdAt > this.options.transactionTtlMs) {
      throw new OAuthError(OAuthErrorCode.TransactionExpired, `The sign-in took longer than ${Math.round(this.options.transactionTtlMs / 60_000)} minutes at the provider; sign in again.`);
    }
    if (!sameSecret(query.get('state') ?? '', pending.state)) {
      throw new OAuthError(OAuthErrorCode.StateMismatch, "The sign-in callback's state does not match the sign-in this browser started; sign in again.");
    }
    const error = query.get('error');
    if (error !== null) {
      // A silent re-authentication the provider cannot do without the user: back to the page, no session.
      if (pending.silent && SILENT_REFUSALS.has(error)) return { returnTo: withParam(pending.returnTo, 'kw_oidc_error', error) };
      throw new OAuthError(OAuthErrorCode.ProviderError, `The identity provider answered ${providerErrorCode(error)}.`);
    }
    // Single use on every instance: the first to set the mark goes on.
    const mark = randomBytes(12).toString('base64url');
    if (!(await this.store.acquireLease(`oidc-tx:${pending.id}`, mark, this.options.transactionTtlMs + CLOCK_TOLERANCE_MS))) throw missing();
    const url = new URL(pending.redirectUri);
    for (const [k, v] of query) url.searchParams.append(k, v);
    const { tokens, claims } = await this.client.exchangeWithClaims(url, { state: pending.state, verifier: pending.verifier, nonce: pending.nonce });
    if (!claims || typeof claims.sub !== 'string' || claims.sub.length === 0) {
      throw new OidcError(OidcErrorCode.NoSubject, 'The identity provider answered without an ID token naming the user; no session was started.');
    }
    const user: SessionUser = { id: this.userIdOf(claims.sub), sub: claims.sub };
    if (typeof claims.sid === 'string' && claims.sid.length > 0 && claims.sid.length <= 256) user.sid = claims.sid;
    for (const c of this.options.claims) {
      const v = claims[c];
      if (typeof v === 'string' ? v.length <= 1024 : typeof v === 'number' || typeof v === 'boolean') user[c] = v;
    }
    await session.login(user);
    const record = session.storedRecord!;
    await this.tokens.save(this.vault, record, OIDC_CREDENTIAL, tokens, this.clock.now());
    if (typeof user.sid === 'string') await this.store.setUserEntry(this.sidIndex(user.sid), SID_ENTRY, { value: user.id, updatedAt: this.clock.now() });
    return { returnTo: pending.returnTo };
  }

  /**
   * RP-initiated logout: ends the session (its tokens revoked) and returns the provider's
   * end-session URL with `id_token_hint`, `post_logout_redirect_uri` and a fresh `state`
   * (or the post-logout URI, or `/`, when the session has no ID token or the provider no
   * end-session endpoint).
   */
  async logout(session: RequestSession): Promise<{ redirectTo: string }> {
    const record = session.storedRecord;
    if (!record) throw new SessionRequiredError();
    const idToken = await this.tokens.idToken(this.vault, record, OIDC_CREDENTIAL);
    await session.logout();
    const after = this.options.postLogoutRedirectUri?.href;
    if (!idToken) return { redirectTo: after ?? '/' };
    const params: Record<string, string> = { id_token_hint: idToken, state: randomBytes(16).toString('base64url') };
    if (after) params.post_logout_redirect_uri = after;
    const url = await this.client.endSessionUrl(params);
    return { redirectTo: url?.href ?? after ?? '/' };
  }

  /**
   * Back-channel logout: verifies the logout token, refuses a `jti` seen before (a store
   * mark, so on every instance), and ends every session it names with reason `backchannel`.
   * Returns how many ended. Throws {@link LogoutTokenRefused} for a bad token.
   */
  async backchannelLogout(token: unknown): Promise<number> {
    const claims = await this.verifier.verify(token);
    const mark = randomBytes(12).toString('base64url');
    const jti = `oidc-jti:${digest(`${this.options.connection.issuer!.href}|${claims.jti}`)}`;
    if (!(await this.store.acquireLease(jti, mark, this.options.logoutTokenMaxAgeMs + 2 * CLOCK_TOLERANCE_MS))) {
      throw new LogoutTokenRefused('logout_token was already used.');
    }
    let userId: string | undefined;
    if (claims.sub) userId = this.userIdOf(claims.sub);
    else {
      const entries = await this.store.getUserEntries(this.sidIndex(claims.sid!));
      userId = entries[SID_ENTRY]?.value;
    }
    if (!userId) return 0;
    if (!claims.sid) return this.engine.endAllForUser(userId, 'backchannel');
    const named = (await this.engine.list(userId)).filter((r) => userOf(r).sid === claims.sid);
    const ended = await Promise.all(named.map((r) => this.engine.end(r.key, 'backchannel')));
    return ended.filter(Boolean).length;
  }

  /** The user endpoint's answer for a session: safe claims, time left, the logout route. */
  userInfo(session: RequestSession): OidcUserInfo {
    const info = session.info;
    if (!info) throw new SessionRequiredError();
    return { user: info.user, expiresIn: Math.max(0, Math.floor((info.expiresAt.getTime() - this.clock.now()) / 1000)), logoutUrl: OIDC_LOGOUT_PATH };
  }

  /**
   * Keeps the `sid` index as small as the live sessions: when a signed-in session ends, its
   * `sid` entry goes unless another live session of the user has the same `sid`.
   */
  readonly lifecycle: SessionLifecycleListener = {
    onSessionEnded: async (record: StoredSession) => {
      const sid = userOf(record).sid;
      if (typeof sid !== 'string' || !record.userId.startsWith(`oidc:${this.issuerTag}:`)) return;
      const others = await this.store.listByUser(record.userId);
      if (others.some((r) => r.key !== record.key && userOf(r).sid === sid)) return;
      await this.store.deleteUserEntry(this.sidIndex(sid), SID_ENTRY);
    },
  };

  private sidIndex(sid: string): string {
    return `${SID_INDEX}${digest(`${this.options.connection.issuer!.href}|${sid}`)}`;
  }
}

function digest(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64url');
}

/** A same-origin path with one query parameter added. */
function withParam(path: string, name: string, value: string): string {
  const u = new URL(path, 'http://same.invalid');
  u.searchParams.set(name, value);
  return u.pathname + u.search + u.hash;
}

function missing(): OAuthError {
  return new OAuthError(OAuthErrorCode.TransactionMissing, 'No pending sign-in for this browser (none was started, it was already used, or its cookie was lost); sign in again.');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
