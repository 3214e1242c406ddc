/**
 * The authorization-code + PKCE flow against a real provider, driven by `openid-client`
 * (the relying party) and a {@link TestBrowser} (the user): tests of the provider, of the
 * demo upstream and of the demo app get real tokens this way. Exported as
 * `@keyward/demo-idp/testing`.
 */
import type { webcrypto } from 'node:crypto';
import * as oidc from 'openid-client';
import { TestBrowser, formAction } from './test-browser.js';

export { TestBrowser, formAction, hiddenFields } from './test-browser.js';
export type { WalkResult } from './test-browser.js';

/** How the relying party authenticates. */
export interface FlowClient {
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  /** With `private_key_jwt` instead of a secret. */
  readonly privateKey?: webcrypto.CryptoKey | undefined;
  readonly redirectUri: string;
}

/** openid-client's view of the provider for this client (discovery over loopback http). */
export async function clientConfig(issuer: string, client: FlowClient): Promise<oidc.Configuration> {
  const auth = client.privateKey !== undefined ? oidc.PrivateKeyJwt(client.privateKey as unknown as Parameters<typeof oidc.PrivateKeyJwt>[0]) : oidc.ClientSecretBasic(client.clientSecret);
  return oidc.discovery(new URL(issuer), client.clientId, client.privateKey !== undefined ? {} : { client_secret: client.clientSecret }, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** A page's visible text, short enough for an error message. */
export function pageText(html: string): string {
  return html.replace(/<style>.*?<\/style>/gs, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** What one authorization request used and where the browser ended. */
export interface Authorization {
  readonly callback: URL;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

/**
 * Plays the user: opens the authorization URL, fills the sign-in form when it is shown,
 * follows the redirects and stops at the client's redirect URI.
 */
export async function authorize(
  config: oidc.Configuration,
  browser: TestBrowser,
  options: { redirectUri: string; username: string; password: string; scope?: string; parameters?: Record<string, string> },
): Promise<Authorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...options.parameters,
  });
  let step = await browser.walk(url, { stopAt: options.redirectUri });
  if (step.stoppedAt === undefined) {
    if (!/name="password"/.test(step.body)) throw new Error(`expected the sign-in form, got ${step.response.status}: ${pageText(step.body)}`);
    step = await browser.walk(formAction(step.body, step.url), {
      stopAt: options.redirectUri,
      form: { username: options.username, password: options.password },
    });
  }
  if (step.stoppedAt === undefined) throw new Error(`the provider did not redirect back: ${step.response.status} ${pageText(step.body)}`);
  return { callback: step.stoppedAt, verifier, state, nonce };
}

/** A whole sign-in: authorization, then the code exchanged (ID token checked by openid-client). */
export async function signIn(
  issuer: string,
  client: FlowClient,
  options: { username: string; password: string; scope?: string; parameters?: Record<string, string>; browser?: TestBrowser },
): Promise<{ config: oidc.Configuration; browser: TestBrowser; tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>> }> {
  const config = await clientConfig(issuer, client);
  const browser = options.browser ?? new TestBrowser();
  const auth = await authorize(config, browser, { ...options, redirectUri: client.redirectUri });
  const tokens = await oidc.authorizationCodeGrant(config, auth.callback, {
    pkceCodeVerifier: auth.verifier,
    expectedState: auth.state,
    expectedNonce: auth.nonce,
    idTokenExpected: true,
  });
  return { config, browser, tokens };
}
