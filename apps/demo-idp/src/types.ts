/**
 * Public types of the demo identity provider: its start options, its clients and the
 * handle returned by {@link startIdp}.
 *
 * @packageDocumentation
 */

/** How a client authenticates at the token and revocation endpoints. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** A public JSON Web Key as registered for `private_key_jwt`. */
export type PublicJwk = Readonly<Record<string, unknown>>;

/** One statically registered client (a relying party of the demo provider). */
export interface IdpClient {
  readonly clientId: string;
  /** Required for the `client_secret_*` methods; unused with `private_key_jwt`. */
  readonly clientSecret?: string | undefined;
  /** @default 'client_secret_basic' */
  readonly authMethod?: ClientAuthMethod | undefined;
  /** The client's public keys; required with `private_key_jwt`. */
  readonly jwks?: { readonly keys: readonly PublicJwk[] } | undefined;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[] | undefined;
  /** Where back-channel logout tokens are POSTed (with `backchannel_logout_session_required`). */
  readonly backchannelLogoutUri?: string | undefined;
  /** Shown on the sign-in page. */
  readonly name?: string | undefined;
}

/** Options for {@link startIdp}. */
export interface IdpOptions {
  /** Port to listen on; `0` (the default) picks a free port. The issuer follows it. */
  readonly port?: number | undefined;
  /** A loopback address; defaults to `127.0.0.1`. */
  readonly host?: string | undefined;
  /** name -> password. */
  readonly users: ReadonlyMap<string, string>;
  /** Bearer token guarding `/admin/*` (`DEMO_UPSTREAM_ADMIN_TOKEN`). */
  readonly adminToken: string;
  readonly clients: readonly IdpClient[];
  /**
   * The demo upstream's audience: the resource indicator for which JWT access tokens are
   * issued.
   * @default DEFAULT_UPSTREAM_AUDIENCE ('urn:keyward:demo-upstream')
   */
  readonly upstreamAudience?: string | undefined;
  /** Client ids that get the upstream's access tokens when they name no `resource` (others must name it). @default none */
  readonly upstreamClients?: readonly string[] | undefined;
  /** Access-token lifetime in seconds. @default 300 */
  readonly accessTokenTtlS?: number | undefined;
  /** Refresh-token lifetime in seconds. @default 86400 */
  readonly refreshTokenTtlS?: number | undefined;
  /** Private signing keys (JWK, RS256 and/or ES256); generated at start when omitted. */
  readonly signingKeys?: readonly PublicJwk[] | undefined;
  /** Where log lines go (one JSON object per call, never a token, cookie or password). @default console.log */
  readonly log?: ((line: Record<string, unknown>) => void) | undefined;
}

/** One revocation recorded for tests: what kind of token, whose, when (never its value). */
export interface RevocationRecord {
  readonly tokenType: 'AccessToken' | 'RefreshToken' | 'ClientCredentials';
  readonly clientId: string;
  readonly accountId: string | null;
  readonly at: string;
}

/** A running demo identity provider. */
export interface IdpHandle {
  /** The issuer, e.g. `http://127.0.0.1:4100` (no trailing slash). */
  readonly issuer: string;
  readonly port: number;
  readonly host: string;
  /** The audience of the upstream's access tokens. */
  readonly upstreamAudience: string;
  /** Stops listening and closes every connection. Idempotent. */
  close(): Promise<void>;
  /** Revocations so far (what `GET /admin/revocations` answers). */
  revocations(): readonly RevocationRecord[];
  /** Live grants of a user, optionally of one client (what `GET /admin/grants/:username` counts). */
  activeGrants(username: string, clientId?: string): number;
  /** Ends a user's provider sessions with back-channel logout (what `POST /admin/logout/:username` does). */
  logoutUser(username: string): Promise<{ sessions: number; backchannel: number }>;
}
