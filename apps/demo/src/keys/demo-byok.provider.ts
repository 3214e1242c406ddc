import { UserKeyProvider, type SessionEndReason, type StoredSession, type Vault } from '@keyward/nest';
import type { DemoKeyIssuer } from './demo-key-issuer.js';

/**
 * The demo's `demo-byok` credential: the user's own key ({@link UserKeyProvider}), plus
 * the end of the development trial keys stored under it: when a session ends, the trial
 * key it minted is revoked at the upstream and, if the user has not stored a key of their
 * own over it, removed (see {@link DemoKeyIssuer.endTrial}). Still a `UserKeyProvider`, so
 * the key routes accept keys for it.
 *
 * @example
 * credentials: { 'demo-byok': new DemoByokProvider(issuer) }
 */
export class DemoByokProvider extends UserKeyProvider {
  constructor(private readonly issuer: DemoKeyIssuer) {
    super();
  }

  async onSessionEnded(session: StoredSession, _reason: SessionEndReason, name: string, vault: Vault): Promise<void> {
    await this.issuer.endTrial(session, vault, name);
  }
}
