/**
 * Security review, issue 13 (points 1, 2 and 12) against the real demo and the real demo
 * upstream as child processes, on both adapters: the key routes' body limit and
 * validation, what a refused key does to later log lines, and the trial-key route.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, cleanEnv, freePort, responds } from './support/processes.js';

interface Reply {
  status: number;
  body: any;
  text: string;
}

/** A logged-in page of the demo: keeps its cookie, sends `X-CSRF: 1` and the app's own Origin. */
class Page {
  cookie = '';
  constructor(readonly base: string) {}
  async send(method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
    const headers: Record<string, string> = { 'x-csrf': '1', origin: this.base };
    if (this.cookie) headers.cookie = this.cookie;
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, body: payload, redirect: 'manual' });
    const text = await res.text();
    for (const sc of res.headers.getSetCookie()) {
      const pair = sc.split(';')[0]!;
      this.cookie = /=\s*$/.test(pair) || /max-age=0/i.test(sc) ? '' : pair;
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  }
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo key routes hardening (${adapter}, real demo + real upstream processes)`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-keys-hard-${adapter}-`));
    const serverKey = `demo_srv_${randomBytes(24).toString('base64url')}`;
    const adminToken = `demo_admin_${randomBytes(24).toString('base64url')}`;
    let upstream: Child;
    let demo: Child;
    let upstreamUrl: string;
    let demoUrl: string;
    let page: Page;

    const stats = async (): Promise<{ minted: number; revoked: number; active: number }> => {
      const res = await fetch(`${upstreamUrl}/admin/stats`, { headers: { authorization: `Bearer ${adminToken}` } });
      return (await res.json()) as { minted: number; revoked: number; active: number };
    };
    const waitFor = async (cond: () => Promise<boolean>, what: string): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    before(async () => {
      const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
      upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
      demoUrl = `http://127.0.0.1:${port}`;
      const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: serverKey, DEMO_UPSTREAM_ADMIN_TOKEN: adminToken };
      upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`${upstreamUrl}/internal/none`));
      demo = await Child.start('demo', DEMO_MAIN, cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter }), () => responds(`${demoUrl}/healthz`), 40_000);
      page = new Page(demoUrl);
      const login = await page.send('POST', '/api/auth/login', { username: 'alice', password: 'alice-password' });
      assert.equal(login.status, 200, login.text);
    });
    after(async () => {
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('regression 13.1: a key request with an oversized body is refused 413 KW_BODY_TOO_LARGE and stores nothing', async () => {
      const key = `sk_padded_${randomBytes(18).toString('base64url')}`;
      for (const size of [20_000, 90_000, 900_000]) {
        const r = await page.send('PUT', '/api/keys/demo-byok', undefined, JSON.stringify({ key, pad: 'p'.repeat(size) }));
        assert.equal(r.status, 413, `${size} bytes: ${r.status} ${r.text.slice(0, 200)}`);
        assert.match(r.body.code, size > 100_000 && adapter === 'express' ? /^KW_(BODY_TOO_LARGE|HTTP_413)$/ : /^KW_BODY_TOO_LARGE$/);
        assert.ok(!r.text.includes(key));
      }
      assert.deepEqual((await page.send('GET', '/api/keys')).body, [], 'an oversized request stored a key');
    });

    it('regression 13.1: a refused key does not make later log text vanish (no [REDACTED] in a route log line)', async () => {
      const marker = ` /healthz 200`;
      const r = await page.send('PUT', '/api/keys/demo-byok', { key: marker });
      assert.equal(r.status, 400, r.text);
      const before = demo.output.length;
      const health = await fetch(`${demoUrl}/healthz`);
      assert.equal(health.status, 200);
      const id = health.headers.get('x-request-id')!;
      await waitFor(async () => demo.output.slice(before).includes(id), 'the request log line');
      const line = demo.output.slice(before).split('\n').find((l) => l.includes(id))!;
      assert.match(line, /GET \/healthz 200/, `the log line lost its text: ${line}`);
    });

    it('regression 13.2: a key too short to scrub is refused 400 with a clear message; nothing is stored', async () => {
      for (const key of ['abc1234', 'sk_1234567']) {
        const r = await page.send('PUT', '/api/keys/demo-byok', { key });
        assert.equal(r.status, 400, `${key.length} characters: ${r.status}`);
        assert.equal(r.body.code, 'KW_INVALID_ARGUMENT');
        assert.match(r.body.error, /at least 16 characters/);
        assert.ok(!r.text.includes(key));
      }
      assert.deepEqual((await page.send('GET', '/api/keys')).body, []);
    });

    it('regression 12: a new trial key revokes the one it replaces, and trial keys per session are bounded (429 KW_TRIAL_KEY_LIMIT)', async () => {
      const p = new Page(demoUrl);
      assert.equal((await p.send('POST', '/api/auth/login', { username: 'bob', password: 'bob-password' })).status, 200);
      await new Promise((r) => setTimeout(r, 200)); // the session's own minted key, issued at login
      const start = await stats();
      let issued = 0;
      for (;;) {
        const r = await p.send('POST', '/api/demo/trial-key');
        if (r.status === 429) {
          assert.equal(r.body.code, 'KW_TRIAL_KEY_LIMIT');
          break;
        }
        assert.equal(r.status, 204, r.text);
        issued++;
        assert.ok(issued <= 10, 'trial keys are not bounded per session');
      }
      assert.ok(issued >= 2, `only ${issued} trial key(s) allowed`);
      await waitFor(async () => (await stats()).active === start.active + 1, 'the replaced trial keys to be revoked');
      const end = await stats();
      assert.equal(end.minted - start.minted, issued);
      assert.equal(end.active - start.active, 1, 'replaced trial keys are still active at the upstream');
      const list = await p.send('GET', '/api/keys');
      assert.equal(list.body.length, 1);
      const own = await p.send('GET', '/api/proxy/demo-byok/echo');
      assert.equal(own.status, 200, 'the last trial key works');
    });

    it('regression 12: with the upstream down, POST /api/demo/trial-key is 503 KW_CREDENTIAL_UNAVAILABLE (not 500)', async () => {
      const p = new Page(demoUrl);
      assert.equal((await p.send('POST', '/api/auth/login', { username: 'alice', password: 'alice-password' })).status, 200);
      await upstream.stop();
      const r = await p.send('POST', '/api/demo/trial-key');
      assert.equal(r.status, 503, r.text);
      assert.equal(r.body.code, 'KW_CREDENTIAL_UNAVAILABLE');
      assert.equal(typeof r.body.error, 'string');
      assert.equal(demo.process.exitCode, null, 'the demo died');
    });
  });
}
