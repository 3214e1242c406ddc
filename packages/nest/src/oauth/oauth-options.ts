import type { JsonWebKey } from 'node:crypto';
import { isLoopbackHostname } from './loopback.js';
import { duration, isPlainObject, show, showType, unknownKeys } from '../util/option-checks.js';

/** How the app authenticates to the authorization server's token endpoint. */
export type OAuthClientAuth =
  /** A client secret, sent as HTTP Basic (`client_secret_basic`, the default) or in the body (`client_secret_post`). */
  | { secret: string; method?: 'basic' | 'post' }
  /** `private_key_jwt`: a private JWK (RSA, EC P-256/384/521 or Ed25519) with its `alg` (or RS256/ES256/EdDSA by key type) and `kid`. */
  | { privateKeyJwt: JsonWebKey & { kid?: string; alg?: string } };

/** Endpoints of an authorization server without discovery. */
export interface OAuthEndpoints {
  /** The server's issuer identifier (checked in ID tokens). @default the authorization endpoint's origin */
  issuer?: string;
  authorization: string;
  token: string;
  /** RFC 7009 revocation endpoint; without it tokens are not revoked, only forgotten. */
  revocation?: string;
  /** JWKS URI, needed only for OpenID Connect (the `openid` scope). */
  jwks?: string;
}

/** One account users can connect (an OAuth 2.0 / OpenID Connect authorization server). */
export interface OAuthConnectionOptions {
  /** Issuer URL, discovered through `/.well-known/openid-configuration` (or the OAuth metadata). Give this or `endpoints`. */
  issuer?: string;
  /** The endpoints, for a server without discovery (GitHub). Give this or `issuer`. */
  endpoints?: OAuthEndpoints;
  clientId: string;
  clientAuth: OAuthClientAuth;
  /** Scopes to ask for; with `openid`, the flow is OpenID Connect (a nonce, the ID token validated). */
  scopes: string[];
  /**
   * The redirect URI registered at the provider. Leave it out to use
   * `<transport.publicOrigin or the request's origin>/api/connect/<name>/callback`.
   * @example 'https://app.example.com/api/connect/github/callback'
   */
  redirectUri?: string;
  /** RFC 8707 resource indicator (the API the token is for), sent in every request. */
  resource?: string;
  /**
   * The authorization request's `prompt`: `'consent'` where the provider issues a refresh
   * token for `offline_access` only after explicit consent (OpenID Connect says so; e.g.
   * oidc-provider), `'login'` to make the user sign in again at the provider.
   * @default undefined (the provider decides)
   */
  prompt?: 'consent' | 'login' | 'select_account';
  /**
   * Who owns the tokens.
   * - `'session'`: the session that connected. The tokens are sealed in that session's
   *   vault entries, seen by no other session, and revoked at the provider (RFC 7009)
   *   whenever the session ends: logout, logout-all, a revoke, `maxPerUser`, ID reuse, idle
   *   or absolute expiry.
   * - `'user'`: the user. The tokens are sealed in the vault's user scope (the user's own
   *   data key, as keys the user brings), so every session of the user sees the connection
   *   (`GET /api/connections`, the proxy) and it survives the logout or expiry of one
   *   device. They are revoked at the provider on "log out everywhere" (logout-all) and on
   *   disconnect, and dropped when a refresh answers `invalid_grant`. A proxied call then
   *   reads the user's entries from the store: one store round trip more than `'session'`.
   * @example bind: 'user'
   * @default 'session'
   */
  bind?: 'session' | 'user';
  /** Refresh the access token this long before it expires. @default 60_000 */
  refreshSkewMs?: number;
  /**
   * Allow `http://` to a loopback issuer or endpoints (tests, a local provider). Never
   * other hosts; production refuses it.
   * @default false
   */
  allowHttpToLoopback?: boolean;
  /** Retries of a failed revocation (session end, disconnect). @default [1_000, 5_000, 30_000, 120_000] */
  revokeRetryDelaysMs?: number[];
}

/** The `oauth` section of the module options. */
export interface OAuthOptions {
  /** Accounts users can connect, by name; each name is also a credential a proxy service can name. */
  connections: Record<string, OAuthConnectionOptions>;
  /** A started connection must come back within this long. @default 600_000 (10 minutes) */
  transactionTtlMs?: number;
}

export interface ResolvedOAuthConnection {
  name: string;
  issuer: URL | undefined;
  endpoints: { issuer: string; authorization: URL; token: URL; revocation: URL | undefined; jwks: URL | undefined } | undefined;
  clientId: string;
  clientAuth: { kind: 'secret'; secret: string; method: 'basic' | 'post' } | { kind: 'private_key_jwt'; jwk: JsonWebKey & { kid?: string; alg?: string } };
  scopes: string[];
  openid: boolean;
  redirectUri: URL | undefined;
  resource: string | undefined;
  prompt: 'consent' | 'login' | 'select_account' | undefined;
  bind: 'session' | 'user';
  refreshSkewMs: number;
  insecure: boolean;
  revokeRetryDelaysMs: number[];
}

export interface ResolvedOAuthOptions {
  connections: ReadonlyMap<string, ResolvedOAuthConnection>;
  transactionTtlMs: number;
}

const CONNECTION_KEYS = ['issuer', 'endpoints', 'clientId', 'clientAuth', 'scopes', 'redirectUri', 'resource', 'prompt', 'bind', 'refreshSkewMs', 'allowHttpToLoopback', 'revokeRetryDelaysMs'] as const;
const ENDPOINT_KEYS = ['issuer', 'authorization', 'token', 'revocation', 'jwks'] as const;
const CONNECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const CLIENT_ID = /^[\x21-\x7e]{1,256}$/;
const HINTS: Record<string, string> = {
  clientsecret: 'The secret goes in `clientAuth: { secret }`.',
  client_secret: 'The secret goes in `clientAuth: { secret }`.',
  client_id: 'Did you mean `clientId`?',
  scope: 'Did you mean `scopes` (a list)?',
  redirect_uri: 'Did you mean `redirectUri`?',
  callbackurl: 'Did you mean `redirectUri`?',
  callbackpath: 'Give the whole `redirectUri`, or leave it out for /api/connect/<name>/callback.',
};

/**
 * Validates `oauth`: every problem reported (path, bad value, fix), never a client secret
 * or a private key. `production` refuses plain HTTP to the provider.
 */
export function resolveOAuthOptions(raw: unknown, production: boolean, problems: string[]): ResolvedOAuthOptions {
  const connections = new Map<string, ResolvedOAuthConnection>();
  const empty = { connections, transactionTtlMs: 600_000 };
  if (raw === undefined) return empty;
  if (!isPlainObject(raw) || !isPlainObject(raw.connections)) {
    problems.push(`oauth: expected { connections: { <name>: { issuer, clientId, clientAuth, scopes } } }, got ${showType(raw)}.`);
    return empty;
  }
  unknownKeys(raw, ['connections', 'transactionTtlMs'], 'oauth.', problems);
  const ttl = raw.transactionTtlMs === undefined ? 600_000 : duration(raw.transactionTtlMs, 'oauth.transactionTtlMs', problems, 10_000, 3_600_000);
  for (const [name, c] of Object.entries(raw.connections)) {
    const at = `oauth.connections.${name}`;
    if (!CONNECTION_NAME.test(name)) problems.push(`${at}: connection names are lower-case letters, digits, _ and - (they appear in URLs and are credential names).`);
    if (!isPlainObject(c)) {
      problems.push(`${at}: expected an object with issuer (or endpoints), clientId, clientAuth and scopes, got ${showType(c)}.`);
      continue;
    }
    const resolved = resolveConnection(name, c, at, production, problems);
    if (resolved && CONNECTION_NAME.test(name)) connections.set(name, resolved);
  }
  return { connections, transactionTtlMs: ttl ?? 600_000 };
}

/** One connection's options, validated (problems pushed with `at` as their path); undefined when any was found. */
export function resolveConnection(name: string, c: Record<string, unknown>, at: string, production: boolean, problems: string[]): ResolvedOAuthConnection | undefined {
  const before = problems.length;
  unknownKeys(c, CONNECTION_KEYS, `${at}.`, problems, HINTS);
  const loopbackOk = c.allowHttpToLoopback === true;
  if (c.allowHttpToLoopback !== undefined && typeof c.allowHttpToLoopback !== 'boolean') problems.push(`${at}.allowHttpToLoopback: expected a boolean, got ${show(c.allowHttpToLoopback)}.`);
  if (loopbackOk && production) problems.push(`${at}.allowHttpToLoopback: not allowed in production; the provider must be reached over https://.`);
  const url = (v: unknown, path: string, example: string): URL | undefined => {
    let u: URL;
    try {
      u = new URL(String(v));
    } catch {
      problems.push(`${path}: expected an absolute URL such as '${example}', got ${show(v)}.`);
      return undefined;
    }
    if (u.username || u.password) problems.push(`${path}: must not contain credentials; put the client secret in clientAuth.`);
    else if (u.hash) problems.push(`${path}: must not contain a fragment.`);
    else if (u.protocol === 'http:' && !(loopbackOk && !production && isLoopbackHostname(u.hostname))) {
      problems.push(`${path}: ${show(u.href)} uses plain http: tokens would cross the network in clear text. Use https://${production ? '' : ', or set allowHttpToLoopback for a provider on loopback (development and tests)'}.`);
    } else if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`${path}: only https:// is supported, got ${show(u.protocol)}.`);
    else return u;
    return undefined;
  };
  let issuer: URL | undefined;
  let endpoints: ResolvedOAuthConnection['endpoints'];
  if ((c.issuer === undefined) === (c.endpoints === undefined)) {
    problems.push(`${at}: give exactly one of \`issuer\` (discovered) or \`endpoints\` ({ authorization, token, revocation? }), got ${c.issuer === undefined ? 'neither' : 'both'}.`);
  } else if (c.issuer !== undefined) {
    issuer = url(c.issuer, `${at}.issuer`, 'https://accounts.example.com');
  } else if (!isPlainObject(c.endpoints)) {
    problems.push(`${at}.endpoints: expected { authorization, token, revocation? }, got ${show(c.endpoints)}.`);
  } else {
    const e = c.endpoints;
    unknownKeys(e, ENDPOINT_KEYS, `${at}.endpoints.`, problems);
    const authorization = url(e.authorization, `${at}.endpoints.authorization`, 'https://provider.example.com/authorize');
    const token = url(e.token, `${at}.endpoints.token`, 'https://provider.example.com/token');
    const revocation = e.revocation === undefined ? undefined : url(e.revocation, `${at}.endpoints.revocation`, 'https://provider.example.com/revoke');
    const jwks = e.jwks === undefined ? undefined : url(e.jwks, `${at}.endpoints.jwks`, 'https://provider.example.com/jwks');
    let iss = authorization?.origin ?? '';
    if (e.issuer !== undefined) {
      if (typeof e.issuer !== 'string' || e.issuer.length === 0) problems.push(`${at}.endpoints.issuer: expected the issuer identifier as a string, got ${show(e.issuer)}.`);
      else iss = e.issuer;
    }
    if (authorization && token) endpoints = { issuer: iss, authorization, token, revocation, jwks };
  }
  const clientId = typeof c.clientId === 'string' && CLIENT_ID.test(c.clientId) ? c.clientId : undefined;
  if (!clientId) problems.push(`${at}.clientId: expected the client ID the provider registered (1-256 visible characters), got ${show(c.clientId)}.`);
  const clientAuth = resolveClientAuth(c.clientAuth, `${at}.clientAuth`, problems);
  const scopes: string[] = [];
  if (!Array.isArray(c.scopes) || c.scopes.length === 0) problems.push(`${at}.scopes: expected a non-empty list of scopes such as ['openid', 'profile'], got ${show(c.scopes)}.`);
  else {
    for (const s of c.scopes) {
      if (typeof s !== 'string' || !SCOPE.test(s)) problems.push(`${at}.scopes: ${show(s)} is not a scope (visible characters, no spaces, quotes or backslashes; one scope per item).`);
      else if (!scopes.includes(s)) scopes.push(s);
    }
  }
  const openid = scopes.includes('openid');
  if (openid && endpoints && !endpoints.jwks) problems.push(`${at}.endpoints.jwks: required with the 'openid' scope (the ID token is validated against it); or use \`issuer\` for discovery.`);
  const redirectUri = c.redirectUri === undefined ? undefined : url(c.redirectUri, `${at}.redirectUri`, `https://app.example.com/api/connect/${name}/callback`);
  if (redirectUri && redirectUri.search) problems.push(`${at}.redirectUri: must not contain a query.`);
  let resource: string | undefined;
  if (c.resource !== undefined) {
    const r = url(c.resource, `${at}.resource`, 'https://api.example.com/');
    if (r) resource = r.href;
  }
  const prompts = ['consent', 'login', 'select_account'] as const;
  const prompt = prompts.find((p) => p === c.prompt);
  if (c.prompt !== undefined && prompt === undefined) problems.push(`${at}.prompt: expected one of ${prompts.map((p) => `'${p}'`).join(', ')}, got ${show(c.prompt)} ('none' is silent authentication, which a connection never asks for).`);
  if (c.bind !== undefined && c.bind !== 'session' && c.bind !== 'user') {
    problems.push(`${at}.bind: expected 'session' (the tokens end with the session that connected, the default) or 'user' (kept for the user's every session, revoked on logout-all and disconnect), got ${show(c.bind)}.`);
  }
  const skew = c.refreshSkewMs === undefined ? 60_000 : duration(c.refreshSkewMs, `${at}.refreshSkewMs`, problems, 0, 3_600_000);
  let delays = [1_000, 5_000, 30_000, 120_000];
  if (c.revokeRetryDelaysMs !== undefined) {
    if (!Array.isArray(c.revokeRetryDelaysMs) || c.revokeRetryDelaysMs.length > 10) problems.push(`${at}.revokeRetryDelaysMs: expected a list of at most 10 delays in milliseconds, got ${show(c.revokeRetryDelaysMs)}.`);
    else delays = c.revokeRetryDelaysMs.map((d, i) => duration(d, `${at}.revokeRetryDelaysMs[${i}]`, problems, 1, 86_400_000) ?? 1);
  }
  if (problems.length > before || !clientId || !clientAuth || skew === undefined || (!issuer && !endpoints)) return undefined;
  return { name, issuer, endpoints, clientId, clientAuth, scopes, openid, redirectUri, resource, prompt, bind: c.bind === 'user' ? 'user' : 'session', refreshSkewMs: skew, insecure: loopbackOk, revokeRetryDelaysMs: delays };
}

const JWK_ALGS: Record<string, string> = { RSA: 'RS256', EC: 'ES256', OKP: 'EdDSA' };

function resolveClientAuth(raw: unknown, at: string, problems: string[]): ResolvedOAuthConnection['clientAuth'] | undefined {
  // Never shown: a secret or a private key may be sitting here.
  if (!isPlainObject(raw)) {
    problems.push(`${at}: expected { secret } or { privateKeyJwt: <private JWK> }, got ${showType(raw)}.`);
    return undefined;
  }
  const has = (k: string): boolean => raw[k] !== undefined;
  if (has('secret') === has('privateKeyJwt')) {
    problems.push(`${at}: give exactly one of \`secret\` (client_secret_basic/post) or \`privateKeyJwt\` (a private JWK), got ${has('secret') ? 'both' : 'neither'}.`);
    return undefined;
  }
  if (has('secret')) {
    unknownKeys(raw, ['secret', 'method'], `${at}.`, problems);
    if (typeof raw.secret !== 'string' || raw.secret.length < 8) {
      problems.push(`${at}.secret: expected the client secret as a string of at least 8 characters, got ${showType(raw.secret)}${typeof raw.secret === 'string' && raw.secret.length > 0 ? ' of fewer than 8 characters' : ''}. Read it from the environment, e.g. process.env.GITHUB_CLIENT_SECRET.`);
      return undefined;
    }
    if (raw.method !== undefined && raw.method !== 'basic' && raw.method !== 'post') {
      problems.push(`${at}.method: expected 'basic' (client_secret_basic, the default) or 'post' (client_secret_post), got ${show(raw.method)}.`);
      return undefined;
    }
    return { kind: 'secret', secret: raw.secret, method: raw.method === 'post' ? 'post' : 'basic' };
  }
  unknownKeys(raw, ['privateKeyJwt'], `${at}.`, problems);
  const jwk = raw.privateKeyJwt;
  if (!isPlainObject(jwk) || typeof jwk.kty !== 'string' || !(jwk.kty in JWK_ALGS)) {
    problems.push(`${at}.privateKeyJwt: expected a private JWK object (kty RSA, EC or OKP), got ${showType(jwk)}.`);
    return undefined;
  }
  if (typeof jwk.d !== 'string') {
    problems.push(`${at}.privateKeyJwt: the JWK has no private part ("d"); give the private key (its public half is what the provider registers).`);
    return undefined;
  }
  if (jwk.alg !== undefined && (typeof jwk.alg !== 'string' || !/^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(jwk.alg))) {
    problems.push(`${at}.privateKeyJwt.alg: expected RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA, got ${show(jwk.alg)}.`);
    return undefined;
  }
  return { kind: 'private_key_jwt', jwk: { ...(jwk as JsonWebKey), alg: (jwk.alg as string | undefined) ?? JWK_ALGS[jwk.kty]! } };
}
