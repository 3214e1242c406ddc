import type { CredentialProvider, CredentialRequest } from '../credential-provider.interface.js';
import { VaultError, VaultErrorCode } from '../../keyward.errors.js';
import type { Secret, checkUserKey } from '../secret.js';

/**
 * The user's own key (bring your own key), stored encrypted per user with
 * `vault.putUser()`: write-only, read back masked, usable by the proxy. `putUser` checks
 * the key before anything keeps it ({@link checkUserKey}: 16-1024 characters of
 * `A-Za-z0-9-_.+/=~`, random like a provider's key; `400 KW_INVALID_ARGUMENT` otherwise) and only a stored key
 * is scrubbed from logs, until it is replaced or deleted. Put `@KeyBodyLimit()` on the
 * routes that accept keys.
 *
 * @example
 * credentials: { 'demo-byok': new UserKeyProvider() }
 */
export class UserKeyProvider implements CredentialProvider {
  readonly kind = 'user-key';

  async acquire({ name, session, vault }: CredentialRequest): Promise<Secret> {
    const key = await vault.openUser(session.userId, name);
    if (!key) throw new VaultError(VaultErrorCode.CredentialMissing, `No key stored for "${name}". Add one with PUT /api/keys/${name}.`);
    return key;
  }
}
