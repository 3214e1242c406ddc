/**
 * The demo's OIDC sign-in settings from the environment (apps/demo/src/config/demo-oidc-config.ts):
 * absent without a sign-in client, the demo provider by default, every problem listed by name
 * and never a secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDemoConfig } from '../src/config/demo-config.js';
import { demoOidcConfig } from '../src/config/demo-oidc-config.js';

const SECRET = 'signin-secret-0123456789abcdef0123456789';

describe('demo OIDC sign-in configuration', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-oidc-config-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('without DEMO_IDP_SIGNIN_CLIENT_ID there is no sign-in, and the demo still starts', () => {
    assert.equal(loadDemoConfig({ KEYWARD_DATA_DIR: dataDir }).oidc, undefined);
    assert.equal(loadDemoConfig({ KEYWARD_DATA_DIR: dataDir, DEMO_IDP_ISSUER: 'https://idp.example.com' }).oidc, undefined);
  });

  it('what npm start passes: the demo provider on loopback, client_secret_basic, post-logout to the app\'s page', () => {
    const problems: string[] = [];
    const c = demoOidcConfig({ HOST: '127.0.0.1', PORT: '3456', DEMO_IDP_PORT: '4321', DEMO_IDP_SIGNIN_CLIENT_ID: 'keyward-demo', DEMO_IDP_SIGNIN_CLIENT_SECRET: SECRET }, false, problems);
    assert.deepEqual(problems, []);
    assert.deepEqual(c, { issuer: 'http://127.0.0.1:4321', clientId: 'keyward-demo', clientSecret: SECRET, method: 'basic', postLogoutRedirectUri: 'http://127.0.0.1:3456/', httpLoopback: true });
    // DEMO_IDP_APP_URL (which the demo provider registers) wins; a real provider over https, client_secret_post.
    const real = demoOidcConfig({ DEMO_IDP_ISSUER: 'https://idp.example.com', DEMO_IDP_APP_URL: 'https://demo.example.com', DEMO_IDP_SIGNIN_CLIENT_ID: 'x', DEMO_IDP_SIGNIN_CLIENT_SECRET: SECRET, DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD: 'client_secret_post' }, true, problems)!;
    assert.deepEqual(problems, []);
    assert.equal(real.postLogoutRedirectUri, 'https://demo.example.com/');
    assert.equal(real.method, 'post');
    assert.equal(real.httpLoopback, false);
  });

  it('every problem at once, by variable name, never quoting the secret; a shared issuer problem is listed once', () => {
    assert.throws(
      () => loadDemoConfig({
        KEYWARD_DATA_DIR: dataDir,
        NODE_ENV: 'production',
        KEYWARD_SESSION_SECRETS: 'x'.repeat(40),
        KEYWARD_VAULT_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
        DEMO_IDP_ISSUER: 'http://127.0.0.1:4100',
        DEMO_IDP_APP_URL: 'http://demo.example.com/path',
        DEMO_IDP_SIGNIN_CLIENT_ID: 'keyward-demo',
        DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD: 'private_key_jwt',
        DEMO_IDP_CONNECT_CLIENT_ID: 'keyward-demo-oauth',
        DEMO_IDP_CONNECT_CLIENT_SECRET: SECRET,
      }),
      (err: Error) => {
        assert.match(err.message, /DEMO_IDP_SIGNIN_CLIENT_SECRET: required/);
        assert.match(err.message, /DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD: private_key_jwt is not supported/);
        assert.match(err.message, /DEMO_IDP_APP_URL: expected an https:\/\/ origin/);
        assert.match(err.message, /DEMO_IDP_APP_URL: expected an origin alone/);
        assert.equal(err.message.split('DEMO_IDP_ISSUER: an http:// provider is refused in production').length, 2, 'listed once');
        assert.ok(!err.message.includes(SECRET));
        return true;
      },
    );
  });
});
