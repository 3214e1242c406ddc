/**
 * The demo's `demo-oauth` settings from the environment (apps/demo/src/config/demo-oauth-config.ts):
 * absent without an identity provider, the demo provider by default, every problem listed by
 * name and never a secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDemoConfig } from '../src/config/demo-config.js';
import { demoOAuthConfig } from '../src/config/demo-oauth-config.js';

const SECRET = 'connect-secret-0123456789abcdef0123456789';

describe('demo-oauth configuration', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-oauth-config-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('without DEMO_IDP_CONNECT_CLIENT_ID there is no connection, and the demo still starts', () => {
    const config = loadDemoConfig({ KEYWARD_DATA_DIR: dataDir });
    assert.equal(config.oauth, undefined);
    assert.equal(loadDemoConfig({ KEYWARD_DATA_DIR: dataDir, DEMO_IDP_ISSUER: 'https://idp.example.com' }).oauth, undefined);
  });

  it('what npm start passes: the demo provider on loopback at DEMO_IDP_PORT, client_secret_basic, http allowed in development', () => {
    const problems: string[] = [];
    const c = demoOAuthConfig({ HOST: '127.0.0.1', DEMO_IDP_PORT: '4321', DEMO_IDP_CONNECT_CLIENT_ID: 'keyward-demo-oauth', DEMO_IDP_CONNECT_CLIENT_SECRET: SECRET }, false, problems);
    assert.deepEqual(problems, []);
    assert.deepEqual(c, { issuer: 'http://127.0.0.1:4321', clientId: 'keyward-demo-oauth', clientSecret: SECRET, method: 'basic', httpLoopback: true });
    // Bound to all interfaces, the provider is still found on loopback (as scripts/start.mjs does).
    assert.equal(demoOAuthConfig({ HOST: '0.0.0.0', DEMO_IDP_CONNECT_CLIENT_ID: 'x', DEMO_IDP_CONNECT_CLIENT_SECRET: SECRET }, false, [])!.issuer, 'http://127.0.0.1:4100');
    assert.equal(demoOAuthConfig({ DEMO_IDP_ISSUER: 'https://idp.example.com', DEMO_IDP_CONNECT_CLIENT_ID: 'x', DEMO_IDP_CONNECT_CLIENT_SECRET: SECRET, DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD: 'client_secret_post' }, true, [])!.method, 'post');
  });

  it('every problem at once, by variable name, never quoting the secret', () => {
    assert.throws(
      () => loadDemoConfig({
        KEYWARD_DATA_DIR: dataDir,
        NODE_ENV: 'production',
        KEYWARD_SESSION_SECRETS: 'a'.repeat(44),
        KEYWARD_VAULT_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
        DEMO_IDP_PORT: 'nope',
        DEMO_IDP_CONNECT_CLIENT_ID: 'keyward-demo-oauth',
        DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD: 'magic',
        DEMO_IDP_ISSUER: `http://127.0.0.1:4100/?s=${SECRET}`,
      }),
      (err: Error) => {
        for (const needle of ['DEMO_IDP_PORT', 'DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD', 'DEMO_IDP_CONNECT_CLIENT_SECRET: required', 'refused in production', 'no query']) assert.ok(err.message.includes(needle), `${needle} in:\n${err.message}`);
        assert.ok(!err.message.includes(SECRET));
        return true;
      },
    );
    const problems: string[] = [];
    demoOAuthConfig({ DEMO_IDP_CONNECT_CLIENT_ID: 'x', DEMO_IDP_CONNECT_CLIENT_SECRET: SECRET, DEMO_IDP_ISSUER: 'ftp://idp.example.com', DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD: 'private_key_jwt' }, false, problems);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems.join('\n'), /private_key_jwt is not supported by the demo app/);
    assert.match(problems.join('\n'), /expected an https:\/\/ URL/);
  });
});
