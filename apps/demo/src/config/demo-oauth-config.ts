/**
 * The demo's `demo-oauth` connection (a connected account at the demo identity provider whose
 * access tokens the demo upstream accepts), read from the environment `scripts/start.mjs` passes.
 */
export interface DemoOAuthConnection {
  /** The OpenID provider: `DEMO_IDP_ISSUER`, else the demo one at `http://<loopback HOST>:<DEMO_IDP_PORT>`. */
  issuer: string;
  /** `DEMO_IDP_CONNECT_CLIENT_ID`. */
  clientId: string;
  /** `DEMO_IDP_CONNECT_CLIENT_SECRET` (never printed). */
  clientSecret: string;
  /** From `DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD`: `client_secret_basic` (default) or `client_secret_post`. */
  method: 'basic' | 'post';
  /** True when the issuer is `http://` on loopback (the demo provider): allowed in development only. */
  httpLoopback: boolean;
}

/** The scopes the connection asks for: the upstream's scope, and `offline_access` for a refresh token. */
export const DEMO_OAUTH_SCOPES = ['demo.api', 'offline_access'] as const;

/** Whether a host name is loopback (the demo provider and the demo app's development origin). */
export const LOOPBACK = (h: string): boolean => h === 'localhost' || h === '[::1]' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);

/**
 * Reads the `demo-oauth` connection's settings; pushes every problem (names, never values) to
 * `problems`. Undefined when `DEMO_IDP_CONNECT_CLIENT_ID` is unset: no identity provider is
 * configured, the demo starts without the connection and its page says so.
 *
 * @example
 * demoOAuthConfig({ DEMO_IDP_CONNECT_CLIENT_ID: 'keyward-demo-oauth', DEMO_IDP_CONNECT_CLIENT_SECRET: s }, false, problems)
 * // { issuer: 'http://127.0.0.1:4100', clientId: 'keyward-demo-oauth', method: 'basic', ... }
 */
export function demoOAuthConfig(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): DemoOAuthConnection | undefined {
  const clientId = env.DEMO_IDP_CONNECT_CLIENT_ID || undefined;
  const portRaw = env.DEMO_IDP_PORT;
  if (portRaw !== undefined && portRaw !== '' && !(/^[0-9]{1,5}$/.test(portRaw) && Number(portRaw) >= 1 && Number(portRaw) <= 65535)) {
    problems.push(`DEMO_IDP_PORT: expected a port number (1..65535), got ${JSON.stringify(portRaw.slice(0, 20))}.`);
  }
  if (clientId === undefined) return undefined;

  const rawMethod = env.DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD || 'client_secret_basic';
  let method: 'basic' | 'post' = 'basic';
  if (rawMethod === 'client_secret_post') method = 'post';
  else if (rawMethod === 'private_key_jwt') {
    problems.push('DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD: private_key_jwt is not supported by the demo app (it has no setting for a private key); use client_secret_basic or client_secret_post.');
  } else if (rawMethod !== 'client_secret_basic') {
    problems.push(`DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD: expected client_secret_basic or client_secret_post, got ${JSON.stringify(rawMethod.slice(0, 30))}.`);
  }
  const clientSecret = env.DEMO_IDP_CONNECT_CLIENT_SECRET ?? '';
  if (clientSecret === '') {
    problems.push('DEMO_IDP_CONNECT_CLIENT_SECRET: required with DEMO_IDP_CONNECT_CLIENT_ID (the demo-oauth client\'s secret at the identity provider; npm start generates one).');
  }

  const { issuer, httpLoopback } = demoIdpIssuer(env, production, problems);
  return { issuer, clientId, clientSecret, method, httpLoopback };
}

/**
 * The identity provider's issuer, shared by the `demo-oauth` connection and the OIDC sign-in:
 * `DEMO_IDP_ISSUER`, else the demo provider at `http://<loopback HOST>:<DEMO_IDP_PORT>`.
 * `httpLoopback` is true for an `http://` loopback issuer (development only: refused in production).
 * Problems (names, never values) go to `problems`; the caller removes duplicates.
 *
 * @example
 * demoIdpIssuer({ DEMO_IDP_PORT: '4100' }, false, problems) // { issuer: 'http://127.0.0.1:4100', httpLoopback: true }
 */
export function demoIdpIssuer(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): { issuer: string; httpLoopback: boolean } {
  const host = env.HOST || '127.0.0.1';
  const idpHost = LOOPBACK(host) ? host : '127.0.0.1';
  const fallback = `http://${idpHost.includes(':') && !idpHost.startsWith('[') ? `[${idpHost}]` : idpHost}:${env.DEMO_IDP_PORT || '4100'}`;
  const issuer = env.DEMO_IDP_ISSUER || fallback;
  let httpLoopback = false;
  try {
    const u = new URL(issuer);
    if (u.protocol === 'http:' && LOOPBACK(u.hostname)) httpLoopback = true;
    else if (u.protocol !== 'https:') {
      problems.push('DEMO_IDP_ISSUER: expected an https:// URL (http:// only to a loopback provider in development).');
    }
    if (httpLoopback && production) {
      problems.push('DEMO_IDP_ISSUER: an http:// provider is refused in production; give the https:// issuer of a real OpenID provider.');
    }
    if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
      problems.push('DEMO_IDP_ISSUER: expected the issuer URL alone (no query, fragment or credentials).');
    }
  } catch {
    problems.push('DEMO_IDP_ISSUER: not a URL; expected the provider\'s issuer, e.g. https://accounts.example.com.');
  }
  return { issuer, httpLoopback };
}
