import { KeywardError, VaultError, VaultErrorCode, liveSecrets, registerStatus, type KeyIssuer, type RequestSession, type StoredSession, type Vault } from '@keyward/nest';
import { Logger } from '@nestjs/common';
import { Agent, request } from 'undici';

/** Trial keys one session may mint; past it, `429 KW_TRIAL_KEY_LIMIT`. */
export const TRIAL_KEYS_PER_SESSION = 3;
/** Longest lifetime of a trial key at the upstream (never past its session's absolute deadline). */
const TRIAL_KEY_TTL_MS = 24 * 3_600_000;
/**
 * Session field recording this session's trial keys (ids and times only, no key material):
 * how many it minted, the one stored last and when, and replaced ones not revoked yet.
 */
const TRIAL_FIELD = 'demo.trial-keys';
/** Upstream label of trial keys (per-session minted keys are `keyward-session`). */
const TRIAL_LABEL = 'demo-trial';

registerStatus('KW_TRIAL_KEY_LIMIT', 429);

interface TrialState {
  count: number;
  id: string | null;
  /** The `updatedAt` (ms) the user's stored key got when this trial key was stored. */
  storedAt?: number;
  /** Replaced trial keys whose revocation failed: tried again when the session ends. */
  unrevoked?: string[];
}

/**
 * Mints and revokes per-session keys at the demo upstream's admin API
 * (`POST /admin/keys`, `DELETE /admin/keys/:id`). The admin token never leaves this file.
 */
export class DemoKeyIssuer implements KeyIssuer {
  private readonly agent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });
  private readonly logger = new Logger('Demo');
  /** Trial-key requests in flight, per session handle: one at a time, so none is lost unrevoked. */
  private readonly trials = new Map<string, Promise<void>>();

  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string,
  ) {
    liveSecrets.add(adminToken, { pinned: true });
  }

  async mint(req: { expiresAt: Date }, label = 'keyward-session'): Promise<{ id: string; key: string }> {
    const ttlMs = Math.max(1000, req.expiresAt.getTime() - Date.now());
    const res = await request(new URL('/admin/keys', this.baseUrl), {
      method: 'POST',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlMs, label }),
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    const body = (await res.body.json().catch(() => null)) as { id?: unknown; key?: unknown } | null;
    if (res.statusCode !== 201 || typeof body?.id !== 'string' || typeof body.key !== 'string') {
      throw new Error(`mint failed with status ${res.statusCode}`);
    }
    return { id: body.id, key: body.key };
  }

  async revoke(id: string): Promise<void> {
    const res = await request(new URL(`/admin/keys/${encodeURIComponent(id)}`, this.baseUrl), {
      method: 'DELETE',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}` },
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    await res.body.dump();
    if (res.statusCode !== 204 && res.statusCode !== 404) throw new Error(`revoke failed with status ${res.statusCode}`);
  }

  /**
   * Development only: mints a key and stores it as the user's own key for `name`, never
   * returning it. The trial key it replaces (this session's previous one) is revoked at the
   * upstream; a session mints at most {@link TRIAL_KEYS_PER_SESSION}. A trial key lives as
   * long as the session that minted it: {@link endTrial} revokes it when the session ends
   * (logout, logout-all, revoke, expiry), and its TTL at the upstream is the session's
   * absolute deadline at most. An unreachable upstream is `503 KW_CREDENTIAL_UNAVAILABLE`; a
   * key that cannot be stored is revoked.
   */
  issueTrialKey(session: RequestSession, vault: Vault, name: string): Promise<void> {
    const handle = session.info!.id;
    const run = (this.trials.get(handle) ?? Promise.resolve()).then(() => this.trial(session, vault, name));
    const settled = run.catch(() => undefined);
    this.trials.set(handle, settled);
    void settled.then(() => this.trials.get(handle) === settled && this.trials.delete(handle));
    return run;
  }

  /**
   * The end of a session (the `demo-byok` provider's `onSessionEnded`): revokes the trial
   * keys it minted and not yet revoked, and removes the user's stored key for `name` if it
   * is still this session's trial key (a key the user stored over it is kept). A revocation
   * that fails is logged; the key then dies at its TTL, the session's absolute deadline.
   */
  async endTrial(record: StoredSession, vault: Vault, name: string): Promise<void> {
    const state = trialStateOf(record);
    if (!state) return;
    if (state.id && state.storedAt !== undefined) await this.removeIfStill(vault, record.userId, name, state.storedAt);
    const ids = [...(state.id ? [state.id] : []), ...(state.unrevoked ?? [])];
    const results = await Promise.allSettled(ids.map((id) => this.revoke(id)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.logger.warn(`${failed} trial key(s) of an ended session could not be revoked; they expire at the session's deadline.`);
  }

  /** Removes the user's stored key for `name` if it is still the one stored at `storedAt` (not one the user stored since). */
  private async removeIfStill(vault: Vault, userId: string, name: string, storedAt: number): Promise<void> {
    const stored = (await vault.listUser(userId)).find((k) => k.name === name);
    if (stored && stored.updatedAt.getTime() === storedAt) await vault.removeUser(userId, name);
  }

  private async trial(session: RequestSession, vault: Vault, name: string): Promise<void> {
    const state = session.get<TrialState>(TRIAL_FIELD) ?? { count: 0, id: null };
    if (state.count >= TRIAL_KEYS_PER_SESSION) {
      throw new KeywardError('KW_TRIAL_KEY_LIMIT', `This session has used its ${TRIAL_KEYS_PER_SESSION} trial keys; store a key of your own, or log in again later.`);
    }
    const expiresAt = new Date(Math.min(Date.now() + TRIAL_KEY_TTL_MS, session.info!.absoluteExpiresAt.getTime()));
    let minted: { id: string; key: string };
    try {
      minted = await this.mint({ expiresAt }, TRIAL_LABEL);
    } catch {
      throw new VaultError(VaultErrorCode.CredentialUnavailable, 'The demo upstream did not answer; try again shortly.');
    }
    const storedAt = Date.now();
    const unrevoked = state.unrevoked ?? [];
    const userId = session.user!.id;
    let stored = false;
    try {
      await vault.putUser(userId, name, minted.key, storedAt);
      stored = true;
      await session.set(TRIAL_FIELD, { count: state.count + 1, id: minted.id, storedAt, unrevoked } satisfies TrialState);
    } catch (e) {
      // Not recorded (the session ended meanwhile, or the store failed): nothing would end it, so end it now.
      if (stored) await this.removeIfStill(vault, userId, name, storedAt).catch(() => undefined);
      await this.revoke(minted.id).catch(() => this.logger.warn('A trial key that could not be recorded could not be revoked either; it expires at the session\'s deadline.'));
      throw e;
    }
    if (state.id) {
      try {
        await this.revoke(state.id);
      } catch {
        this.logger.warn('A replaced trial key could not be revoked yet; it is tried again when the session ends.');
        await session.set(TRIAL_FIELD, { count: state.count + 1, id: minted.id, storedAt, unrevoked: [...unrevoked, state.id] } satisfies TrialState).catch(() => undefined);
      }
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The trial keys a (possibly just ended) session record lists, or undefined. */
function trialStateOf(record: StoredSession): TrialState | undefined {
  const raw = record.data[TRIAL_FIELD];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<TrialState>;
    const id = typeof v.id === 'string' ? v.id : null;
    const unrevoked = Array.isArray(v.unrevoked) ? v.unrevoked.filter((x): x is string => typeof x === 'string') : [];
    return { count: Number(v.count) || 0, id, storedAt: typeof v.storedAt === 'number' ? v.storedAt : undefined, unrevoked };
  } catch {
    return undefined;
  }
}
