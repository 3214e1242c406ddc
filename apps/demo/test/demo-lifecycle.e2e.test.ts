/**
 * Issue 17 in the reference app, over real processes on both adapters: the session
 * lifecycle variables (KEYWARD_ID_ROTATE_MS, KEYWARD_ID_ROTATE_GRACE_MS,
 * KEYWARD_MAX_SESSIONS_PER_USER), the security events on stdout (JSON lines with an
 * "event" field, never a cookie, session ID or password), and the login rate limit (429
 * with Retry-After).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadDemoConfig } from '../src/config/demo-config.js';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const ROTATE_MS = 2500;
const GRACE_MS = 1000;

interface Answer {
  status: number;
  headers: Headers;
  json: any;
  text: string;
  cookie: string | undefined;
}

async function call(base: string, method: string, path: string, cookie?: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { 'x-csrf': '1', origin: base };
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const set = res.headers.getSetCookie().find((c) => !/max-age=0/i.test(c));
  return { status: res.status, headers: res.headers, json, text, cookie: set?.split(';')[0] };
}

/** The security events the demo printed: JSON lines with an "event" field. */
function eventsIn(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return null;
      }
    })
    .filter((e): e is Record<string, unknown> => e !== null && typeof e.event === 'string');
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo session lifecycle over real processes (${adapter})`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-life-${adapter}-`));
    let upstream: Child;
    let demo: Child;
    let base: string;
    /** Every cookie value handed out: none may appear in the log. */
    const cookies: string[] = [];
    const login = async (username: string, password = `${username}-password`): Promise<Answer> => {
      const r = await call(base, 'POST', '/api/auth/login', undefined, { username, password });
      if (r.cookie) cookies.push(r.cookie.slice(r.cookie.indexOf('=') + 1));
      return r;
    };

    before(async () => {
      const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
      base = `http://127.0.0.1:${port}`;
      const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: `life_${randomBytes(24).toString('base64url')}`, DEMO_UPSTREAM_ADMIN_TOKEN: `adm_${randomBytes(24).toString('base64url')}` };
      upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`http://127.0.0.1:${upstreamPort}/internal/none`));
      demo = await Child.start(
        'demo',
        DEMO_MAIN,
        cleanEnv({
          ...env,
          PORT: String(port),
          KEYWARD_DATA_DIR: dataDir,
          KEYWARD_ADAPTER: adapter,
          KEYWARD_ID_ROTATE_MS: String(ROTATE_MS),
          KEYWARD_ID_ROTATE_GRACE_MS: String(GRACE_MS),
          KEYWARD_MAX_SESSIONS_PER_USER: '2',
        }),
        () => answers200(`${base}/healthz`),
        40_000,
      );
    });
    after(async () => {
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('KEYWARD_MAX_SESSIONS_PER_USER: the third login ends the oldest session and says so', async () => {
      const first = await login('alice');
      const second = await login('alice');
      assert.deepEqual(first.json, { user: { name: 'alice' } }, 'the contract\'s body when nothing ended');
      assert.deepEqual(second.json, { user: { name: 'alice' } });
      const third = await login('alice');
      assert.equal(third.status, 200);
      assert.equal(third.json.endedSessions.length, 1);
      assert.match(third.json.endedSessions[0].createdAt, ISO);
      assert.equal((await call(base, 'GET', '/api/auth/session', first.cookie)).status, 401, 'the oldest ended');
      assert.equal((await call(base, 'GET', '/api/auth/session', second.cookie)).status, 200);
      assert.equal((await call(base, 'GET', '/api/auth/sessions', third.cookie)).json.length, 2);
    });

    it('KEYWARD_ID_ROTATE_MS / _GRACE_MS: a new ID after the interval, the old one works in the grace, then ends the session', async () => {
      const start = await login('bob');
      const before = await call(base, 'GET', '/api/auth/session', start.cookie);
      assert.equal(before.json.rotatedAt, null);
      assert.equal(before.cookie, undefined);
      const minted = await call(base, 'GET', '/api/proxy/demo-session/echo', start.cookie);
      assert.equal(minted.status, 200, minted.text);
      await sleep(ROTATE_MS + 200);
      const rotated = await call(base, 'GET', '/api/auth/session', start.cookie);
      assert.equal(rotated.status, 200);
      assert.ok(rotated.cookie && rotated.cookie !== start.cookie, 'a new cookie');
      cookies.push(rotated.cookie.slice(rotated.cookie.indexOf('=') + 1));
      assert.match(rotated.json.rotatedAt, ISO);
      const after = await call(base, 'GET', '/api/proxy/demo-session/echo', rotated.cookie);
      assert.equal(after.status, 200, after.text);
      assert.equal(after.json.keyId, minted.json.keyId, 'the minted key carried over to the new ID (vault entry re-bound, not re-minted)');
      const tab = await call(base, 'GET', '/api/auth/session', start.cookie);
      assert.equal(tab.status, 200, 'the previous ID works within the grace');
      assert.equal(tab.cookie, rotated.cookie, 'and gets the successor cookie');
      await sleep(GRACE_MS + 300);
      assert.equal((await call(base, 'GET', '/api/auth/session', start.cookie)).status, 401, 'the previous ID after the grace');
      assert.equal((await call(base, 'GET', '/api/auth/session', rotated.cookie)).status, 401, 'ended the whole session');
    });

    it('failed logins for one username: 401 five times, then 429 with Retry-After (even with the right password)', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await login('bob', `wrong-${i}`);
        assert.equal(r.status, 401);
        assert.equal(r.json.code, 'KW_LOGIN_FAILED');
      }
      const limited = await login('bob', `wrong-again`);
      assert.equal(limited.status, 429);
      assert.equal(limited.json.code, 'KW_LOGIN_RATE_LIMITED');
      assert.equal(typeof limited.json.error, 'string');
      const retry = Number(limited.headers.get('retry-after'));
      assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 300, `Retry-After ${limited.headers.get('retry-after')}`);
      assert.equal((await login('bob')).status, 429, 'the right password is refused while blocked');
      assert.equal((await login('alice')).status, 200, 'another username is not blocked');
    });

    it('security events on stdout: JSON lines with "event", the lifecycle covered, no cookie, session ID or password', async () => {
      await sleep(200);
      const events = eventsIn(demo.output);
      const names = new Set(events.map((e) => e.event));
      for (const n of ['session.created', 'session.rotated', 'session.ended', 'login.failed', 'credential.minted', 'credential.revoked']) assert.ok(names.has(n), `${n} in ${[...names].join(', ')}`);
      const reasons = new Set(events.filter((e) => e.event === 'session.ended').map((e) => e.reason));
      assert.ok(reasons.has('cap'), 'cap');
      assert.ok(reasons.has('reuse'), 'reuse');
      const failed = events.filter((e) => e.event === 'login.failed');
      assert.ok(failed.some((e) => e.reason === 'rate-limited'));
      assert.ok(failed.every((e) => typeof e.userRef === 'string' && e.userRef !== 'bob'));
      for (const e of events) assert.match(String(e.time ?? e.at), /^\d{4}-|^\d+$/);
      for (const c of cookies) {
        assert.ok(!demo.output.includes(c), 'a cookie value in the log');
        assert.ok(!demo.output.includes(c.slice(0, 43)), 'a session ID in the log');
      }
      for (const secret of ['bob-password', 'alice-password', 'wrong-again']) assert.ok(!demo.output.includes(secret), 'a password in the log');
    });

    it('failed logins from one client with many usernames: 401 up to the 20th failure, 429 from the next (password spraying)', async () => {
      // This client's failures so far (earlier tests of this block), counted from the app's own events.
      await sleep(100);
      const prior = eventsIn(demo.output).filter((e) => e.event === 'login.failed' && e.reason === 'bad-credentials').length;
      assert.ok(prior >= 5 && prior < 20, `${prior} earlier failures from this client`);
      for (let n = prior + 1; n <= 20; n++) {
        const r = await login(`spray-${n}`, 'guess');
        assert.equal(r.status, 401, `failure ${n} of 20 is still answered 401`);
      }
      const limited = await login('spray-21', 'guess');
      assert.equal(limited.status, 429, 'the attempt after the 20th failure');
      assert.equal(limited.json.code, 'KW_LOGIN_RATE_LIMITED');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.equal((await login('alice')).status, 429, 'this client is blocked for every username');
    });
  });
}

describe('demo lifecycle variables are validated like the others', () => {
  it('defaults: rotation as the library, grace as the library, 10 sessions per user', () => {
    const c = loadDemoConfig({ KEYWARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'kw-demo-cfg-')) });
    assert.equal(c.idRotateMs, undefined);
    assert.equal(c.idRotateGraceMs, undefined);
    assert.equal(c.maxSessionsPerUser, 10);
  });

  it("accepts numbers and 'off'; refuses junk, zero and fractions, naming each variable", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-demo-cfg-'));
    const ok = loadDemoConfig({ KEYWARD_DATA_DIR: dir, KEYWARD_ID_ROTATE_MS: '60000', KEYWARD_ID_ROTATE_GRACE_MS: '5000', KEYWARD_MAX_SESSIONS_PER_USER: '3' });
    assert.deepEqual([ok.idRotateMs, ok.idRotateGraceMs, ok.maxSessionsPerUser], [60000, 5000, 3]);
    assert.equal(loadDemoConfig({ KEYWARD_DATA_DIR: dir, KEYWARD_ID_ROTATE_MS: 'off' }).idRotateMs, false);
    assert.throws(
      () => loadDemoConfig({ KEYWARD_DATA_DIR: dir, KEYWARD_ID_ROTATE_MS: 'soon', KEYWARD_ID_ROTATE_GRACE_MS: '-1', KEYWARD_MAX_SESSIONS_PER_USER: '0' }),
      (e: Error) => /KEYWARD_ID_ROTATE_MS/.test(e.message) && /KEYWARD_ID_ROTATE_GRACE_MS/.test(e.message) && /KEYWARD_MAX_SESSIONS_PER_USER/.test(e.message),
    );
    assert.throws(() => loadDemoConfig({ KEYWARD_DATA_DIR: dir, KEYWARD_MAX_SESSIONS_PER_USER: '2.5' }), /KEYWARD_MAX_SESSIONS_PER_USER/);
  });

  it('the real process refuses a grace not shorter than the rotation, with the option and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-demo-cfg-'));
    try {
      const port = await freePort();
      const child = spawn(process.execPath, [DEMO_MAIN], {
        env: cleanEnv({ HOST: '127.0.0.1', PORT: String(port), KEYWARD_DATA_DIR: dir, KEYWARD_ID_ROTATE_MS: '5000', KEYWARD_ID_ROTATE_GRACE_MS: '9000' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.notEqual(code, 0);
      assert.match(output, /session\.rotateGraceMs/);
      assert.match(output, /shorter than session\.rotateEveryMs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
