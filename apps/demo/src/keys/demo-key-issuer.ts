import { KeywardError, VaultError, VaultErrorCode, liveSecrets, registerStatus, type KeyIssuer, type RequestSession, type Vault } from '@keyward/nest';
import { Logger } from '@nestjs/common';
import { Agent, request } from 'undici';

/** Trial keys one session may mint; past it, `429 KW_TRIAL_KEY_LIMIT`. */
export const TRIAL_KEYS_PER_SESSION = 3;
/** Lifetime of a trial key at the upstream. */
const TRIAL_KEY_TTL_MS = 24 * 3_600_000;
/** Session field recording this session's trial keys: `{ count, id }` (the id of the one stored last; no key material). */
const TRIAL_FIELD = 'demo.trial-keys';

registerStatus('KW_TRIAL_KEY_LIMIT', 429);

interface TrialState {
  count: number;
  id: string | null;
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

  async mint(req: { expiresAt: Date }): Promise<{ id: string; key: string }> {
    const ttlMs = Math.max(1000, req.expiresAt.getTime() - Date.now());
    const res = await request(new URL('/admin/keys', this.baseUrl), {
      method: 'POST',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlMs, label: 'keyward-session' }),
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
   * upstream; a session mints at most {@link TRIAL_KEYS_PER_SESSION}. An unreachable
   * upstream is `503 KW_CREDENTIAL_UNAVAILABLE`; a key that cannot be stored is revoked.
   */
  issueTrialKey(session: RequestSession, vault: Vault, name: string): Promise<void> {
    const handle = session.info!.id;
    const run = (this.trials.get(handle) ?? Promise.resolve()).then(() => this.trial(session, vault, name));
    const settled = run.catch(() => undefined);
    this.trials.set(handle, settled);
    void settled.then(() => this.trials.get(handle) === settled && this.trials.delete(handle));
    return run;
  }

  private async trial(session: RequestSession, vault: Vault, name: string): Promise<void> {
    const state = session.get<TrialState>(TRIAL_FIELD) ?? { count: 0, id: null };
    if (state.count >= TRIAL_KEYS_PER_SESSION) {
      throw new KeywardError('KW_TRIAL_KEY_LIMIT', `This session has used its ${TRIAL_KEYS_PER_SESSION} trial keys; store a key of your own, or log in again later.`);
    }
    let minted: { id: string; key: string };
    try {
      minted = await this.mint({ expiresAt: new Date(Date.now() + TRIAL_KEY_TTL_MS) });
    } catch {
      throw new VaultError(VaultErrorCode.CredentialUnavailable, 'The demo upstream did not answer; try again shortly.');
    }
    try {
      await vault.putUser(session.user!.id, name, minted.key);
      await session.set(TRIAL_FIELD, { count: state.count + 1, id: minted.id } satisfies TrialState);
    } catch (e) {
      await this.revoke(minted.id).catch(() => this.logger.warn('A trial key that could not be stored could not be revoked either; it expires within 24 hours.'));
      throw e;
    }
    if (state.id) {
      await this.revoke(state.id).catch(() => this.logger.warn('A replaced trial key could not be revoked yet; it expires within 24 hours.'));
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
