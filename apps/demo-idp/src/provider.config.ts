import { randomBytes } from 'node:crypto';
import { type ClientMetadata, type Configuration, type KoaContextWithOIDC, errors } from 'oidc-provider';
import type { DemoUsers } from './demo-users.js';
import type { MemoryStore } from './memory.adapter.js';
import { errorPage, loggedOutPage, logoutPage, PAGE_HEADERS } from './pages.js';
import type { IdpClient, PublicJwk } from './types.js';

/** The scope of the demo upstream's access tokens (a resource scope of its audience). */
export const UPSTREAM_SCOPE = 'demo.api';
/** Scopes the clients may ask for besides the upstream's. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;
/** Algorithm of the JWT access tokens for the demo upstream. */
export const ACCESS_TOKEN_ALG = 'ES256';

/** What {@link providerConfiguration} needs. */
export interface ProviderConfigInput {
  readonly clients: readonly IdpClient[];
  readonly users: DemoUsers;
  readonly store: MemoryStore;
  readonly signingKeys: readonly PublicJwk[];
  readonly upstreamAudience: string;
  readonly upstreamClients: ReadonlySet<string>;
  readonly accessTokenTtlS: number;
  readonly refreshTokenTtlS: number;
}

/** A client's registration metadata, as oidc-provider reads it. */
export function clientMetadata(client: IdpClient): ClientMetadata {
  const method = client.authMethod ?? 'client_secret_basic';
  return {
    client_id: client.clientId,
    ...(method !== 'private_key_jwt' && { client_secret: client.clientSecret }),
    ...(client.jwks !== undefined && { jwks: { keys: client.jwks.keys.map((k) => ({ ...k })) } }),
    client_name: client.name ?? client.clientId,
    token_endpoint_auth_method: method,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...(client.postLogoutRedirectUris ?? [])],
    ...(client.backchannelLogoutUri !== undefined && {
      backchannel_logout_uri: client.backchannelLogoutUri,
      backchannel_logout_session_required: true,
    }),
  };
}

/**
 * Back-channel logout calls go to registered loopback URIs, which oidc-provider's outgoing
 * request guard (it refuses special-use addresses such as 127.0.0.1) would drop. Exactly
 * the registered `backchannel_logout_uri` values skip that guard; everything else keeps it.
 */
function loopbackBackchannelFetch(clients: readonly IdpClient[]): NonNullable<Configuration['fetch']> {
  const allowed = new Set(clients.flatMap((c) => (c.backchannelLogoutUri === undefined ? [] : [new URL(c.backchannelLogoutUri).href])));
  return (input, init) => {
    const href = input instanceof Request ? input.url : new URL(input).href;
    if (allowed.has(href) && init !== undefined) {
      const { dispatcher: _guarded, ...rest } = init as RequestInit & { dispatcher?: unknown };
      return fetch(input, rest);
    }
    return fetch(input, init);
  };
}

/**
 * The oidc-provider configuration of the demo identity provider: static clients, the demo
 * users, its own interactions (`/interaction/:uid`), PKCE S256 required, refresh tokens
 * rotated on every use, revocation, RP-initiated and back-channel logout, and JWT access
 * tokens (ES256) for the demo upstream's audience through resource indicators.
 */
export function providerConfiguration(input: ProviderConfigInput): Configuration {
  const { upstreamAudience } = input;
  return {
    adapter: input.store.factory,
    clients: input.clients.map(clientMetadata),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    responseTypes: ['code'],
    jwks: { keys: input.signingKeys.map((k) => ({ ...k })) },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: [...OIDC_SCOPES],
    claims: {
      acr: null,
      auth_time: null,
      sid: null,
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    // The app reads name and email from the ID token; no userinfo call needed.
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      const account = input.users.account(sub);
      if (account === undefined) return undefined;
      return { accountId: account.sub, claims: () => ({ ...account, email_verified: true }) };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? input.accessTokenTtlS,
      AuthorizationCode: 60,
      ClientCredentials: input.accessTokenTtlS,
      IdToken: 3600,
      RefreshToken: input.refreshTokenTtlS,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: Math.max(input.refreshTokenTtlS, 24 * 3600),
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: KoaContextWithOIDC, form: string) {
          ctx.set(PAGE_HEADERS);
          ctx.body = logoutPage(form, ctx.oidc.client?.clientName ?? undefined);
        },
        async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
          ctx.set(PAGE_HEADERS);
          ctx.body = loggedOutPage();
        },
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(_ctx, client, oneOf) {
          if (oneOf !== undefined) return oneOf;
          return input.upstreamClients.has(client.clientId) ? upstreamAudience : undefined!;
        },
        // The token endpoint uses what was granted when the client names no resource there.
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resourceIndicator) {
          if (resourceIndicator !== upstreamAudience) throw new errors.InvalidTarget();
          return {
            scope: UPSTREAM_SCOPE,
            audience: upstreamAudience,
            accessTokenTTL: input.accessTokenTtlS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: ACCESS_TOKEN_ALG } },
          };
        },
      },
    },
    async renderError(ctx, out) {
      ctx.set(PAGE_HEADERS);
      ctx.body = errorPage(String(out.error), out.error_description === undefined ? undefined : String(out.error_description));
    },
    fetch: loopbackBackchannelFetch(input.clients),
  };
}
