import { OpenIdConnectionClient } from '../oauth/openid-client.adapter.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import { OAuthTokenProvider } from '../vault/providers/oauth-token.provider.js';
import type { ResolvedOidcOptions } from './oidc-options.js';

/** The run-time side of the `oidc` options: its openid-client protocol client and its token custody (the `oidc` credential). */
export interface OidcRuntime {
  client: OpenIdConnectionClient;
  provider: OAuthTokenProvider;
}

/**
 * Builds the sign-in's client (ID token signatures checked against the provider's JWKS, on
 * top of openid-client's claim checks) and the provider that keeps its tokens like a
 * connection's. Nothing is fetched here: the provider is discovered at the first sign-in.
 */
export function buildOidcRuntime(o: ResolvedOidcOptions, store: SessionStore): OidcRuntime {
  const client = new OpenIdConnectionClient(o.connection, { verifyIdTokenSignature: true });
  const provider = new OAuthTokenProvider({ client, store, refreshSkewMs: o.connection.refreshSkewMs, revokeRetryDelaysMs: o.connection.revokeRetryDelaysMs });
  return { client, provider };
}
