import { randomBytes } from 'node:crypto';

/** Raised for unusable environment settings; the message names the variable, never its value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Settings `main.ts` derives from the environment. */
export interface UpstreamConfig {
  readonly port: number;
  readonly host: string;
  /** Server keys, newest first (from the comma list in `DEMO_UPSTREAM_KEY`). */
  readonly serverKeys: string[];
  readonly adminToken: string;
  /** The identity provider whose JWT access tokens `/v1/` accepts, and this upstream's audience. */
  readonly accessTokens: { readonly issuer: string; readonly audience: string };
  /** Names of the variables that were unset and got a random value generated. */
  readonly generated: string[];
  readonly production: boolean;
}

/** This upstream's audience in access tokens unless `DEMO_UPSTREAM_AUDIENCE` says otherwise (the demo identity provider's default too). */
export const DEFAULT_UPSTREAM_AUDIENCE = 'urn:keyward:demo-upstream';

/** Minimum length of the key and admin token when `NODE_ENV=production`. */
export const MIN_PRODUCTION_SECRET_LENGTH = 16;

/** A fresh random secret: 32 bytes in base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Reads the demo upstream's settings:
 * - `UPSTREAM_PORT` (default 4000; 0 picks a free port), `HOST` (default 127.0.0.1);
 * - `DEMO_UPSTREAM_KEY`: the app's own key, or a comma list newest first to allow rotation;
 * - `DEMO_UPSTREAM_ADMIN_TOKEN`: bearer token for `/admin/*`;
 * - `DEMO_IDP_ISSUER` (else `http://<HOST>:<DEMO_IDP_PORT or 4100>`, the demo identity
 *   provider) and `DEMO_UPSTREAM_AUDIENCE` (default `urn:keyward:demo-upstream`): whose JWT
 *   access tokens `/v1/` accepts, for which audience.
 *
 * Outside production an unset key or token is generated at random and its name listed in
 * `generated`; with `NODE_ENV=production` both are required.
 *
 * @throws ConfigError for an invalid port or a missing/too short secret in production.
 */
export function loadUpstreamConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  makeSecret: () => string = generateSecret,
): UpstreamConfig {
  const production = env['NODE_ENV'] === 'production';
  const portText = (env['UPSTREAM_PORT'] ?? '').trim();
  const port = portText === '' ? 4000 : /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new ConfigError('UPSTREAM_PORT must be an integer in 0..65535');
  const host = (env['HOST'] ?? '').trim() || '127.0.0.1';

  const generated: string[] = [];
  let serverKeys = (env['DEMO_UPSTREAM_KEY'] ?? '').split(',').map((k) => k.trim()).filter((k) => k.length > 0);
  let adminToken = (env['DEMO_UPSTREAM_ADMIN_TOKEN'] ?? '').trim();

  if (production) {
    if (serverKeys.length === 0) throw new ConfigError('DEMO_UPSTREAM_KEY is required in production');
    if (adminToken === '') throw new ConfigError('DEMO_UPSTREAM_ADMIN_TOKEN is required in production');
    if (serverKeys.some((k) => k.length < MIN_PRODUCTION_SECRET_LENGTH)) {
      throw new ConfigError(`DEMO_UPSTREAM_KEY entries must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production`);
    }
    if (adminToken.length < MIN_PRODUCTION_SECRET_LENGTH) {
      throw new ConfigError(`DEMO_UPSTREAM_ADMIN_TOKEN must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production`);
    }
  } else {
    if (serverKeys.length === 0) {
      serverKeys = [makeSecret()];
      generated.push('DEMO_UPSTREAM_KEY');
    }
    if (adminToken === '') {
      adminToken = makeSecret();
      generated.push('DEMO_UPSTREAM_ADMIN_TOKEN');
    }
  }
  if (new Set(serverKeys).size !== serverKeys.length) throw new ConfigError('DEMO_UPSTREAM_KEY lists the same key twice');
  if (serverKeys.includes(adminToken)) {
    throw new ConfigError('DEMO_UPSTREAM_ADMIN_TOKEN must differ from every DEMO_UPSTREAM_KEY entry');
  }
  const idpPortText = (env['DEMO_IDP_PORT'] ?? '').trim();
  const idpPort = idpPortText === '' ? 4100 : /^\d{1,5}$/.test(idpPortText) ? Number(idpPortText) : NaN;
  if (!(idpPort >= 0 && idpPort <= 65535)) throw new ConfigError('DEMO_IDP_PORT must be an integer in 0..65535');
  const issuer = (env['DEMO_IDP_ISSUER'] ?? '').trim() || `http://${host.includes(':') ? `[${host}]` : host}:${idpPort}`;
  try {
    const url = new URL(issuer);
    if (!['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '') throw new Error('shape');
  } catch {
    throw new ConfigError('DEMO_IDP_ISSUER must be an http(s) URL without query or fragment');
  }
  const audience = (env['DEMO_UPSTREAM_AUDIENCE'] ?? '').trim() || DEFAULT_UPSTREAM_AUDIENCE;
  return { port, host, serverKeys, adminToken, accessTokens: { issuer, audience }, generated, production };
}
