import { LOOPBACK, demoIdpIssuer } from './demo-oauth-config.js';

/**
 * The demo's "Sign in with the demo identity provider" (the library's `oidc` options), read
 * from the environment `scripts/start.mjs` passes.
 */
export interface DemoOidcSignIn {
  /** The OpenID provider: `DEMO_IDP_ISSUER`, else the demo one at `http://<loopback HOST>:<DEMO_IDP_PORT>`. */
  issuer: string;
  /** `DEMO_IDP_SIGNIN_CLIENT_ID`. */
  clientId: string;
  /** `DEMO_IDP_SIGNIN_CLIENT_SECRET` (never printed). */
  clientSecret: string;
  /** From `DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD`: `client_secret_basic` (default) or `client_secret_post`. */
  method: 'basic' | 'post';
  /** Where the provider sends the browser after logout: `<DEMO_IDP_APP_URL or http://HOST:PORT>/`. */
  postLogoutRedirectUri: string;
  /** True when the issuer is `http://` on loopback (the demo provider): allowed in development only. */
  httpLoopback: boolean;
}

/**
 * The sign-in's scopes: `openid`, and `profile` and `email` for the ID token's `name` and
 * `email` claims (the demo provider's README). No `offline_access`: the sign-in needs no
 * refresh token, and the demo provider grants one only with `prompt=consent`.
 */
export const DEMO_OIDC_SCOPES = ['openid', 'profile', 'email'] as const;

/** The ID token claims kept in `session.user` (besides `id`, `sub`, `sid`). */
export const DEMO_OIDC_CLAIMS = ['name', 'email', 'email_verified'] as const;

/**
 * Reads the OIDC sign-in's settings; pushes every problem (names, never values) to
 * `problems`. Undefined when `DEMO_IDP_SIGNIN_CLIENT_ID` is unset: the demo starts with the
 * password login only and its page says so.
 *
 * @example
 * demoOidcConfig({ PORT: '3000', DEMO_IDP_SIGNIN_CLIENT_ID: 'keyward-demo', DEMO_IDP_SIGNIN_CLIENT_SECRET: s }, false, problems)
 * // { issuer: 'http://127.0.0.1:4100', clientId: 'keyward-demo', postLogoutRedirectUri: 'http://127.0.0.1:3000/', ... }
 */
export function demoOidcConfig(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): DemoOidcSignIn | undefined {
  const clientId = env.DEMO_IDP_SIGNIN_CLIENT_ID || undefined;
  if (clientId === undefined) return undefined;

  const rawMethod = env.DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD || 'client_secret_basic';
  let method: 'basic' | 'post' = 'basic';
  if (rawMethod === 'client_secret_post') method = 'post';
  else if (rawMethod === 'private_key_jwt') {
    problems.push('DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD: private_key_jwt is not supported by the demo app (it has no setting for a private key); use client_secret_basic or client_secret_post.');
  } else if (rawMethod !== 'client_secret_basic') {
    problems.push(`DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD: expected client_secret_basic or client_secret_post, got ${JSON.stringify(rawMethod.slice(0, 30))}.`);
  }
  const clientSecret = env.DEMO_IDP_SIGNIN_CLIENT_SECRET ?? '';
  if (clientSecret === '') {
    problems.push('DEMO_IDP_SIGNIN_CLIENT_SECRET: required with DEMO_IDP_SIGNIN_CLIENT_ID (the sign-in client\'s secret at the identity provider; npm start generates one).');
  }
  const { issuer, httpLoopback } = demoIdpIssuer(env, production, problems);
  return { issuer, clientId, clientSecret, method, postLogoutRedirectUri: appOrigin(env, production, problems) + '/', httpLoopback };
}

/**
 * The app's origin as the provider knows it (the post-logout redirect it registered):
 * `DEMO_IDP_APP_URL` (the demo provider reads the same variable), else `http://<HOST>:<PORT>`.
 */
function appOrigin(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): string {
  const raw = env.DEMO_IDP_APP_URL;
  if (raw) {
    try {
      const u = new URL(raw);
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK(u.hostname) && !production)) {
        problems.push('DEMO_IDP_APP_URL: expected an https:// origin (http:// only on loopback in development).');
      }
      if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
        problems.push('DEMO_IDP_APP_URL: expected an origin alone (scheme, host, port), e.g. https://demo.example.com.');
      }
      return u.origin;
    } catch {
      problems.push('DEMO_IDP_APP_URL: not a URL; expected the app\'s origin, e.g. https://demo.example.com.');
      return 'http://127.0.0.1';
    }
  }
  const host = env.HOST || '127.0.0.1';
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${shown}:${env.PORT || '3000'}`;
}
