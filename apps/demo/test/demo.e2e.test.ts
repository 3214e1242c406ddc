import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './support/ports.js';

const DEMO_MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const UPSTREAM_MAIN = fileURLToPath(new URL('../../../demo-upstream/dist/src/main.js', import.meta.url));
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;

// ------------------------------------------------------------------------------ helpers


interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
  setCookies: string[];
}

/**
 * A browser-like client: keeps cookies, and sends `X-CSRF: 1` and the app's own Origin on
 * every state-changing request, as the demo's page does.
 */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  get cookie(): string | undefined {
    return this.jar.get('sid');
  }

  async send(method: string, path: string, init: { json?: unknown; raw?: string; cookie?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...init.headers };
    if (!['GET', 'HEAD'].includes(method)) Object.assign(headers, { 'x-csrf': '1', origin: this.base }, init.headers);
    const cookie = init.cookie ?? [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.json !== undefined || init.raw !== undefined) {
      body = init.raw ?? JSON.stringify(init.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const [pair, ...attrs] = sc.split(';');
      const name = pair!.slice(0, pair!.indexOf('=')).trim();
      const value = pair!.slice(pair!.indexOf('=') + 1).trim();
      if (value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text, setCookies };
  }

  get(path: string, init?: { cookie?: string }): Promise<Reply> {
    return this.send('GET', path, init);
  }
  post(path: string, json?: unknown, init?: { cookie?: string; raw?: string; headers?: Record<string, string> }): Promise<Reply> {
    return this.send('POST', path, { ...init, json });
  }
  delete(path: string, init?: { cookie?: string }): Promise<Reply> {
    return this.send('DELETE', path, init);
  }
  async login(username: string, password: string): Promise<Reply> {
    return this.post('/api/auth/login', { username, password });
  }
}

/** A child process of the suite's own, with its output kept for the leak checks. */
class Proc {
  out = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Stops the process by its PID and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(this.child.pid!, 'SIGTERM');
    const timer = setTimeout(() => this.child.exitCode === null && process.kill(this.child.pid!, 'SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

const children: Proc[] = [];
const outputs: string[] = [];

/** A clean environment: nothing from the runner's NODE_ENV, REDIS_URL or KEYWARD_* leaks in. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_ENV' || k === 'REDIS_URL' || k.startsWith('KEYWARD_') || k.startsWith('DEMO_') || k === 'PORT' || k === 'UPSTREAM_PORT' || k === 'HOST') continue;
    base[k] = v;
  }
  return { ...base, HOST: '127.0.0.1', ...extra };
}

function launch(main: string, vars: Record<string, string>): Proc {
  const p = new Proc(spawn(process.execPath, [main], { env: env(vars), stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(p);
  return p;
}

async function waitHealthy(url: string, proc: Proc): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode}:\n${proc.out}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${url} not healthy within 20 s:\n${proc.out}`);
}

/** Runs the demo to completion (it is expected to refuse to start). */
async function runToExit(vars: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const p = launch(DEMO_MAIN, vars);
  const timer = setTimeout(() => p.child.exitCode === null && process.kill(p.child.pid!, 'SIGKILL'), 20_000);
  const code = await p.exited;
  clearTimeout(timer);
  outputs.push(p.out);
  return { code, out: p.out };
}

// ------------------------------------------------------------------------------ the suite

const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-e2e-'));
const upstreamKey = randomBytes(32).toString('base64url');
const adminToken = randomBytes(32).toString('base64url');
let upstreamPort: number;
let upstream: Proc;
let demo: Proc;
let url: string;
let demoVars: Record<string, string>;
const seenCookies = new Set<string>();

function remember(b: Browser): void {
  if (b.cookie) seenCookies.add(b.cookie);
}

async function startDemo(): Promise<void> {
  demo = launch(DEMO_MAIN, demoVars);
  await waitHealthy(url, demo);
}

const weak = 'change-this-to-a-secure-random-value';
const vaultKey = `k1:${randomBytes(32).toString('base64')}`;
let refusals: { noSecrets: Promise<{ code: number | null; out: string }>; weakSecret: Promise<{ code: number | null; out: string }> };

before(async () => {
  upstreamPort = await freePort();
  // The two runs that must refuse to start go on in the background meanwhile.
  const prodBase = (): Record<string, string> => ({
    NODE_ENV: 'production',
    PORT: '0',
    UPSTREAM_PORT: String(upstreamPort),
    KEYWARD_DATA_DIR: join(dataDir, `prod-${randomBytes(3).toString('hex')}`),
    DEMO_UPSTREAM_KEY: upstreamKey,
    DEMO_UPSTREAM_ADMIN_TOKEN: adminToken,
  });
  refusals = {
    noSecrets: runToExit(prodBase()),
    weakSecret: runToExit({ ...prodBase(), KEYWARD_SESSION_SECRETS: weak, KEYWARD_VAULT_KEYS: vaultKey }),
  };
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  upstream = launch(UPSTREAM_MAIN, { UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: upstreamKey, DEMO_UPSTREAM_ADMIN_TOKEN: adminToken });
  await waitUpstream();
  demoVars = {
    PORT: String(port),
    UPSTREAM_PORT: String(upstreamPort),
    KEYWARD_DATA_DIR: dataDir,
    DEMO_UPSTREAM_KEY: upstreamKey,
    DEMO_UPSTREAM_ADMIN_TOKEN: adminToken,
  };
  await startDemo();
});

async function waitUpstream(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (upstream.child.exitCode !== null) throw new Error(`upstream exited:\n${upstream.out}`);
    try {
      await fetch(`http://127.0.0.1:${upstreamPort}/internal/marker`);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`upstream not up:\n${upstream.out}`);
}

after(async () => {
  for (const p of children) {
    await p.stop();
    outputs.push(p.out);
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('demo app: auth and session routes (DEMO-CONTRACT)', () => {
  it('GET /healthz is 200 {"status":"ok"} without a cookie', async () => {
    const r = await new Browser(url).get('/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok' });
    assert.deepEqual(r.setCookies, []);
  });

  it('login: 200 {"user":{"name"}} and an HttpOnly, SameSite=Strict session cookie holding only id.sig', async () => {
    const b = new Browser(url);
    const r = await b.login('alice', 'alice-password');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { user: { name: 'alice' } });
    assert.equal(r.setCookies.length, 1);
    assert.match(r.setCookies[0]!, /^sid=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.match(b.cookie!, COOKIE_VALUE);
    assert.ok(!r.text.includes(b.cookie!));
    remember(b);
    const s = await b.get('/api/auth/session');
    assert.equal(s.status, 200);
    assert.deepEqual(s.body.user, { name: 'alice' });
  });

  it('unknown user and wrong password: 401 with the same body, no cookie', async () => {
    const wrong = await new Browser(url).login('alice', 'not-her-password');
    const unknown = await new Browser(url).login('mallory', 'alice-password');
    for (const r of [wrong, unknown]) {
      assert.equal(r.status, 401);
      assert.deepEqual(r.setCookies, []);
      assert.equal(typeof r.body.error, 'string');
      assert.ok(!r.text.includes('alice-password') && !r.text.includes('mallory'), 'input not echoed');
    }
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    assert.deepEqual(strip(wrong.body), strip(unknown.body), 'identical bodies (apart from a per-request id)');
  });

  it('bad JSON, missing or wrongly typed fields: 400 JSON {error, code}, never 500, no cookie', async () => {
    const b = new Browser(url);
    const cases: Array<[string, { raw?: string; json?: unknown }]> = [
      ['malformed JSON', { raw: '{"username": "alice", "password": ' }],
      ['not JSON at all', { raw: 'username=alice&password=alice-password' }],
      ['empty object', { json: {} }],
      ['missing password', { json: { username: 'alice' } }],
      ['missing username', { json: { password: 'alice-password' } }],
      ['numbers', { json: { username: 1, password: 2 } }],
      ['arrays', { json: { username: ['alice'], password: ['alice-password'] } }],
      ['a JSON array', { json: [] }],
      ['JSON null', { raw: 'null' }],
      ['empty strings', { json: { username: '', password: '' } }],
      ['oversized username', { json: { username: 'a'.repeat(5000), password: 'x' } }],
    ];
    for (const [name, init] of cases) {
      const r = await b.send('POST', '/api/auth/login', init);
      assert.equal(r.status, 400, `${name}: ${r.status} ${r.text}`);
      assert.equal(typeof r.body?.error, 'string', `${name}: JSON error`);
      assert.equal(typeof r.body?.code, 'string', `${name}: stable code`);
      assert.deepEqual(r.setCookies, [], name);
      assert.ok(!r.text.includes('alice-password'), `${name}: input not echoed`);
    }
  });

  it('GET /api/auth/session: 401 anonymous; 200 with ISO 8601 expiry times when logged in', async () => {
    const anon = await new Browser(url).get('/api/auth/session');
    assert.equal(anon.status, 401);
    assert.equal(typeof anon.body.code, 'string');
    const b = new Browser(url);
    await b.login('bob', 'bob-password');
    remember(b);
    const r = await b.get('/api/auth/session');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.user, { name: 'bob' });
    for (const field of ['expiresAt', 'absoluteExpiresAt']) {
      assert.match(r.body[field], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, field);
      assert.ok(Date.parse(r.body[field]) > Date.now(), `${field} in the future`);
    }
    assert.ok(Date.parse(r.body.expiresAt) <= Date.parse(r.body.absoluteExpiresAt));
  });

  it('sessions list: public handles (never the cookie), one current; revoke ends that session on its next request', async () => {
    const laptop = new Browser(url);
    const phone = new Browser(url);
    await laptop.login('alice', 'alice-password');
    await phone.login('alice', 'alice-password');
    remember(laptop);
    remember(phone);
    const list = await laptop.get('/api/auth/sessions');
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.body) && list.body.length >= 2);
    for (const s of list.body) {
      for (const k of ['id', 'createdAt', 'lastSeenAt', 'current']) assert.ok(k in s, k);
      assert.match(s.createdAt, /Z$/);
      for (const cookie of [laptop.cookie!, phone.cookie!]) {
        assert.notEqual(s.id, cookie);
        assert.ok(!cookie.includes(s.id) && !s.id.includes(cookie.slice(0, 43)));
      }
    }
    for (const cookie of [laptop.cookie!, phone.cookie!]) assert.ok(!list.text.includes(cookie.slice(0, 43)) && !list.text.includes(cookie.slice(44)));
    assert.equal(list.body.filter((s: { current: boolean }) => s.current).length, 1);
    const phoneHandle = (await phone.get('/api/auth/sessions')).body.find((s: { current: boolean }) => s.current).id;

    const revoke = await laptop.delete(`/api/auth/sessions/${encodeURIComponent(phoneHandle)}`);
    assert.equal(revoke.status, 204);
    assert.equal((await phone.get('/api/auth/session')).status, 401);
    assert.equal((await laptop.get('/api/auth/session')).status, 200);
    const unknown = await laptop.delete('/api/auth/sessions/not-a-handle');
    assert.equal(unknown.status, 404);
  });

  it('logout: 204, cookie cleared; the old cookie never works again', async () => {
    const b = new Browser(url);
    await b.login('bob', 'bob-password');
    remember(b);
    const cookie = b.cookie!;
    const r = await b.post('/api/auth/logout');
    assert.equal(r.status, 204);
    assert.match(r.setCookies.join('\n'), /^sid=; Max-Age=0/m);
    assert.equal(b.cookie, undefined);
    const replay = await b.get('/api/auth/session', { cookie: `sid=${cookie}` });
    assert.equal(replay.status, 401);
    assert.ok(!replay.text.includes(cookie));
  });

  it("logout-all: 204; every session of that user ends, other users' survive", async () => {
    const [a1, a2, bob] = [new Browser(url), new Browser(url), new Browser(url)];
    await a1.login('alice', 'alice-password');
    await a2.login('alice', 'alice-password');
    await bob.login('bob', 'bob-password');
    [a1, a2, bob].forEach(remember);
    const a1Cookie = a1.cookie!;
    const r = await a1.post('/api/auth/logout-all');
    assert.equal(r.status, 204);
    assert.equal((await a1.get('/api/auth/session', { cookie: `sid=${a1Cookie}` })).status, 401);
    assert.equal((await a2.get('/api/auth/session')).status, 401);
    assert.equal((await bob.get('/api/auth/session')).status, 200);
  });

  it('state-changing requests without X-CSRF or from a foreign origin are refused, and log nobody out', async () => {
    const b = new Browser(url);
    await b.login('bob', 'bob-password');
    remember(b);
    const refusals: Array<Record<string, string>> = [{ 'x-csrf': '' }, { origin: 'https://evil.example' }];
    for (const headers of refusals) {
      const r = await b.post('/api/auth/logout', undefined, { headers });
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.status} ${r.text}`);
    }
    assert.equal((await b.get('/api/auth/session')).status, 200);
  });

  it('sessions survive a demo restart (embedded store, same data dir)', async () => {
    const b = new Browser(url);
    await b.login('alice', 'alice-password');
    remember(b);
    const before = (await b.get('/api/auth/session')).body;
    await demo.stop();
    outputs.push(demo.out);
    await startDemo();
    const r = await b.get('/api/auth/session');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.user, { name: 'alice' });
    assert.equal(r.body.absoluteExpiresAt, before.absoluteExpiresAt);
    assert.equal((await b.post('/api/auth/logout')).status, 204);
  });
});

describe('demo app: production refusals', () => {
  it('NODE_ENV=production without secrets: exits non-zero, naming KEYWARD_SESSION_SECRETS', async () => {
    const { code, out } = await refusals.noSecrets;
    assert.notEqual(code, 0, out);
    assert.match(out, /KEYWARD_SESSION_SECRETS/);
  });

  it('NODE_ENV=production with a weak (placeholder) secret: refused, and the secret is not printed', async () => {
    const { code, out } = await refusals.weakSecret;
    assert.notEqual(code, 0, out);
    assert.match(out, /session\.secrets\[0\]/);
    assert.match(out, /placeholder/);
    assert.ok(!out.includes(weak), 'the weak secret is not echoed');
    assert.ok(!out.includes(vaultKey.slice(3)), 'the vault key is not echoed');
  });
});

describe('demo app: logs', () => {
  it('stdout/stderr never contain a cookie value, a session ID or the session secret', async () => {
    await demo.stop();
    outputs.push(demo.out);
    const devSecrets = JSON.parse(readFileSync(join(dataDir, 'dev-secrets.json'), 'utf8')) as { sessionSecrets: string[]; vaultKeys: string[] };
    const all = [...outputs, upstream.out].join('\n');
    assert.ok(all.length > 0 && /listening/i.test(all), 'the demo did log something');
    assert.ok(seenCookies.size >= 8, `cookies collected: ${seenCookies.size}`);
    for (const cookie of seenCookies) {
      assert.ok(!all.includes(cookie), 'no cookie value in the logs');
      assert.ok(!all.includes(cookie.slice(0, 43)), 'no session ID in the logs');
      assert.ok(!all.includes(cookie.slice(44)), 'no signature in the logs');
    }
    for (const s of devSecrets.sessionSecrets) assert.ok(!all.includes(s), 'no session secret in the logs');
    for (const k of devSecrets.vaultKeys) assert.ok(!all.includes(k.slice(k.indexOf(':') + 1)), 'no vault key in the logs');
    assert.ok(!all.includes(upstreamKey) && !all.includes(adminToken), 'no upstream key or admin token in the logs');
  });
});
