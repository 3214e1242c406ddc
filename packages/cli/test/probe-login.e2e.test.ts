/**
 * Issue 22, point 2: `keyward probe` could not log in to a Keyward app without `--header` flags
 * (the login went out without `X-CSRF: 1`, an `Origin` and `Sec-Fetch-Site`, so the origin guard
 * answered 403) and exited 0 when its login failed, so every check ran without a session and the
 * run passed for a clean bill. Against the real demo (real demo + upstream processes), on both
 * adapters: `--user` logs in out of the box; a failed login is exit 2 with the reason.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, type CliIo } from '../src/cli.js';
import { freePort } from './support/redis-server.js';

const DEMO_MAIN = fileURLToPath(new URL('../../../../apps/demo/dist/src/main.js', import.meta.url));
const UPSTREAM_MAIN = fileURLToPath(new URL('../../../../apps/demo-upstream/dist/src/main.js', import.meta.url));
const PASSWORD = 'alice-password'; // the demo's development user

/** A child process of this file, its output kept; started when `ready` answers, stopped by its PID. */
class Proc {
  output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
  }
  static async start(script: string, env: NodeJS.ProcessEnv, ready: string): Promise<Proc> {
    const p = new Proc(spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      if (p.child.exitCode !== null) throw new Error(`${script} exited during start:\n${p.output}`);
      const up = await fetch(ready, { signal: AbortSignal.timeout(2000) }).then((r) => r.status < 500, () => false);
      if (up) return p;
      await new Promise((r) => setTimeout(r, 100));
    }
    await p.stop();
    throw new Error(`${script} was not ready:\n${p.output}`);
  }
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }
}

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (['NODE_ENV', 'REDIS_URL', 'PORT', 'UPSTREAM_PORT', 'HOST'].includes(k) || k.startsWith('KEYWARD_') || k.startsWith('DEMO_')) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', HOST: '127.0.0.1', ...extra };
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env, cwd: process.cwd() };
  return { code: await runCli(args, io), stdout, stderr };
}

const sessionsCreated = (log: string): number => log.split('\n').filter((l) => l.includes('"event":"session.created"')).length;

for (const adapter of ['express', 'fastify'] as const) {
  describe(`keyward probe logs in to the Keyward demo (${adapter})`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-cli-probe-${adapter}-`));
    let upstream: Proc | undefined;
    let demo: Proc | undefined;
    let url = '';

    before(async () => {
      const [port, upstreamPort] = await Promise.all([freePort(), freePort()]);
      url = `http://127.0.0.1:${port}/`;
      const env = { UPSTREAM_PORT: String(upstreamPort) };
      upstream = await Proc.start(UPSTREAM_MAIN, baseEnv(env), `http://127.0.0.1:${upstreamPort}/internal/none`);
      demo = await Proc.start(DEMO_MAIN, baseEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter }), `${url}healthz`);
    });
    after(async () => {
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('--user logs in with no --header flag: the session is created and the checks run with it', async () => {
      const before = sessionsCreated(demo!.output);
      const r = await cli(['probe', url, '--user', 'alice', '--path', '/api/auth/session', '--format', 'json'], { KEYWARD_LOGIN_PASSWORD: PASSWORD });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const body = JSON.parse(r.stdout) as { summary: { requests: number; bySeverity: Record<string, number> } };
      assert.ok(body.summary.requests >= 3);
      assert.equal(body.summary.bySeverity['high'], 0);
      await new Promise((r) => setTimeout(r, 200)); // the log line may trail the answer
      assert.equal(sessionsCreated(demo!.output), before + 1, 'the demo logged one new session');
      assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD));
    });

    test('the explicit form works the same: --login-path and --login-json', async () => {
      const r = await cli(['probe', url, '--login-path', '/api/auth/login', '--login-json', JSON.stringify({ username: 'bob', password: 'bob-password' })]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /no problems found/);
    });

    test('a wrong password is exit 2 with the reason, never the password', async () => {
      const r = await cli(['probe', url, '--user', 'alice', '--password-env', 'PW'], { PW: 'not-her-password' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /login failed: POST \/api\/auth\/login answered 401 KW_LOGIN_FAILED: check the user name and password; no check ran/);
      assert.equal(r.stdout, '', 'no report that could pass for a clean bill');
      assert.ok(!r.stderr.includes('not-her-password'));
    });

    test('a login the origin/CSRF guard refuses is exit 2 naming the code and the fix', async () => {
      const r = await cli(['probe', url, '--user', 'alice', '--csrf-header', 'none'], { KEYWARD_LOGIN_PASSWORD: PASSWORD });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /answered 403 KW_[A-Z_]+: the app's origin\/CSRF guard refused it: give the header it asks for with --csrf-header/);
    });

    test('a login path that is not there is exit 2', async () => {
      const r = await cli(['probe', url, '--user', 'alice', '--login-path', '/api/nope'], { KEYWARD_LOGIN_PASSWORD: PASSWORD });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /login failed: POST \/api\/nope answered 40\d/);
    });
  });
}

describe('keyward probe: a login that answers 2xx but sets no cookie', () => {
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('is exit 2: there is no session to probe with', async () => {
    const r = await cli(['probe', url, '--user', 'alice', '--password', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /answered 200 but set no cookie, so there is no session to probe with/);
  });

  test('usage: --user needs a password, a password needs --user, --user and --login-json exclude each other', async () => {
    const noPw = await cli(['probe', url, '--user', 'alice']);
    assert.equal(noPw.code, 2);
    assert.match(noPw.stderr, /KEYWARD_LOGIN_PASSWORD/);
    assert.equal((await cli(['probe', url, '--password', 'x'])).code, 2);
    assert.equal((await cli(['probe', url, '--user', 'a', '--password', 'x', '--login-json', '{}'])).code, 2);
    assert.equal((await cli(['probe', url, '--user', 'a', '--password', 'x', '--csrf-header', 'bad header'])).code, 2);
  });
});
