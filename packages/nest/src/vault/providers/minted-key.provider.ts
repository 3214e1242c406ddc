import { Logger } from '@nestjs/common';
import { MIN_SCRUBBABLE_LENGTH, liveSecrets } from '../../redaction/live-secrets.js';
import type { SessionEndReason } from '../../session/session.types.js';
import type { StoredSession } from '../../stores/session-store.interface.js';
import type { CredentialProvider, CredentialRequest } from '../credential-provider.interface.js';
import { KeywardErrorCode, SessionRequiredError, VaultError, VaultErrorCode } from '../../keyward.errors.js';
import { Secret } from '../secret.js';
import { issuedKeysOf, type Vault } from '../vault.js';
import { NO_EVENTS, keyRef, sessionRef, type SecurityEventSink } from '../../events/security-event.js';

/** Talks to the upstream that can issue and revoke keys. */
export interface KeyIssuer {
  /** Mints a key for a session; `expiresAt` is the session's absolute deadline (use it as the key's TTL). */
  mint(request: { userId: string; sessionHandle: string; expiresAt: Date }): Promise<{ id: string; key: string }>;
  /** Revokes a key; must succeed for an already-revoked or expired key. */
  revoke(id: string): Promise<void>;
}

/** Options of {@link MintedKeyProvider}. */
export interface MintedKeyOptions {
  issuer: KeyIssuer;
  /**
   * A session's key is replaced after this long.
   * @default 900_000 (15 minutes)
   */
  rotateEveryMs?: number;
  /**
   * After a rotation the old key keeps working this long (calls in flight finish), then
   * it is revoked.
   * @default 60_000
   */
  graceMs?: number;
  /**
   * When revoking a key fails at session end (the issuer is down), it is tried again after
   * each of these delays, in the background, until it succeeds. Pending retries live in
   * this process only: a key whose revocation never succeeds still dies at the upstream
   * at the session's absolute deadline, its TTL.
   * @default [1_000, 5_000, 30_000, 120_000]
   */
  revokeRetryDelaysMs?: number[];
}

/** Revocations waiting for a retry, at most (beyond that, the key's TTL is the backstop). */
const MAX_PENDING_REVOCATIONS = 10_000;
/** A revocation attempt that has not settled after this long counts as failed. */
const REVOKE_ATTEMPT_MS = 30_000;

interface CurrentKey {
  id: string;
  key: string;
  mintedAt: number;
}

/**
 * A key minted for each session at login, rotated on a schedule and revoked at logout,
 * logout-all, revoke and expiry: the key lives exactly as long as the session. Every
 * issued key id is written to the session's ledger before the key is used, so no key can
 * be left behind.
 */
export class MintedKeyProvider implements CredentialProvider {
  readonly kind = 'minted-key';
  private readonly logger = new Logger('Keyward');
  private readonly inflight = new Map<string, Promise<Secret>>();
  private readonly revoking = new Set<string>();
  private readonly rotateEveryMs: number;
  private readonly graceMs: number;
  private readonly retryDelaysMs: readonly number[];
  /** Key ids whose revocation failed at session end, waiting for the next attempt. */
  private readonly pendingRevocations = new Set<string>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private events: SecurityEventSink = NO_EVENTS;

  constructor(private readonly options: MintedKeyOptions) {
    if (!options?.issuer || typeof options.issuer.mint !== 'function' || typeof options.issuer.revoke !== 'function') {
      throw new TypeError('MintedKeyProvider needs `issuer` with mint() and revoke().');
    }
    this.rotateEveryMs = positive(options.rotateEveryMs, 900_000, 'rotateEveryMs');
    this.graceMs = positive(options.graceMs, 60_000, 'graceMs');
    const delays = options.revokeRetryDelaysMs ?? [1_000, 5_000, 30_000, 120_000];
    if (!Array.isArray(delays) || delays.length > 10) throw new TypeError('MintedKeyProvider: revokeRetryDelaysMs must be a list of at most 10 delays in milliseconds.');
    this.retryDelaysMs = delays.map((d, i) => positive(d, 0, `revokeRetryDelaysMs[${i}]`));
  }

  /** Where `credential.*` security events go (the module binds it at startup). */
  bindEvents(events: SecurityEventSink): void {
    this.events = events;
  }

  /** How many revocations are waiting for a retry (for health checks and tests). */
  get pendingRevocationCount(): number {
    return this.pendingRevocations.size;
  }

  async acquire(req: CredentialRequest): Promise<Secret> {
    const current = await this.current(req);
    this.revokeRetired(req.vault, req.session, req.now);
    if (current && req.now - current.mintedAt < this.rotateEveryMs) return keySecret(req.name, current);
    // Due for rotation: one instance rotates (store lease); the others keep using the
    // current key, which stays valid until it is retired after the rotation's grace period.
    // The lease is not released after a rotation: for its 30 s, a request that read the key
    // before another instance rotated it cannot take the lease and rotate again.
    const lease = `rotate:${req.session.handle}:${req.name}`;
    if (current && !(await req.vault.tryLease(lease, 30_000))) return keySecret(req.name, current);
    const flight = `${req.session.key}|${req.name}`;
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = this.mint(req, current)
        .catch(async (e: unknown) => {
          // A failed rotation lets the next request try at once rather than in 30 s.
          if (current) await req.vault.releaseLease(lease).catch(() => undefined);
          throw e;
        })
        .finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, pending);
    }
    return pending;
  }

  async onSessionStarted(req: CredentialRequest): Promise<void> {
    await this.acquire(req);
  }

  async onSessionEnded(session: StoredSession, _reason: SessionEndReason, name: string, vault?: Vault): Promise<void> {
    const ids = issuedKeysOf(session).filter((k) => k.name === name).map((k) => k.id);
    const results = await Promise.allSettled(ids.map((id) => this.revokeWithin(id, REVOKE_ATTEMPT_MS)));
    results.forEach((r, i) => {
      // Revoked: the key can no longer be used, so it stops taking room in the redaction registry.
      if (r.status === 'fulfilled') liveSecrets.forgetTagged(registryTag(name, ids[i]!));
      this.events.emit({ event: r.status === 'fulfilled' ? 'credential.revoked' : 'credential.revoke-failed', credentialName: name, keyRef: keyRef(ids[i]!), sessionRef: sessionRef(session.key) });
    });
    // The rotation lease names this session (by its handle, which stays across ID rotations): it ends with it.
    await vault?.releaseLease(`rotate:${session.handle}:${name}`).catch(() => undefined);
    const failed = ids.filter((_, i) => results[i]!.status === 'rejected');
    if (failed.length === 0) return;
    for (const id of failed) this.retryRevocation(id, name, 0);
    throw new VaultError(VaultErrorCode.CredentialUnavailable, `Could not revoke ${failed.length} minted key(s) for "${name}" yet; retrying in the background.`);
  }

  /** Tries a failed revocation again after the next delay; gives up (with a warning) after the last. */
  private retryRevocation(id: string, name: string, attempt: number): void {
    if (attempt >= this.retryDelaysMs.length) {
      this.pendingRevocations.delete(id);
      this.logger.warn(`A minted key for "${name}" could not be revoked after ${attempt + 1} attempts; it expires at the upstream at the session's deadline.`);
      return;
    }
    if (attempt === 0) {
      if (this.pendingRevocations.has(id)) return;
      if (this.pendingRevocations.size >= MAX_PENDING_REVOCATIONS) {
        this.logger.warn(`Too many minted-key revocations waiting; a key for "${name}" is left to expire at the session's deadline.`);
        return;
      }
      this.pendingRevocations.add(id);
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.revokeWithin(id, REVOKE_ATTEMPT_MS).then(
        () => {
          this.pendingRevocations.delete(id);
          liveSecrets.forgetTagged(registryTag(name, id));
          this.events.emit({ event: 'credential.revoked', credentialName: name, keyRef: keyRef(id) });
        },
        () => this.retryRevocation(id, name, attempt + 1),
      );
    }, this.retryDelaysMs[attempt]);
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** One revocation attempt that settles within `ms`, whatever the issuer does (throws, hangs). */
  private revokeWithin(id: string, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('revocation attempt timed out')), ms);
      timer.unref();
    });
    return Promise.race([Promise.resolve().then(() => this.options.issuer.revoke(id)), deadline]).finally(() => clearTimeout(timer));
  }

  /** Stops pending revocation retries (called at application shutdown); the keys' TTL remains the backstop. */
  close(): void {
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.pendingRevocations.clear();
  }

  /**
   * The session's current key, kept as provider state: a namespace of the vault that no
   * public credential name reaches, so an app that lets users name their credentials cannot
   * be made to plant a "current key" (and get another session's key revoked as rotated out).
   */
  private async current(req: CredentialRequest): Promise<CurrentKey | undefined> {
    const sealed = await req.vault.openProviderState(req.session, stateName(req.name));
    if (!sealed) return undefined;
    let v: Partial<CurrentKey> | null = null;
    try {
      v = JSON.parse(sealed) as Partial<CurrentKey>;
    } catch {
      // fall through
    }
    if (!v || typeof v.id !== 'string' || typeof v.key !== 'string' || v.key.length === 0 || typeof v.mintedAt !== 'number' || !Number.isFinite(v.mintedAt)) {
      throw new VaultError(VaultErrorCode.Malformed, `The stored minted key for "${req.name}" is malformed; log in again.`);
    }
    return { id: v.id, key: v.key, mintedAt: v.mintedAt };
  }

  private async mint(req: CredentialRequest, previous: CurrentKey | undefined): Promise<Secret> {
    const { session, name, now } = req;
    let minted: { id: string; key: string };
    try {
      minted = await this.options.issuer.mint({ userId: session.userId, sessionHandle: session.handle, expiresAt: new Date(session.absoluteExpiresAt) });
    } catch {
      throw new VaultError(VaultErrorCode.CredentialUnavailable, `The key issuer for "${name}" did not answer; try again.`);
    }
    // A key too short to scrub from logs and upstream echoes is never used: revoke it and say why.
    if (typeof minted?.key !== 'string' || minted.key.length < MIN_SCRUBBABLE_LENGTH) {
      if (typeof minted?.id === 'string') await this.revokeWithin(minted.id, REVOKE_ATTEMPT_MS).catch(() => undefined);
      throw new VaultError(VaultErrorCode.CredentialUnavailable, `The key issuer for "${name}" returned a key shorter than ${MIN_SCRUBBABLE_LENGTH} characters; it was revoked and not used. Fix the issuer to mint longer keys.`);
    }
    // Ledger first: if the session ended meanwhile, the fresh key is revoked at once.
    const recorded = await req.vault.recordIssued(session, { id: minted.id, name, retireAt: null }).catch(async (e: unknown) => {
      // Not recorded (the store failed, or its replicas did not confirm): the key is never used.
      await this.options.issuer.revoke(minted.id).catch(() => undefined);
      throw e;
    });
    if (!recorded) {
      await this.options.issuer.revoke(minted.id).catch(() => undefined);
      throw new SessionRequiredError(KeywardErrorCode.SessionRequired, 'The session ended; log in again.');
    }
    await req.vault.putProviderState(session, stateName(name), JSON.stringify({ id: minted.id, key: minted.key, mintedAt: now } satisfies CurrentKey));
    this.events.emit({ event: 'credential.minted', credentialName: name, keyRef: keyRef(minted.id), sessionRef: sessionRef(session.key) });
    if (previous) await req.vault.recordIssued(session, { id: previous.id, name, retireAt: now + this.graceMs });
    return keySecret(name, minted);
  }

  /** Revokes rotated-out keys whose grace has passed (in the background). */
  private revokeRetired(vault: Vault, session: StoredSession, now: number): void {
    for (const k of issuedKeysOf(session)) {
      if (k.retireAt === null || k.retireAt > now || this.revoking.has(k.id)) continue;
      this.revoking.add(k.id);
      this.options.issuer
        .revoke(k.id)
        .then(() => {
          liveSecrets.forgetTagged(registryTag(k.name, k.id));
          this.events.emit({ event: 'credential.revoked', credentialName: k.name, keyRef: keyRef(k.id), sessionRef: sessionRef(session.key) });
          return vault.forgetIssued(session, k.id);
        })
        .catch(() => {
          this.events.emit({ event: 'credential.revoke-failed', credentialName: k.name, keyRef: keyRef(k.id), sessionRef: sessionRef(session.key) });
          this.logger.warn('A rotated-out minted key could not be revoked yet; it will be retried.');
        })
        .finally(() => this.revoking.delete(k.id));
    }
  }
}

/**
 * A minted key as a `Secret`, registered in the redaction registry under its id, so the
 * provider can forget it there once its revocation is confirmed (the provider keeps ids
 * only, never the key).
 */
function keySecret(name: string, key: { id: string; key: string }): Secret {
  const secret = new Secret(key.key);
  liveSecrets.add(key.key, { tag: registryTag(name, key.id) });
  return secret;
}

/** The registry tag of a minted key: credential name and key id. */
function registryTag(name: string, id: string): string {
  return `mk\u0000${name}\u0000${id}`;
}

/** Name of the provider state holding a credential's current minted key. */
function stateName(credential: string): string {
  return `mk.${credential}`;
}

function positive(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v <= 0) throw new TypeError(`MintedKeyProvider: ${name} must be a positive integer of milliseconds.`);
  return v;
}
