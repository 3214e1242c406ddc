import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_CONNECT_CLIENT_ID, DEFAULT_SIGNIN_CLIENT_ID, DEFAULT_UPSTREAM_AUDIENCE, loadIdpConfig } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

describe('loadIdpConfig', () => {
  let n = 0;
  const fixed = (): string => `generated-secret-${++n}`;

  it('has development defaults: port 4100, the demo users, the two demo clients on the app at PORT', () => {
    n = 0;
    const config = loadIdpConfig({ PORT: '3456' }, fixed);
    assert.equal(config.port, 4100);
    assert.equal(config.host, '127.0.0.1');
    assert.deepEqual([...config.users.keys()], ['alice', 'bob']);
    assert.equal(config.upstreamAudience, DEFAULT_UPSTREAM_AUDIENCE);
    assert.equal(config.accessTokenTtlS, 300);
    assert.deepEqual(config.generated, ['DEMO_UPSTREAM_ADMIN_TOKEN', 'DEMO_IDP_SIGNIN_CLIENT_SECRET', 'DEMO_IDP_CONNECT_CLIENT_SECRET']);
    const [signin, connect] = config.clients;
    assert.deepEqual(signin, {
      clientId: DEFAULT_SIGNIN_CLIENT_ID,
      clientSecret: 'generated-secret-2',
      authMethod: 'client_secret_basic',
      jwks: undefined,
      name: 'Keyward demo',
      redirectUris: ['http://127.0.0.1:3456/api/auth/oidc/callback'],
      postLogoutRedirectUris: ['http://127.0.0.1:3456/'],
      backchannelLogoutUri: 'http://127.0.0.1:3456/api/auth/oidc/backchannel-logout',
    });
    assert.equal(connect!.clientId, DEFAULT_CONNECT_CLIENT_ID);
    assert.deepEqual(connect!.redirectUris, ['http://127.0.0.1:3456/api/connect/demo-oauth/callback']);
    assert.equal(connect!.backchannelLogoutUri, undefined);
  });

  it('reads every variable', () => {
    const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] });
    const config = loadIdpConfig({
      DEMO_IDP_PORT: '0', DEMO_IDP_APP_URL: 'http://localhost:8080', KEYWARD_DEMO_USERS: 'carol:c-pass',
      DEMO_UPSTREAM_ADMIN_TOKEN: 'adm', DEMO_IDP_SIGNIN_CLIENT_ID: 'si', DEMO_IDP_SIGNIN_CLIENT_SECRET: 'si-secret',
      DEMO_IDP_CONNECT_CLIENT_ID: 'co', DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD: 'private_key_jwt', DEMO_IDP_CONNECT_CLIENT_JWKS: jwks,
      DEMO_UPSTREAM_AUDIENCE: 'https://api.example/v1/', DEMO_IDP_ACCESS_TOKEN_TTL_S: '2',
    }, fixed);
    assert.equal(config.port, 0);
    assert.deepEqual(config.generated, []);
    assert.equal(config.clients[0]!.clientSecret, 'si-secret');
    assert.equal(config.clients[0]!.backchannelLogoutUri, 'http://localhost:8080/api/auth/oidc/backchannel-logout');
    assert.equal(config.clients[1]!.authMethod, 'private_key_jwt');
    assert.equal(config.clients[1]!.clientSecret, undefined);
    assert.equal(config.upstreamAudience, 'https://api.example/v1/');
    assert.equal(config.accessTokenTtlS, 2);
  });

  it('reports every problem at once, naming variables and never their secret values', () => {
    assert.throws(
      () => loadIdpConfig({
        NODE_ENV: 'production', HOST: '0.0.0.0', DEMO_IDP_PORT: '99999', KEYWARD_DEMO_USERS: 'nopassword',
        DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD: 'none', DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD: 'private_key_jwt',
        DEMO_IDP_SIGNIN_CLIENT_JWKS: '{"keys":[{"kty":"EC","d":"private-part-value"}]}', DEMO_UPSTREAM_AUDIENCE: 'not a uri',
        DEMO_IDP_ACCESS_TOKEN_TTL_S: '0', DEMO_IDP_SIGNIN_CLIENT_SECRET: 'super-secret-value',
      }, fixed),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        for (const name of ['NODE_ENV=production', 'HOST', 'DEMO_IDP_PORT', 'KEYWARD_DEMO_USERS', 'DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD', 'DEMO_IDP_CONNECT_CLIENT_JWKS', 'DEMO_IDP_SIGNIN_CLIENT_JWKS', 'DEMO_UPSTREAM_AUDIENCE', 'DEMO_IDP_ACCESS_TOKEN_TTL_S']) {
          assert.ok(err.message.includes(name), name);
        }
        assert.ok(!err.message.includes('super-secret-value') && !err.message.includes('private-part-value') && !err.message.includes('nopassword'));
        return true;
      },
    );
  });
});

async function runMain(env: Record<string, string>): Promise<{ url: string; output: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`main.js did not start: ${out}`)), 10_000);
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`main.js exited: ${out}`));
    });
  });
  return {
    url,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return ((await exited) as [number | null])[0];
    },
  };
}

describe('main.js', () => {
  it('starts from the environment, serves discovery on its issuer, prints no secret, stops on SIGTERM', async () => {
    const secrets = { DEMO_UPSTREAM_ADMIN_TOKEN: 'main-admin-token-77aa', DEMO_IDP_SIGNIN_CLIENT_SECRET: 'main-signin-secret-88bb', KEYWARD_DEMO_USERS: 'dana:dana-password-99cc' };
    const run = await runMain({ DEMO_IDP_PORT: '0', ...secrets });
    const res = await fetch(`${run.url}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { issuer: string }).issuer, run.url);
    assert.equal(await run.stop(), 0);
    for (const value of Object.values(secrets)) assert.ok(!run.output().includes(value.split(':').at(-1)!), 'a secret was printed');
    assert.match(run.output(), /DEMO_IDP_CONNECT_CLIENT_SECRET is not set; generated a random value for this run \(not printed\)/);
    assert.doesNotMatch(run.output(), /[A-Za-z0-9_-]{43}/, 'no 32-byte base64url secret in the output');
  });

  it('exits 1 in production, saying to use a real provider', async () => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production', DEMO_IDP_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1);
    assert.match(err, /DEMO_IDP_ISSUER/);
  });
});
