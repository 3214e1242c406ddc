import type { SessionStore } from '../stores/session-store.interface.js';
import { OAuthTokenProvider } from '../vault/providers/oauth-token.provider.js';
import type { Connection } from './connection.service.js';
import type { ResolvedOAuthOptions } from './oauth-options.js';
import { OpenIdConnectionClient } from './openid-client.adapter.js';

/**
 * The run-time side of each validated connection: its openid-client protocol client and
 * its token custody (a credential provider the proxy can name). Nothing is fetched here:
 * the provider's metadata is discovered at the first use.
 */
export function buildConnections(o: ResolvedOAuthOptions, store: SessionStore): Map<string, Connection> {
  const out = new Map<string, Connection>();
  for (const [name, options] of o.connections) {
    const client = new OpenIdConnectionClient(options);
    const provider = new OAuthTokenProvider({ client, store, bind: options.bind, refreshSkewMs: options.refreshSkewMs, revokeRetryDelaysMs: options.revokeRetryDelaysMs });
    out.set(name, { options, client, provider });
  }
  return out;
}
