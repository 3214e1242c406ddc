/**
 * `@keyward/demo-idp`: the demo identity provider (panva's oidc-provider on loopback) used
 * by the demo app and by tests: the demo users, a sign-in form, refresh-token rotation,
 * revocation, RP-initiated and back-channel logout, and JWT access tokens for the demo
 * upstream's audience.
 *
 * @packageDocumentation
 */
export { startIdp, DEFAULT_REFRESH_TOKEN_TTL_S } from './idp.server.js';
export {
  loadIdpConfig,
  ConfigError,
  DEFAULT_ACCESS_TOKEN_TTL_S,
  DEFAULT_CONNECT_CLIENT_ID,
  DEFAULT_SIGNIN_CLIENT_ID,
  DEFAULT_UPSTREAM_AUDIENCE,
} from './config.js';
export type { IdpConfig } from './config.js';
export { ACCESS_TOKEN_ALG, UPSTREAM_SCOPE } from './provider.config.js';
export { WRONG_CREDENTIALS } from './routes/interaction.routes.js';
export { generateSigningKeys } from './signing-keys.js';
export type { ClientAuthMethod, IdpClient, IdpHandle, IdpOptions, PublicJwk, RevocationRecord } from './types.js';
