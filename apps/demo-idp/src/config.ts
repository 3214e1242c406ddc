import { randomBytes } from 'node:crypto';
import { DEFAULT_DEMO_USERS, parseDemoUsers } from './demo-users.js';
import type { ClientAuthMethod, IdpClient, PublicJwk } from './types.js';

/** Raised for unusable environment settings; lists every problem, never a secret's value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The audience (resource indicator) of the demo upstream's access tokens unless `DEMO_UPSTREAM_AUDIENCE` says otherwise. */
export const DEFAULT_UPSTREAM_AUDIENCE = 'urn:keyward:demo-upstream';
/** Client id of the demo app's sign-in client unless `DEMO_IDP_SIGNIN_CLIENT_ID` says otherwise. */
export const DEFAULT_SIGNIN_CLIENT_ID = 'keyward-demo';
/** Client id of the demo app's `demo-oauth` connected-account client unless `DEMO_IDP_CONNECT_CLIENT_ID` says otherwise. */
export const DEFAULT_CONNECT_CLIENT_ID = 'keyward-demo-oauth';
/** Access-token lifetime (seconds) unless `DEMO_IDP_ACCESS_TOKEN_TTL_S` says otherwise. */
export const DEFAULT_ACCESS_TOKEN_TTL_S = 300;

const AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

/** Everything `main.ts` derives from the environment. */
export interface IdpConfig {
  readonly port: number;
  readonly host: string;
  readonly users: Map<string, string>;
  readonly adminToken: string;
  readonly clients: IdpClient[];
  readonly upstreamAudience: string;
  readonly accessTokenTtlS: number;
  /** Names of the variables that were unset and got a random value for this run. */
  readonly generated: string[];
}

/** A fresh random secret: 32 bytes in base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

type Env = Readonly<Record<string, string | undefined>>;

function port(env: Env, name: string, fallback: number, problems: string[]): number {
  const text = (env[name] ?? '').trim();
  const value = text === '' ? fallback : /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= 65535)) problems.push(`${name}: expected an integer in 0..65535 (0 picks a free port).`);
  return value;
}

function client(env: Env, role: 'SIGNIN' | 'CONNECT', defaults: { id: string; name: string; paths: { redirect: string; backchannel?: string } }, appUrl: string, problems: string[], generated: string[], makeSecret: () => string): IdpClient {
  const prefix = `DEMO_IDP_${role}_CLIENT`;
  const clientId = (env[`${prefix}_ID`] ?? '').trim() || defaults.id;
  const method = ((env[`${prefix}_AUTH_METHOD`] ?? '').trim() || 'client_secret_basic') as ClientAuthMethod;
  if (!AUTH_METHODS.includes(method)) problems.push(`${prefix}_AUTH_METHOD: expected one of ${AUTH_METHODS.join(', ')}.`);
  let clientSecret: string | undefined = (env[`${prefix}_SECRET`] ?? '').trim() || undefined;
  if (clientSecret === undefined && method !== 'private_key_jwt') {
    clientSecret = makeSecret();
    generated.push(`${prefix}_SECRET`);
  }
  let jwks: { keys: PublicJwk[] } | undefined;
  const jwksText = (env[`${prefix}_JWKS`] ?? '').trim();
  if (jwksText !== '') {
    try {
      const parsed = JSON.parse(jwksText) as { keys?: unknown };
      if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error('no keys');
      if (parsed.keys.some((k) => k === null || typeof k !== 'object' || 'd' in (k as object))) throw new Error('private');
      jwks = { keys: parsed.keys as PublicJwk[] };
    } catch {
      problems.push(`${prefix}_JWKS: expected a JSON Web Key Set of public keys ({"keys":[...]}, no private "d").`);
    }
  } else if (method === 'private_key_jwt') {
    problems.push(`${prefix}_JWKS: required with ${prefix}_AUTH_METHOD=private_key_jwt (the client's public keys).`);
  }
  return {
    clientId,
    clientSecret,
    authMethod: method,
    jwks,
    name: defaults.name,
    redirectUris: [`${appUrl}${defaults.paths.redirect}`],
    postLogoutRedirectUris: [`${appUrl}/`],
    backchannelLogoutUri: defaults.paths.backchannel === undefined ? undefined : `${appUrl}${defaults.paths.backchannel}`,
  };
}

/**
 * Reads the demo identity provider's settings from the environment (see the README for the
 * list). Development only: `NODE_ENV=production` is refused, as the demo users are. Unset
 * client secrets and the admin token are generated for this run and named in `generated`.
 *
 * @example loadIdpConfig({ DEMO_IDP_PORT: '0' }).issuer
 * @throws ConfigError listing every problem at once.
 */
export function loadIdpConfig(env: Env = process.env, makeSecret: () => string = generateSecret): IdpConfig {
  const problems: string[] = [];
  const generated: string[] = [];
  if (env['NODE_ENV'] === 'production') {
    problems.push('NODE_ENV=production: the demo identity provider signs in the demo users, which production refuses; point DEMO_IDP_ISSUER at a real OpenID provider instead.');
  }
  const host = (env['HOST'] ?? '').trim() || '127.0.0.1';
  if (!isLoopback(host)) problems.push('HOST: the demo identity provider binds a loopback address only (127.0.0.1, ::1 or localhost).');
  const idpPort = port(env, 'DEMO_IDP_PORT', 4100, problems);
  const appPort = port(env, 'PORT', 3000, problems);

  const appUrlText = (env['DEMO_IDP_APP_URL'] ?? '').trim() || `http://${host.includes(':') ? `[${host}]` : host}:${appPort}`;
  let appUrl = appUrlText;
  try {
    const url = new URL(appUrlText);
    if (!['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new Error('shape');
    appUrl = url.origin;
  } catch {
    problems.push('DEMO_IDP_APP_URL: expected the demo app\'s origin, e.g. http://127.0.0.1:3000.');
  }

  const users = parseDemoUsers(env['KEYWARD_DEMO_USERS'] ?? DEFAULT_DEMO_USERS, problems);
  if (users.size === 0) problems.push('KEYWARD_DEMO_USERS: no user to sign in.');

  let adminToken = (env['DEMO_UPSTREAM_ADMIN_TOKEN'] ?? '').trim();
  if (adminToken === '') {
    adminToken = makeSecret();
    generated.push('DEMO_UPSTREAM_ADMIN_TOKEN');
  }

  const clients = [
    client(env, 'SIGNIN', { id: DEFAULT_SIGNIN_CLIENT_ID, name: 'Keyward demo', paths: { redirect: '/api/auth/oidc/callback', backchannel: '/api/auth/oidc/backchannel-logout' } }, appUrl, problems, generated, makeSecret),
    client(env, 'CONNECT', { id: DEFAULT_CONNECT_CLIENT_ID, name: 'Keyward demo (demo-oauth connection)', paths: { redirect: '/api/connect/demo-oauth/callback' } }, appUrl, problems, generated, makeSecret),
  ];
  if (clients[0]!.clientId === clients[1]!.clientId) problems.push('DEMO_IDP_SIGNIN_CLIENT_ID and DEMO_IDP_CONNECT_CLIENT_ID must differ.');

  const upstreamAudience = (env['DEMO_UPSTREAM_AUDIENCE'] ?? '').trim() || DEFAULT_UPSTREAM_AUDIENCE;
  try {
    const url = new URL(upstreamAudience);
    if (url.hash !== '') throw new Error('fragment');
  } catch {
    problems.push('DEMO_UPSTREAM_AUDIENCE: expected an absolute URI without a fragment (a resource indicator), e.g. urn:keyward:demo-upstream.');
  }

  const ttlText = (env['DEMO_IDP_ACCESS_TOKEN_TTL_S'] ?? '').trim();
  const accessTokenTtlS = ttlText === '' ? DEFAULT_ACCESS_TOKEN_TTL_S : /^\d{1,6}$/.test(ttlText) ? Number(ttlText) : NaN;
  if (!(accessTokenTtlS >= 1 && accessTokenTtlS <= 86_400)) problems.push('DEMO_IDP_ACCESS_TOKEN_TTL_S: expected whole seconds in 1..86400.');

  if (problems.length > 0) throw new ConfigError(`The demo identity provider's environment is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { port: idpPort, host, users, adminToken, clients, upstreamAudience, accessTokenTtlS, generated };
}
