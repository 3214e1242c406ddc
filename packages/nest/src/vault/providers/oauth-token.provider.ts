import { createHash, randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { liveSecrets } from '../../redaction/live-secrets.js';
import type { SessionEndReason } from '../../session/session.types.js';
import type { SessionStore, StoredSession } from '../../stores/session-store.interface.js';
import type { CredentialProvider, CredentialRequest } from '../credential-provider.interface.js';
import { OAuthError, OAuthErrorCode, SessionRequiredError, VaultError, VaultErrorCode } from '../../keyward.errors.js';
import { Secret } from '../secret.js';
import type { Vault } from '../vault.js';
import { NO_EVENTS, keyRef, sessionRef, type SecurityEventSink } from '../../events/security-event.js';

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
  /** Refresh this long before the access token expires. @default 60_000 */
  refreshSkewMs?: number;
  /** Retries of a failed revocation at session end. @default [1_000, 5_000, 30_000, 120_000] */
  revokeRetryDelaysMs?: readonly number[];
  /** How long a refresh may hold the store lease (and others wait for it). @default 15_000 */
  refreshLeaseMs?: number;
}

/** One connection of a session, as the user may see it (never a token). */
export interface ConnectionInfo {
  service: string;
  scopes: string[];
  expiresAt: Date | null;
  connectedAt: Date;
}

/** The sealed state: tokens, expiry, scope, when connected, a generation bumped by each refresh. */
interface Stored {
  a: string;
  r?: string;
  e?: number;
  s?: string;
  i?: string;
  c: number;
  g: number;
}

const NO_TOUCH = Number.MAX_SAFE_INTEGER;
const POLL_MS = 50;
const REVOKE_ATTEMPT_MS = 30_000;
const MAX_PENDING_REVOCATIONS = 10_000;

/**
 * The tokens of a connected account (see docs/connected-accounts.md), a credential the proxy
 * and `CredentialService.use()` can name: the access token is sealed in the session's vault
 * entries (never a cookie, body, event or log line), refreshed before it expires, once for
 * the session across requests and instances (a store lease; the rotated refresh token is
 * stored before anyone uses it), and revoked (RFC 7009) when the session ends or the user
 * disconnects.
 *
 * @example
 * // Made for you from `oauth.connections`; name it in a proxy service:
 * proxy: { services: { github: { baseUrl: 'https://api.github.com/', credential: 'github' } } }
 */
export class OAuthTokenProvider implements CredentialProvider {
  readonly kind = 'oauth';
  private readonly logger = new Logger('Keyward');
  private readonly inflight = new Map<string, Promise<Secret>>();
  private readonly skew: number;
  private readonly leaseMs: number;
  private readonly retryDelays: readonly number[];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private pending = 0;
  private events: SecurityEventSink = NO_EVENTS;

  constructor(private readonly options: OAuthTokenProviderOptions) {
    this.skew = options.refreshSkewMs ?? 60_000;
    this.leaseMs = options.refreshLeaseMs ?? 15_000;
    this.retryDelays = options.revokeRetryDelaysMs ?? [1_000, 5_000, 30_000, 120_000];
  }

  bindEvents(events: SecurityEventSink): void {
    this.events = events;
  }

  /** Revocations waiting for a retry (for health checks and tests). */
  get pendingRevocationCount(): number {
    return this.pending;
  }

  async acquire(req: CredentialRequest): Promise<Secret> {
    const current = await readState(req.vault, req.session, req.name);
    if (!current) throw notConnected(req.name);
    if (!this.due(current, req.now)) return tokenSecret(current.a);
    const flight = `${req.session.handle}|${req.name}`;
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = this.refresh(req, current).finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, pending);
    }
    return pending;
  }

  /**
   * Seals a fresh token set into the session (after the authorization-code exchange). The
   * tokens are registered with redaction before anything else can see them. A connection
   * the session had before is replaced (its refresh token revoked).
   */
  async save(vault: Vault, record: StoredSession, name: string, tokens: OAuthTokenSet, now: number): Promise<void> {
    registerTokens(tokens);
    const previous = await readState(vault, record, name).catch(() => undefined);
    await vault.putProviderState(record, stateName(name), JSON.stringify(toStored(tokens, now, 0)));
    this.events.emit({ event: 'credential.minted', credentialName: name, keyRef: tokenRef(tokens.refreshToken ?? tokens.accessToken), sessionRef: sessionRef(record.key) });
    if (previous) void this.revokeAll(previous, name, record.key, 0);
  }

  /** The session's connection of this name (never a token), or undefined. */
  async info(vault: Vault, record: StoredSession, name: string): Promise<ConnectionInfo | undefined> {
    const s = await readState(vault, record, name);
    if (!s) return undefined;
    return { service: name, scopes: s.s ? s.s.split(' ').filter(Boolean) : [], expiresAt: s.e === undefined ? null : new Date(s.e), connectedAt: new Date(s.c) };
  }

  /**
   * The ID token of the session's connection, or undefined: only for an RP-initiated logout's
   * `id_token_hint` (OpenID Connect sign-in), never for an answer of its own.
   */
  async idToken(vault: Vault, record: StoredSession, name: string): Promise<string | undefined> {
    return (await readState(vault, record, name).catch(() => undefined))?.i;
  }

  /** Removes the connection from the session and revokes its tokens; false if there was none. */
  async disconnect(vault: Vault, record: StoredSession, name: string): Promise<boolean> {
    const s = await readState(vault, record, name);
    if (!s) return false;
    await vault.removeProviderState(record, stateName(name));
    await this.revokeAll(s, name, record.key, 0);
    return true;
  }

  async onSessionEnded(session: StoredSession, _reason: SessionEndReason, name: string, vault?: Vault): Promise<void> {
    if (!vault) return;
    let s: Stored | undefined;
    try {
      s = await readState(vault, session, name);
    } catch {
      return; // a state that does not open cannot be revoked; its tokens expire at the provider
    }
    await vault.releaseLease(leaseName(session, name)).catch(() => undefined);
    if (!s) return;
    if (!(await this.revokeAll(s, name, session.key, 0))) {
      throw new VaultError(VaultErrorCode.CredentialUnavailable, `Could not revoke the "${name}" tokens yet; retrying in the background.`);
    }
  }

  close(): void {
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.pending = 0;
  }

  private due(s: Stored, now: number): boolean {
    return s.e !== undefined && s.e - this.skew <= now;
  }

  /** One refresh for the session across instances: the lease holder refreshes, the others wait for its result. */
  private async refresh(req: CredentialRequest, seen: Stored): Promise<Secret> {
    if (!seen.r) {
      if (seen.e !== undefined && seen.e > req.now) return tokenSecret(seen.a);
      await req.vault.removeProviderState(req.session, stateName(req.name)).catch(() => undefined);
      throw reconnect(req.name);
    }
    const lease = leaseName(req.session, req.name);
    const owner = randomBytes(12).toString('base64url');
    const deadline = Date.now() + this.leaseMs;
    for (;;) {
      const record = await this.reload(req.session);
      const now = Math.max(req.now, Date.now());
      const current = await readState(req.vault, record, req.name);
      if (!current) throw notConnected(req.name);
      // Another request or instance refreshed meanwhile: use its token.
      if (current.g !== seen.g || !this.due(current, now)) return tokenSecret(current.a);
      // The lease's owner is this attempt, not this process: two app instances in one process
      // (or a process restarted with the same identity) must not both believe they hold it.
      if (await this.options.store.acquireLease(lease, owner, this.leaseMs)) {
        try {
          // Read again under the lease: another holder may have refreshed and released it
          // between the read above and this acquire (its rotated refresh token replaced ours).
          const held = await this.reload(req.session);
          const latest = await readState(req.vault, held, req.name);
          if (!latest) throw notConnected(req.name);
          if (latest.g !== seen.g || !this.due(latest, now)) return tokenSecret(latest.a);
          return await this.refreshHolding(req, held, latest, now);
        } finally {
          await this.options.store.releaseLease?.(lease).catch(() => undefined);
        }
      }
      if (Date.now() >= deadline) throw new OAuthError(OAuthErrorCode.Unavailable, `The "${req.name}" token is being refreshed and the refresh did not finish in time; retry.`);
      await sleep(POLL_MS);
    }
  }

  private async refreshHolding(req: CredentialRequest, record: StoredSession, current: Stored, now: number): Promise<Secret> {
    let fresh: OAuthTokenSet;
    try {
      fresh = await this.options.client.refresh(current.r!);
    } catch (e) {
      if (e instanceof OAuthError && e.code === OAuthErrorCode.Reconnect) {
        // The grant is gone: so is the connection. Nothing to revoke at the server.
        await req.vault.removeProviderState(record, stateName(req.name)).catch(() => undefined);
        this.events.emit({ event: 'credential.revoked', credentialName: req.name, keyRef: tokenRef(current.r!), sessionRef: sessionRef(record.key) });
        throw e;
      }
      throw e instanceof OAuthError ? e : new OAuthError(OAuthErrorCode.Unavailable, `The authorization server of "${req.name}" could not refresh the token; retry.`);
    }
    registerTokens(fresh);
    // A server that does not rotate refresh tokens keeps the one it has.
    const next = toStored({ ...fresh, refreshToken: fresh.refreshToken ?? current.r, scope: fresh.scope ?? current.s }, current.c, current.g + 1);
    // Stored (one atomic field write) before the new tokens are used or the lease is released.
    await req.vault.putProviderState(record, stateName(req.name), JSON.stringify(next));
    this.events.emit({ event: 'credential.minted', credentialName: req.name, keyRef: tokenRef(next.r ?? next.a), sessionRef: sessionRef(record.key) });
    return tokenSecret(next.a);
  }

  /** The session as the store has it now (following a rotated ID to its successor). */
  private async reload(record: StoredSession): Promise<StoredSession> {
    let key = record.key;
    for (let hop = 0; hop < 4; hop++) {
      const fresh = await this.options.store.load(key, { now: Date.now(), touchAfterMs: NO_TOUCH, idleMs: 0 });
      if (!fresh) break;
      if (!fresh.movedTo) return fresh;
      key = fresh.movedTo.key;
    }
    throw new SessionRequiredError();
  }

  /** Revokes a connection's refresh and access tokens; true when both are settled (revoked, or nothing to revoke). */
  private async revokeAll(s: Stored, name: string, storeKey: string, attempt: number): Promise<boolean> {
    const tokens: Array<[string, 'refresh_token' | 'access_token']> = [];
    if (s.r) tokens.push([s.r, 'refresh_token']);
    tokens.push([s.a, 'access_token']);
    const results = await Promise.allSettled(tokens.map(([t, hint]) => within(this.options.client.revoke(t, hint), REVOKE_ATTEMPT_MS)));
    const failed = results.some((r) => r.status === 'rejected');
    const advertised = results.some((r) => r.status === 'fulfilled' && r.value);
    if (!failed) {
      if (advertised) {
        for (const [t] of tokens) liveSecrets.forget(t);
        this.events.emit({ event: 'credential.revoked', credentialName: name, keyRef: tokenRef(s.r ?? s.a), sessionRef: sessionRef(storeKey) });
      }
      if (attempt > 0) this.pending--;
      return true;
    }
    this.events.emit({ event: 'credential.revoke-failed', credentialName: name, keyRef: tokenRef(s.r ?? s.a), sessionRef: sessionRef(storeKey) });
    if (attempt === 0 && this.pending >= MAX_PENDING_REVOCATIONS) {
      this.logger.warn(`Too many OAuth revocations waiting; the "${name}" tokens are left to expire at the provider.`);
      return false;
    }
    if (attempt === 0) this.pending++;
    if (attempt >= this.retryDelays.length) {
      this.pending--;
      this.logger.warn(`The "${name}" tokens could not be revoked after ${attempt + 1} attempts; they expire at the provider.`);
      return false;
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      void this.revokeAll(s, name, storeKey, attempt + 1);
    }, this.retryDelays[attempt]);
    timer.unref();
    this.retryTimers.add(timer);
    return false;
  }
}

/** Name of the provider state holding a connection's tokens. */
function stateName(name: string): string {
  return `oauth.${name}`;
}

/** The store lease of one session's refresh of one connection (by the session's handle, which survives ID rotation). */
function leaseName(session: StoredSession, name: string): string {
  return `oauth-refresh:${session.handle}:${name}`;
}

async function readState(vault: Vault, record: StoredSession, name: string): Promise<Stored | undefined> {
  const raw = await vault.openProviderState(record, stateName(name));
  if (raw === undefined) return undefined;
  let v: Partial<Stored> | null = null;
  try {
    v = JSON.parse(raw) as Partial<Stored>;
  } catch {
    // fall through
  }
  if (!v || typeof v.a !== 'string' || typeof v.c !== 'number' || typeof v.g !== 'number') {
    throw new VaultError(VaultErrorCode.Malformed, `The stored tokens of "${name}" are malformed; connect again.`);
  }
  if (typeof v.a === 'string') liveSecrets.add(v.a);
  if (typeof v.r === 'string') liveSecrets.add(v.r);
  return v as Stored;
}

function toStored(t: OAuthTokenSet, connectedAt: number, generation: number): Stored {
  const s: Stored = { a: t.accessToken, c: connectedAt, g: generation };
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

function tokenSecret(token: string): Secret {
  return new Secret(token);
}

/** A correlation id of a token for events: a digest prefix, hashed again by `keyRef`. */
function tokenRef(token: string): string {
  return keyRef(`oauth:${createHash('sha256').update(token).digest('base64url').slice(0, 16)}`);
}

function notConnected(name: string): OAuthError {
  return new OAuthError(OAuthErrorCode.NotConnected, `No "${name}" account is connected in this session; connect it at /api/connect/${name}.`);
}

function reconnect(name: string): OAuthError {
  return new OAuthError(OAuthErrorCode.Reconnect, `The "${name}" connection expired or was revoked at the provider; connect it again at /api/connect/${name}.`);
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
