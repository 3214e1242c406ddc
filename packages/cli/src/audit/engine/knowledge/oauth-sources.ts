/*
 * Knowledge as data: where a provider's tokens come from. The engine reads these tables; a new
 * OAuth library, token endpoint or issuing call is one entry here, not an edit of the engine.
 */

/** An OAuth/OIDC client library: the calls whose result is the provider's token set. */
export interface OAuthLibrary {
  /** Package names (the app imports one of them somewhere). */
  packages: readonly string[];
  /** Method or function names whose (awaited) result holds the provider's tokens. */
  calls: readonly string[];
  /** Shown in findings: where the value came from. */
  label: string;
}

/** OAuth and OIDC client libraries, by package. */
export const OAUTH_LIBRARIES: readonly OAuthLibrary[] = [
  { packages: ['google-auth-library', 'googleapis'], calls: ['getToken', 'refreshAccessToken', 'refreshToken', 'getAccessToken', 'getRequestHeaders'], label: 'google-auth-library' },
  { packages: ['openid-client'], calls: ['callback', 'oauthCallback', 'refresh', 'grant', 'authorizationCodeGrant', 'refreshTokenGrant', 'clientCredentialsGrant', 'genericGrantRequest', 'pollDeviceAuthorizationGrant', 'deviceAuthorizationGrant'], label: 'openid-client' },
  {
    packages: ['oauth4webapi'],
    calls: ['processAuthorizationCodeResponse', 'processAuthorizationCodeOpenIDResponse', 'processAuthorizationCodeOAuth2Response', 'processRefreshTokenResponse', 'processClientCredentialsResponse', 'processDeviceCodeResponse', 'processGenericTokenEndpointResponse', 'authorizationCodeGrantRequest', 'refreshTokenGrantRequest', 'clientCredentialsGrantRequest'],
    label: 'oauth4webapi',
  },
  { packages: ['simple-oauth2'], calls: ['getToken', 'refresh', 'createToken'], label: 'simple-oauth2' },
  { packages: ['@fastify/oauth2', 'fastify-oauth2'], calls: ['getAccessTokenFromAuthorizationCodeFlow', 'getNewAccessTokenUsingRefreshToken'], label: '@fastify/oauth2' },
  {
    packages: ['octokit', '@octokit/oauth-app', '@octokit/oauth-methods', '@octokit/auth-oauth-app', '@octokit/auth-oauth-user', '@octokit/auth-oauth-device'],
    calls: ['exchangeWebFlowCode', 'exchangeDeviceCode', 'createToken', 'refreshToken', 'resetToken', 'scopeToken'],
    label: 'Octokit',
  },
  { packages: ['arctic'], calls: ['validateAuthorizationCode', 'refreshAccessToken'], label: 'arctic' },
  { packages: ['client-oauth2'], calls: ['getToken', 'refresh'], label: 'client-oauth2' },
  { packages: ['spotify-web-api-node'], calls: ['authorizationCodeGrant', 'refreshAccessToken', 'clientCredentialsGrant'], label: 'spotify-web-api-node' },
  { packages: ['discord-oauth2'], calls: ['tokenRequest'], label: 'discord-oauth2' },
  { packages: ['@badgateway/oauth2-client'], calls: ['getToken', 'refresh', 'clientCredentials', 'password'], label: '@badgateway/oauth2-client' },
  { packages: ['keycloak-connect'], calls: ['obtainDirectly', 'obtainFromCode', 'refreshGrant'], label: 'keycloak-connect' },
];

/**
 * Session paths where a library leaves the provider's token response: grant puts it in
 * `session.grant.response` (Express and Koa alike).
 */
export const SESSION_TOKEN_PATHS: readonly { path: readonly string[]; label: string }[] = [{ path: ['grant', 'response'], label: 'grant' }];

/** passport strategy packages that are not OAuth (their verify callback receives no provider token). */
export const NON_OAUTH_PASSPORT = /^passport-(?:jwt|local|custom|http|http-bearer|unique-token|api-key|localapikey|bearer-strategy|anonymous|headerapikey|cookie|saml|ldapauth|magic-login|totp|2fa-totp|remember-me)$/;
/** passport strategies whose verify callback receives the client's bearer credential (`verify(token, done)`). */
export const BEARER_PASSPORT = /^passport-(?:http-bearer|unique-token|headerapikey|api-key|localapikey|bearer-strategy)$/;
/** A passport strategy package. */
export const PASSPORT_STRATEGY_PACKAGE = /^(?:passport-[a-z0-9-]+|@[a-z0-9-]+\/passport-[a-z0-9-]+)$/;
/** Names of OAuth providers (in strategy class names and `AuthGuard('google')`). */
export const OAUTH_PROVIDER = /google|github|gitlab|discord|facebook|twitter|oauth|spotify|microsoft|linkedin|apple|slack|twitch|azure|auth0|okta|keycloak|openid|oidc|kakao|naver|line|bitbucket|dropbox|yandex|vkontakte|steam/i;

/** Fields of a token response that are not tokens. */
export const NON_TOKEN_FIELDS = /^(?:expires_in|expiresIn|expires_at|expiresAt|expiry_date|expiryDate|expiry|refresh_expires_in|refresh_token_expires_in|created_at|issued_at|scope|token_type|tokenType|error|error_description|status|statusCode|ok|headers|message|user|profile|id|login|email|name)$/;
/** URLs of token endpoints. */
export const TOKEN_ENDPOINT = /^https?:\/\/[^\s]*(?:\/oauth2?\/(?:access_)?token|\/login\/oauth\/access_token|oauth2\.googleapis\.com\/token|\/api\/token\b|\/oauth\/token|\/token\b)/i;
/** Env vars, config keys and variables that name a token endpoint (`TOKEN_URL`, `tokenEndpoint`, `OAUTH_TOKEN_URI`). */
export const TOKEN_ENDPOINT_NAME = /token_?(?:url|uri|endpoint|host|path)$|access_?token_?(?:url|uri)$/i;
/** The token fields of an OAuth 2.0 / OpenID Connect token response, as the specifications spell them. */
export const TOKEN_RESPONSE_FIELD = /^(?:access_token|refresh_token|id_token)$/;
/** HTTP client calls that can request a token endpoint. */
export const HTTP_REQUEST_CALL = /^(?:fetch|post|get|request|axios|default|got|ky|\$fetch|undici|put|send)$/;
/**
 * Calls named like a token exchange (`exchangeCode`, `getTokens`): their result counts as the
 * provider's tokens only in an app that runs an OAuth flow (a library or strategy above, or a
 * token-endpoint request), and only when the call cannot be followed into the app's own code.
 */
export const TOKEN_EXCHANGE_CALL = /^(?:getTokens?|getAccessToken|authorizationCodeGrant|exchange\w*|get\w*Token(?:s|Data|Set|Response)|request\w*Token\w*|fetch\w*Token\w*|refreshAccessToken)$/;
/** Calls that issue the app's own token. */
export const OWN_TOKEN_ISSUER = /^(?:sign|signAsync|encode|generate\w*|create\w*|issue\w*|mint\w*|make\w*|login|signIn|signin|prepare\w*|refreshTokens?)$/;
/** Of the issuers above, those whose result is a token by their name alone (not `createUser`). */
export const OWN_TOKEN_BY_NAME = /^(?:sign|signAsync|login|signIn|signin|refreshTokens?)$|token|jwt/i;
