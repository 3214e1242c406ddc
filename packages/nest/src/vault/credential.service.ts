import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import type { RequestSession } from '../session/request-session.js';
import { SessionEngine } from '../session/session.engine.js';
import { SessionRequiredError } from '../keyward.errors.js';
import type { StoredSession } from '../stores/session-store.interface.js';
import type { CredentialProvider } from './credential-provider.interface.js';
import { VaultError, VaultErrorCode } from './key-ring.js';
import type { Secret } from './secret.js';
import { Vault } from './vault.js';
import { KeywardEvents } from '../events/keyward-events.js';

/**
 * Hands out credentials for a session, from the providers named in the module options,
 * and ties providers to the session lifecycle (mint at login, revoke at the end).
 *
 * @example
 * const answer = await credentials.use(session, 'openai', (key) => callOpenAi(key.reveal()));
 */
@Injectable()
export class CredentialService implements OnApplicationShutdown {
  private readonly providers: ReadonlyMap<string, CredentialProvider>;

  constructor(
    @Inject(RESOLVED_OPTIONS) options: ResolvedKeywardOptions,
    @Inject(SessionEngine) private readonly engine: SessionEngine,
    @Inject(Vault) readonly vault: Vault,
    @Inject(KeywardEvents) events: KeywardEvents,
  ) {
    this.providers = options.credentials;
    for (const p of this.providers.values()) p.bindEvents?.(events);
    engine.addListener({
      // A same-user regenerate moves the session to a new store key: its data key is bound
      // to the key, so it is re-wrapped for the new one (or dropped if it cannot be).
      onSessionMoving: (data, from, to) => (vault ? vault.rebindSession(data, from, to) : { ...data }),
      onSessionStarted: async (record) => {
        await Promise.all([...this.providers].map(([name, p]) => p.onSessionStarted?.({ name, session: record, vault, now: engine.now() })));
      },
      onSessionEnded: async (record, reason) => {
        const results = await Promise.allSettled([...this.providers].map(([name, p]) => p.onSessionEnded?.(record, reason, name, vault)));
        if (results.some((r) => r.status === 'rejected')) throw new VaultError(VaultErrorCode.CredentialUnavailable, 'A provider could not end its keys.');
      },
    });
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
    return provider.acquire({ name, session: record, vault: this.vault, now: this.engine.now() });
  }

  /** Runs `fn` with the credential; the plaintext never leaves the callback. */
  async use<T>(session: RequestSession, name: string, fn: (key: Secret) => Promise<T> | T): Promise<T> {
    const record = session.storedRecord;
    if (!record) throw new SessionRequiredError();
    return fn(await this.acquire(record, name));
  }
}
