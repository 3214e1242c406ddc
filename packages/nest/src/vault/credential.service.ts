import type { OnApplicationShutdown } from '@nestjs/common';
import { SessionRequiredError, VaultError, VaultErrorCode } from '../keyward.errors.js';
import type { StoredSession } from '../stores/session-store.interface.js';
import type { Clock } from '../util/clock.js';
import type { SessionLifecycleListener } from '../session/session.types.js';
import type { CredentialProvider } from './credential-provider.interface.js';
import { releaseSessionValues, type Secret } from './secret.js';
import type { Vault } from './vault.js';
import type { KeywardEvents } from '../events/keyward-events.js';

/**
 * Hands out credentials for a session, from the providers named in the module options, and
 * says what the providers must do when a session starts, moves or ends
 * ({@link CredentialService.lifecycle}); the module binds that to the session engine, so
 * the vault never depends on the engine.
 *
 * @example
 * const answer = await credentials.use(session, 'openai', (key) => callOpenAi(key.reveal()));
 */
export class CredentialService implements OnApplicationShutdown {
  /**
   * What the providers do at a session's start, move and end: mint at login, re-bind the
   * session's data key to its new ID, revoke at the end.
   */
  readonly lifecycle: SessionLifecycleListener;

  /**
   * Made by `KeywardModule` (inject `CredentialService` to use it). `clock` tells the time
   * the sessions are judged by (the session engine: the store's time).
   */
  constructor(
    private readonly providers: ReadonlyMap<string, CredentialProvider>,
    readonly vault: Vault,
    private readonly clock: Clock,
    events?: KeywardEvents,
  ) {
    // Providers that issue keys report credential.minted / revoked / revoke-failed.
    if (events) for (const p of providers.values()) p.bindEvents?.(events);
    this.lifecycle = {
      // A same-user regenerate moves the session to a new store key: its data key is bound
      // to the key, so it is re-wrapped for the new one (or dropped if it cannot be).
      onSessionMoving: (data, from, to) => (vault ? vault.rebindSession(data, from, to) : { ...data }),
      onSessionStarted: async (record) => {
        await Promise.all([...this.providers].map(([name, p]) => p.onSessionStarted?.({ name, session: record, vault, now: clock.now() })));
      },
      onSessionEnded: async (record, reason) => {
        // The session's own values (vault.putSession) die with it: the registry lets them go.
        releaseSessionValues(record.handle);
        const results = await Promise.allSettled([...this.providers].map(([name, p]) => p.onSessionEnded?.(record, reason, name, vault)));
        if (results.some((r) => r.status === 'rejected')) throw new VaultError(VaultErrorCode.CredentialUnavailable, 'A provider could not end its keys.');
      },
    };
  }

  /** Stops the providers' background work (revocation retries). */
  onApplicationShutdown(): void {
    for (const p of this.providers.values()) p.close?.();
  }

  /** Names of the configured credentials. */
  get names(): string[] {
    return [...this.providers.keys()];
  }

  /** The provider registered under a name, if any. */
  provider(name: string): CredentialProvider | undefined {
    return this.providers.get(name);
  }

  /** The credential for a session record. Prefer {@link use}, which keeps the plaintext scoped. */
  async acquire(record: StoredSession, name: string): Promise<Secret> {
    const provider = this.providers.get(name);
    if (!provider) throw new VaultError(VaultErrorCode.CredentialMissing, `No credential named "${name}" is configured.`);
    return provider.acquire({ name, session: record, vault: this.vault, now: this.clock.now() });
  }

  /**
   * After the upstream refused `rejected` with a 401: a fresh credential of the same name to
   * retry once with, or undefined when its provider cannot renew it (then the 401 stands).
   */
  async renew(record: StoredSession, name: string, rejected: Secret): Promise<Secret | undefined> {
    const provider = this.providers.get(name);
    if (!provider?.renew) return undefined;
    return provider.renew({ name, session: record, vault: this.vault, now: this.clock.now() }, rejected);
  }

  /** Runs `fn` with the credential of a request's session (`@CurrentSession()`); the plaintext never leaves the callback. */
  async use<T>(session: { readonly storedRecord: StoredSession | undefined }, name: string, fn: (key: Secret) => Promise<T> | T): Promise<T> {
    const record = session.storedRecord;
    if (!record) throw new SessionRequiredError();
    return fn(await this.acquire(record, name));
  }
}
