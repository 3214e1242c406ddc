/**
 * `@keyward/demo-upstream`: a stand-in third-party API that takes API keys, used by the
 * demo app and by the proxy tests.
 *
 * @packageDocumentation
 */
export { startUpstream, DEFAULT_MINTED_KEY_TTL_MS, KEEP_ALIVE_TIMEOUT_MS } from './upstream.server.js';
export { MAX_BODY_BYTES } from './http-io.js';
export { MAX_BIG_BYTES, MAX_SLOW_MS, DEFAULT_REDIRECT_TARGET } from './routes/v1.routes.js';
export { loadUpstreamConfig, ConfigError, DEFAULT_UPSTREAM_AUDIENCE } from './config.js';
export { AccessTokenVerifier, DEFAULT_ACCESS_TOKEN_ALGORITHMS } from './access-tokens.js';
export type { AccessTokenSettings, TokenPrincipal } from './access-tokens.js';
export type { UpstreamConfig } from './config.js';
export type {
  AdminStats,
  KeyListing,
  KeyStatus,
  LastRequest,
  MintOptions,
  MintedKey,
  ServerKeyInput,
  UpstreamHandle,
  UpstreamOptions,
  UpstreamStats,
} from './types.js';
