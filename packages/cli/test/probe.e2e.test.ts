import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, type CliIo } from '../src/cli.js';
import { probe } from '../src/probe/probe.js';

const appMain = fileURLToPath(new URL('../../../../apps/vulnerable/dist/src/main.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function startVulnerableApp(port: number, apiKey: string): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), UPSTREAM_API_KEY: apiKey, NO_COLOR: '1' };
  delete env['SESSION_SECRET']; // the app then signs with its literal fallback, as the advisory warns
  const child = spawn(process.execPath, [appMain], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vulnerable app did not start in time:\n${output}`));
    }, 20_000);
    const onData = (b: Buffer) => {
      output += b.toString();
      if (output.includes('vulnerable app listening')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vulnerable app exited with ${code}:\n${output}`));
    });
  });
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd: process.cwd() };
  return { code: await runCli(args, io), stdout, stderr };
}

describe('keyward probe against apps/vulnerable (real NestJS app, real HTTP)', () => {
  // a Stripe-format key made at run time; the probe must find it and never print it whole
  const apiKey = `sk_live_${randomBytes(12).toString('hex')}`;
  let app: ChildProcess | undefined;
  let url = '';
  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    app = await startVulnerableApp(port, apiKey);
  });
  after(() => stop(app));

  test('reports the key in the cookies, the weak signing secret, CORS and the key in the body', async () => {
    const result = await probe({ url, login: { path: '/api/login', body: { username: 'ann' } }, paths: ['/api/me'] });
    const messages = result.findings.map((f) => `${f.ruleId} ${f.message}`);
    assert.ok(result.requests <= 20);
    assert.ok(messages.some((m) => /^KW001 Cookie `api_key` carries a Stripe secret key/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^KW001 Cookie `session` carries a Stripe secret key \(base64\)/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^KW003 Cookie `session` is signed \(cookie-session keygrip\) with a well-known weak secret/.test(m)));
    assert.ok(messages.some((m) => /^KW005 CORS allows a foreign origin/.test(m)));
    assert.ok(messages.some((m) => /^KW005 CORS allows the `null` origin/.test(m)));
    assert.ok(messages.some((m) => /^KW004 Response body contains a Stripe secret key/.test(m)));
    assert.ok(messages.some((m) => /^KW002 Cookie `session`: no HttpOnly/.test(m)));
    assert.ok(!JSON.stringify(result).includes(apiKey), 'the key is never reported in full');
  });

  test('CLI: exit 1, text report with the exposure, key masked', async () => {
    const r = await cli(['probe', url, '--login-path', '/api/login', '--login-json', '{"username":"ann"}', '--path', '/api/me', '--no-color']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /HIGH +KW001/);
    assert.match(r.stdout, /✖ \d+ problems/);
    assert.ok(!r.stdout.includes(apiKey));
  });

  test('request budget is enforced', async () => {
    const result = await probe({ url, login: { path: '/api/login', body: {} }, paths: ['/api/me', '/a', '/b'], maxRequests: 2 });
    assert.equal(result.requests, 2);
    assert.ok(result.notes.some((n) => /budget/.test(n)));
  });

  test('only the given origin', async () => {
    await assert.rejects(probe({ url, paths: ['http://example.com/'] }), /only talks to the URL given/);
    await assert.rejects(probe({ url, login: { path: '//evil.example/login', body: {} } }), /only talks to the URL given/);
  });
});

describe('keyward probe against a hardened server', () => {
  let server: Server;
  let url = '';
  before(async () => {
    server = createHttpServer((req, res) => {
      const sid = randomBytes(32).toString('base64url');
      res.setHeader('Set-Cookie', [`__Host-sid=${sid}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=1800`, 'theme=dark; Path=/; SameSite=Lax']);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, path: req.url, configured: true, last4: 'a1b2' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('comes back clean', async () => {
    const result = await probe({ url, paths: ['/api/me'] });
    assert.deepEqual(result.findings, []);
    const r = await cli(['probe', url, '--format', 'json']);
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).summary.total, 0);
  });

  test('an unreachable app is an error (exit 2), not a clean bill', async () => {
    const port = await freePort();
    const r = await cli(['probe', `http://127.0.0.1:${port}/`, '--timeout', '3000']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /could not reach/);
  });
});
