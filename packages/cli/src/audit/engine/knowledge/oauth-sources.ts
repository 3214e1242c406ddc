/*
 * Knowledge as data: where a provider's tokens come from. The engine reads these tables; a new
 * OAuth library, token endpoint or issuing call is one entry here, not an edit of the engine.
 */

/** Fields of a token response that are not tokens. */
export const NON_TOKEN_FIELDS = /^(?:expires_in|expiresIn|expires_at|expiresAt|scope|token_type|tokenType|error|error_description|status|statusCode|ok|headers|message|user|profile|id|login|email|name)$/;
/** URLs of token endpoints. */
export const TOKEN_ENDPOINT = /^https?:\/\/[^\s]*(?:\/oauth2?\/(?:access_)?token|\/login\/oauth\/access_token|oauth2\.googleapis\.com\/token|\/api\/token\b|\/oauth\/token|\/token\b)/i;
/** Calls whose result is a token set from the provider (in a file that runs an OAuth flow). */
export const TOKEN_EXCHANGE_CALL = /^(?:getTokens?|getAccessToken|authorizationCodeGrant|exchange\w*|get\w*Token(?:s|Data|Set|Response)|request\w*Token\w*|fetch\w*Token\w*|refreshAccessToken)$/;
/** Calls that issue the app's own token. */
export const OWN_TOKEN_ISSUER = /^(?:sign|signAsync|encode|generate\w*|create\w*|issue\w*|mint\w*|make\w*|login|signIn|signin|prepare\w*|refreshTokens?)$/;
/** passport strategies and libraries that run an OAuth flow. */
export const OAUTH_MODULE = /^(?:passport-(?!jwt|local|custom|http|anonymous|headerapikey|cookie)[a-z0-9-]+|google-auth-library|googleapis|simple-oauth2|openid-client|oauth4webapi|@octokit\/oauth-app|spotify-web-api-node|discord-oauth2|client-oauth2|arctic|grant)$/;
/** Names of OAuth providers (in strategy class names and `AuthGuard('google')`). */
export const OAUTH_PROVIDER = /google|github|gitlab|discord|facebook|twitter|oauth|spotify|microsoft|linkedin|apple|slack|twitch|azure|auth0|okta|keycloak|openid|kakao|naver/i;
