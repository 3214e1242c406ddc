import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError, loadUpstreamConfig } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

describe('loadUpstreamConfig', () => {
  let n = 0;
  const fixed = (): string => `generated-secret-${++n}`;

  it('uses the development defaults and generates missing secrets', () => {
    n = 0;
    const config = loadUpstreamConfig({}, fixed);
    assert.deepEqual(config, {
      port: 4000,
      host: '127.0.0.1',
      serverKeys: ['generated-secret-1'],
      adminToken: 'generated-secret-2',
      accessTokens: { issuer: 'http://127.0.0.1:4100', audience: 'urn:keyward:demo-upstream' },
      generated: ['DEMO_UPSTREAM_KEY', 'DEMO_UPSTREAM_ADMIN_TOKEN'],
      production: false,
    });
  });

  it('generates distinct random secrets by default', () => {
    const config = loadUpstreamConfig({});
    assert.notEqual(config.serverKeys[0], config.adminToken);
    assert.ok(config.adminToken.length >= 40);
  });

  it('reads UPSTREAM_PORT, HOST and a comma list of keys (newest first)', () => {
    const config = loadUpstreamConfig(
      { UPSTREAM_PORT: '4555', HOST: '0.0.0.0', DEMO_UPSTREAM_KEY: ' new-key , old-key ,', DEMO_UPSTREAM_ADMIN_TOKEN: 'tok' },
      fixed,
    );
    assert.equal(config.port, 4555);
    assert.equal(config.host, '0.0.0.0');
    assert.deepEqual(config.serverKeys, ['new-key', 'old-key']);
    assert.equal(config.adminToken, 'tok');
    assert.deepEqual(config.generated, []);
    assert.equal(loadUpstreamConfig({ UPSTREAM_PORT: '0' }, fixed).port, 0);
  });

  it('reads whose access tokens to accept: DEMO_IDP_ISSUER, else the demo identity provider at DEMO_IDP_PORT', () => {
    assert.deepEqual(loadUpstreamConfig({ DEMO_IDP_PORT: '4555' }, fixed).accessTokens, { issuer: 'http://127.0.0.1:4555', audience: 'urn:keyward:demo-upstream' });
    assert.deepEqual(
      loadUpstreamConfig({ DEMO_IDP_PORT: '4555', DEMO_IDP_ISSUER: 'https://login.example', DEMO_UPSTREAM_AUDIENCE: 'https://api.example/' }, fixed).accessTokens,
      { issuer: 'https://login.example', audience: 'https://api.example/' },
    );
    assert.throws(() => loadUpstreamConfig({ DEMO_IDP_ISSUER: 'ftp://x' }, fixed), /DEMO_IDP_ISSUER/);
    assert.throws(() => loadUpstreamConfig({ DEMO_IDP_PORT: 'x' }, fixed), /DEMO_IDP_PORT/);
  });

  it('refuses a bad port without echoing secrets', () => {
    for (const UPSTREAM_PORT of ['abc', '-1', '65536', '40.5', '999999']) {
      assert.throws(() => loadUpstreamConfig({ UPSTREAM_PORT }, fixed), ConfigError, UPSTREAM_PORT);
    }
  });

  it('requires long enough secrets in production', () => {
    const good = {
      NODE_ENV: 'production',
      DEMO_UPSTREAM_KEY: 'k'.repeat(32),
      DEMO_UPSTREAM_ADMIN_TOKEN: 't'.repeat(32),
    };
    assert.equal(loadUpstreamConfig(good).production, true);
    assert.throws(() => loadUpstreamConfig({ ...good, DEMO_UPSTREAM_KEY: '' }), /DEMO_UPSTREAM_KEY is required/);
    assert.throws(() => loadUpstreamConfig({ ...good, DEMO_UPSTREAM_ADMIN_TOKEN: undefined }), /ADMIN_TOKEN is required/);
    assert.throws(() => loadUpstreamConfig({ ...good, DEMO_UPSTREAM_KEY: 'short' }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(!err.message.includes('short'));
      return true;
    });
    assert.throws(() => loadUpstreamConfig({ ...good, DEMO_UPSTREAM_ADMIN_TOKEN: 'short' }), ConfigError);
  });

  it('refuses duplicate keys and an admin token equal to a key', () => {
    assert.throws(() => loadUpstreamConfig({ DEMO_UPSTREAM_KEY: 'a,a' }, fixed), ConfigError);
    assert.throws(() => loadUpstreamConfig({ DEMO_UPSTREAM_KEY: 'a', DEMO_UPSTREAM_ADMIN_TOKEN: 'a' }, fixed), ConfigError);
  });
});

/** Starts main.js, resolves with the URL it prints, and collects everything it writes. */
async function runMain(env: Record<string, string>): Promise<{
  url: string;
  output: () => string;
  stop: (signal: NodeJS.Signals) => Promise<number | null>;
}> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`main.js did not start: ${out}`)), 10_000);
    const check = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`main.js exited: ${out}`));
    });
  });
  return {
    url,
    output: () => out,
    stop: async (signal) => {
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

describe('main.js', () => {
  it('starts from the environment, never prints the secrets, stops on SIGTERM', async () => {
    const key = 'main-test-key-3f9a1c77d2';
    const token = 'main-test-admin-token-88e1b0';
    const run = await runMain({ UPSTREAM_PORT: '0', DEMO_UPSTREAM_KEY: key, DEMO_UPSTREAM_ADMIN_TOKEN: token });
    const echo = await fetch(`${run.url}/v1/echo?reflect=1`, { headers: { 'x-api-key': key } });
    assert.equal(echo.status, 200);
    await echo.arrayBuffer();
    const mint = await fetch(`${run.url}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(mint.status, 201);
    await mint.arrayBuffer();
    const code = await run.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(!run.output().includes(key), 'key printed');
    assert.ok(!run.output().includes(token), 'admin token printed');
    assert.doesNotMatch(run.output(), /generated/);
  });

  it('generates missing secrets in development, says so, and stops on SIGINT', async () => {
    const run = await runMain({ UPSTREAM_PORT: '0' });
    assert.match(run.output(), /DEMO_UPSTREAM_KEY is not set; generated a random value for this run \(not printed\)/);
    assert.match(run.output(), /DEMO_UPSTREAM_ADMIN_TOKEN is not set; generated/);
    assert.doesNotMatch(run.output(), /[A-Za-z0-9_-]{43}/, 'no 32-byte base64url secret in the output');
    const res = await fetch(`${run.url}/internal/marker`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(await run.stop('SIGINT'), 0);
  });

  it('exits 1 in production without secrets', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production', UPSTREAM_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1);
    assert.match(err, /DEMO_UPSTREAM_KEY is required in production/);
  });
});
