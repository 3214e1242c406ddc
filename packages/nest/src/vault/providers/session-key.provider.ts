import type { CredentialProvider, CredentialRequest } from '../credential-provider.interface.js';
import { VaultError, VaultErrorCode } from '../../keyward.errors.js';
import type { Secret } from '../secret.js';

/** Options of {@link SessionKeyProvider}. */
export interface SessionKeyOptions {
  /**
   * The name the app stored the key under with `vault.putSession(session, entry, key)`.
   * @default the credential's own name
   */
  entry?: string;
}

/**
 * A key the application put into the session itself, with `vault.putSession()`: for
 * example an OAuth access token obtained at login, or the per-user key an
 * express-session app used to keep in `req.session`. It lives exactly as long as the
 * session (logout, expiry and revocation delete it with the session) and the proxy
 * attaches it like any other credential.
 *
 * @example
 * // at login
 * await vault.putSession(session.storedRecord!, 'partner', tokens.accessToken);
 * // in the module options
 * credentials: { partner: new SessionKeyProvider() },
 * proxy: { services: { partner: { baseUrl: 'https://api.partner.example/', credential: 'partner' } } },
 */
export class SessionKeyProvider implements CredentialProvider {
  readonly kind = 'session-key';
  private readonly entry: string | undefined;

  constructor(options: SessionKeyOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('SessionKeyProvider: options must be an object, e.g. { entry: "partner" }.');
    const unknown = Object.keys(options).filter((k) => k !== 'entry');
    if (unknown.length > 0) throw new TypeError(`SessionKeyProvider: unknown option ${unknown.map((k) => `"${k}"`).join(', ')}; the only option is "entry".`);
    if (options.entry !== undefined && (typeof options.entry !== 'string' || options.entry.length === 0)) {
      throw new TypeError('SessionKeyProvider: "entry" must be the non-empty name the key was stored under with vault.putSession().');
    }
    this.entry = options.entry;
  }

  async acquire({ name, session, vault }: CredentialRequest): Promise<Secret> {
    const key = await vault.openSession(session, this.entry ?? name);
    if (!key) throw new VaultError(VaultErrorCode.CredentialMissing, `This session holds no key for "${name}"; the app stores one with vault.putSession() (for example at login).`);
    return key;
  }
}
