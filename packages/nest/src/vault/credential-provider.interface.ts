import type { StoredSession } from '../stores/session-store.interface.js';
import type { SessionEndReason } from '../session/session.types.js';
import type { Secret } from './secret.js';
import type { Vault } from './vault.js';
import type { SecurityEventSink } from '../events/security-event.js';

/** The request a credential is needed for. */
export interface CredentialRequest {
  /** Name the credential is registered under (e.g. `demo-session`). */
  name: string;
  /** The session making the call. */
  session: StoredSession;
  vault: Vault;
  now: number;
}

/**
 * A source of API keys. Keyward ships three (server key, per-session minted key, the
 * user's own key); implement this to plug in another, such as a cloud secret manager.
 *
 * @example
 * class SecretsManagerProvider implements CredentialProvider {
 *   readonly kind = 'secrets-manager';
 *   async acquire() { return new Secret(await sm.getSecretValue('openai')); }
 * }
 */
export interface CredentialProvider {
  /** Short name for logs and the self-audit. */
  readonly kind: string;
  /** The key for this request. Throw a `VaultError` with code `KW_CREDENTIAL_MISSING` when there is none. */
  acquire(request: CredentialRequest): Promise<Secret>;
  /**
   * The upstream answered 401 to a call that carried `rejected`: return a fresh credential
   * to retry the call with once (the OAuth provider refreshes its access token), or
   * undefined to pass the refusal on. Providers without it are never retried.
   */
  renew?(request: CredentialRequest, rejected: Secret): Promise<Secret | undefined>;
  /** Called after login, for providers that prepare a key per session. Failures do not fail the login. */
  onSessionStarted?(request: CredentialRequest): Promise<void>;
  /** Called when a session ends, for providers that must revoke what they issued. */
  onSessionEnded?(session: StoredSession, reason: SessionEndReason, name: string, vault: Vault): Promise<void>;
  /** Values this provider holds live, so redaction can scrub them from logs. */
  liveSecrets?(): Iterable<string>;
  /** Called at application shutdown: stop background work (timers, retries). */
  close?(): void;
  /**
   * Called once at startup with where to report security events (`credential.minted`,
   * `credential.revoked`, `credential.revoke-failed`), for providers that issue keys.
   */
  bindEvents?(events: SecurityEventSink): void;
}
