import { resolveConnection, type OAuthClientAuth, type ResolvedOAuthConnection } from '../oauth/oauth-options.js';
import { duration, isPlainObject, show, showType, unknownKeys } from '../util/option-checks.js';

/** The credential name of the sign-in's tokens (a proxy service names it to attach the access token). */
export const OIDC_CREDENTIAL = 'oidc';

/**
 * The `oidc` section of the module options: sign in with an OpenID provider
 * (docs/oidc-sign-in.md). The session that results is an ordinary Keyward session.
 *
 * @example
 * oidc: {
 *   issuer: 'https://accounts.example.com',
 *   clientId: process.env.OIDC_CLIENT_ID!,
 *   clientAuth: { secret: process.env.OIDC_CLIENT_SECRET! },
 *   scopes: ['openid', 'profile', 'email'],
 * }
 */
export interface OidcOptions {
  /** Issuer URL, discovered through `/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** `{ secret, method? }` (client_secret_basic/post) or `{ privateKeyJwt: <private JWK> }`. */
  clientAuth: OAuthClientAuth;
  /** Scopes to ask for; `openid` is required. */
  scopes: string[];
  /**
   * The redirect URI registered at the provider.
   * @default `<transport.publicOrigin or the request's origin>/api/auth/oidc/callback`
   */
  redirectUri?: string;
  /**
   * ID token claims kept in `session.user` (besides `id`, `sub` and `sid`, always kept).
   * Only string, number and boolean values are kept; never a token.
   * @default ['name', 'email']
   */
  claims?: string[];
  /** Where the provider sends the browser after an RP-initiated logout (register it at the provider). */
  postLogoutRedirectUri?: string;
  /** Allow `http://` to a loopback provider (development, tests); production refuses it. @default false */
  allowHttpToLoopback?: boolean;
  /** A started sign-in must come back within this long. @default 600_000 (10 minutes) */
  transactionTtlMs?: number;
  /** A back-channel `logout_token` is accepted only if its `iat` is within this long of now. @default 300_000 */
  logoutTokenMaxAgeMs?: number;
  /** Retries of a failed revocation of the sign-in's tokens. @default [1_000, 5_000, 30_000, 120_000] */
  revokeRetryDelaysMs?: number[];
  /**
   * Allow silent re-authentication: `GET /api/auth/oidc/login?prompt=none` asks the provider
   * for a session without showing anything; when the provider has none, the browser comes
   * back to `returnTo` with `kw_oidc_error=login_required` (no session) instead of an error
   * page. Without it, `prompt=none` is ignored (an ordinary sign-in).
   * @default false
   */
  silentReauthentication?: boolean;
}

export interface ResolvedOidcOptions {
  connection: ResolvedOAuthConnection;
  claims: string[];
  postLogoutRedirectUri: URL | undefined;
  transactionTtlMs: number;
  logoutTokenMaxAgeMs: number;
  silentReauthentication: boolean;
}

const KEYS = ['issuer', 'clientId', 'clientAuth', 'scopes', 'redirectUri', 'claims', 'postLogoutRedirectUri', 'allowHttpToLoopback', 'transactionTtlMs', 'logoutTokenMaxAgeMs', 'revokeRetryDelaysMs', 'silentReauthentication'] as const;
const OWN = new Set<string>(['claims', 'postLogoutRedirectUri', 'transactionTtlMs', 'logoutTokenMaxAgeMs', 'silentReauthentication']);
const CLAIM = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Claims that are never copied into the session: tokens, protocol values, or what Keyward sets itself. */
const RESERVED = new Set(['id', 'sub', 'sid', 'iss', 'aud', 'azp', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'auth_time', 'jti', 'acr', 'amr', 'cnf']);

/**
 * Validates `oidc`: every problem reported (path, bad value, fix), never a secret or a key.
 * Undefined when absent or wrong (the problems say why).
 */
export function resolveOidcOptions(raw: unknown, production: boolean, problems: string[]): ResolvedOidcOptions | undefined {
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) {
    problems.push(`oidc: expected { issuer, clientId, clientAuth, scopes: ['openid', ...] }, got ${showType(raw)}.`);
    return undefined;
  }
  const before = problems.length;
  unknownKeys(raw, KEYS, 'oidc.', problems, { endpoints: 'Sign-in needs a discoverable issuer: give `issuer`.', scope: 'Did you mean `scopes` (a list)?' });
  if (raw.issuer === undefined) problems.push("oidc.issuer: required (the provider's issuer URL, discovered through /.well-known/openid-configuration).");
  const forConnection: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!OWN.has(k) && (KEYS as readonly string[]).includes(k)) forConnection[k] = v;
  if (Array.isArray(raw.scopes) && !raw.scopes.includes('openid')) problems.push(`oidc.scopes: must include 'openid' (sign-in is OpenID Connect), got ${show(raw.scopes)}.`);
  const connection = raw.issuer === undefined ? undefined : resolveConnection(OIDC_CREDENTIAL, forConnection, 'oidc', production, problems);
  const claims = ['name', 'email'];
  if (raw.claims !== undefined) {
    claims.length = 0;
    if (!Array.isArray(raw.claims) || raw.claims.length > 32) problems.push(`oidc.claims: expected a list of at most 32 claim names such as ['name', 'email'], got ${show(raw.claims)}.`);
    else {
      for (const c of raw.claims) {
        if (typeof c !== 'string' || !CLAIM.test(c)) problems.push(`oidc.claims: ${show(c)} is not a claim name (1-64 letters, digits, _ . : -).`);
        else if (RESERVED.has(c)) problems.push(`oidc.claims: ${show(c)} is a protocol claim (or one Keyward sets itself: id, sub, sid); leave it out.`);
        else if (!claims.includes(c)) claims.push(c);
      }
    }
  }
  let postLogout: URL | undefined;
  if (raw.postLogoutRedirectUri !== undefined) {
    try {
      postLogout = new URL(String(raw.postLogoutRedirectUri));
      if (postLogout.protocol !== 'https:' && postLogout.protocol !== 'http:') throw new TypeError('scheme');
      if (postLogout.protocol === 'http:' && production) problems.push(`oidc.postLogoutRedirectUri: ${show(postLogout.href)} uses plain http; use https:// in production.`);
    } catch {
      problems.push(`oidc.postLogoutRedirectUri: expected an absolute http(s) URL registered at the provider, such as 'https://app.example.com/', got ${show(raw.postLogoutRedirectUri)}.`);
    }
  }
  const ttl = raw.transactionTtlMs === undefined ? 600_000 : duration(raw.transactionTtlMs, 'oidc.transactionTtlMs', problems, 10_000, 3_600_000);
  const maxAge = raw.logoutTokenMaxAgeMs === undefined ? 300_000 : duration(raw.logoutTokenMaxAgeMs, 'oidc.logoutTokenMaxAgeMs', problems, 10_000, 3_600_000);
  if (raw.silentReauthentication !== undefined && typeof raw.silentReauthentication !== 'boolean') problems.push(`oidc.silentReauthentication: expected a boolean, got ${show(raw.silentReauthentication)}.`);
  if (problems.length > before || !connection || ttl === undefined || maxAge === undefined) return undefined;
  return { connection, claims, postLogoutRedirectUri: postLogout, transactionTtlMs: ttl, logoutTokenMaxAgeMs: maxAge, silentReauthentication: raw.silentReauthentication === true };
}
