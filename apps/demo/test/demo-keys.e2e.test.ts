/**
 * The demo's key routes and proxy routes, end to end: the real demo app and the real demo
 * upstream as child processes (DEMO-CONTRACT), on both adapters.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, cleanEnv, freePort, responds } from './support/processes.js';

/** What the demo upstream's minted keys look like (`dk_live_` + 32 random bytes in base64url). */
const MINTED_KEY = /dk_live_[A-Za-z0-9_-]{20,}/;

interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** Every answer any test saw, headers and body, to search for keys at the end. */
const seen: string[] = [];

/** A page of the demo: keeps its cookie, always sends `X-CSRF: 1` and the app's own Origin. */
class Page {
  cookie = '';
  constructor(readonly base: string) {}
  async send(method: string, path: string, json?: unknown, extra: Record<string, string> = {}): Promise<Reply> {
    const headers: Record<string, string> = { 'x-csrf': '1', origin: this.base, ...extra };
    if (this.cookie) headers.cookie = this.cookie;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json), redirect: 'manual' });
    const text = await res.text();
    for (const sc of res.headers.getSetCookie()) {
      const pair = sc.split(';')[0]!;
      this.cookie = /=\s*$/.test(pair) || /max-age=0/i.test(sc) ? '' : pair;
    }
    seen.push(`${method} ${path} -> ${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body, text };
  }
  get(path: string, extra?: Record<string, string>): Promise<Reply> {
    return this.send('GET', path, undefined, extra);
  }
}

/** Raw, base64, base64url, hex, URL-encoded (and base64 at each byte offset inside a longer blob). */
function forms(value: string): string[] {
  const raw = Buffer.from(value, 'utf8');
  const out = new Set([value, encodeURIComponent(value), raw.toString('hex'), raw.toString('hex').toUpperCase()]);
  for (let shift = 0; shift < 3; shift++) {
    for (const enc of ['base64', 'base64url'] as const) {
      const s = Buffer.concat([Buffer.alloc(shift), raw]).toString(enc).replace(/=+$/, '');
      out.add(s.slice(Math.ceil((shift * 4) / 3), s.length - 2));
    }
  }
  return [...out].filter((f) => f.length >= 12);
}

function leaks(haystack: string, secrets: Record<string, string>): string[] {
  const hits: string[] = [];
  for (const [name, value] of Object.entries(secrets)) for (const f of forms(value)) if (haystack.includes(f)) hits.push(`${name} (${f === value ? 'raw' : 'encoded'})`);
  if (MINTED_KEY.test(haystack)) hits.push(`a minted key: ${MINTED_KEY.exec(haystack)![0].slice(0, 12)}…`);
  for (const f of forms('dk_live_').filter((x) => x.length >= 8)) if (haystack.includes(f) && f !== 'dk_live_') hits.push('an encoded minted-key prefix');
  return hits;
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo keys and proxy routes (${adapter}, real demo + real upstream processes)`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-keys-${adapter}-`));
    const serverKey = `demo_srv_${randomBytes(24).toString('base64url')}`;
    const adminToken = `demo_admin_${randomBytes(24).toString('base64url')}`;
    let upstream: Child;
    let demo: Child;
    let upstreamUrl: string;
    let demoUrl: string;
    const secrets: Record<string, string> = { DEMO_UPSTREAM_KEY: serverKey, DEMO_UPSTREAM_ADMIN_TOKEN: adminToken };

    const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const res = await fetch(upstreamUrl + path, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };

    before(async () => {
      const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
      upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
      demoUrl = `http://127.0.0.1:${port}`;
      const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: serverKey, DEMO_UPSTREAM_ADMIN_TOKEN: adminToken };
      upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`${upstreamUrl}/internal/none`));
      demo = await Child.start('demo', DEMO_MAIN, cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter }), () => responds(`${demoUrl}/healthz`), 40_000);
      // The development secrets the demo generated for itself must not leak either.
      const devFile = join(dataDir, 'dev-secrets.json');
      if (existsSync(devFile)) {
        const dev = JSON.parse(readFileSync(devFile, 'utf8')) as { sessionSecrets: string[]; vaultKeys: string[] };
        dev.sessionSecrets.forEach((s, i) => (secrets[`session secret ${i}`] = s));
        dev.vaultKeys.forEach((k, i) => (secrets[`vault key ${i}`] = k.slice(k.indexOf(':') + 1)));
      }
    });
    after(async () => {
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    let page: Page;
    let byok: { id: string; key: string };
    let mintedId: string;

    it('PUT /api/keys/demo-byok stores a key the upstream accepts; GET /api/keys shows only a mask', async () => {
      page = new Page(demoUrl);
      const login = await page.send('POST', '/api/auth/login', { username: 'alice', password: 'alice-password' });
      assert.equal(login.status, 200, login.text);
      const minted = await admin('POST', '/admin/keys', { label: 'byok for alice' });
      assert.equal(minted.status, 201);
      byok = { id: minted.json.id, key: minted.json.key };
      secrets['BYOK key'] = byok.key;
      const put = await page.send('PUT', '/api/keys/demo-byok', { key: byok.key });
      assert.equal(put.status, 204, put.text);
      const list = await page.get('/api/keys');
      assert.equal(list.status, 200);
      assert.equal(list.body.length, 1);
      const [entry] = list.body as Array<{ service: string; masked: string; updatedAt: string }>;
      assert.equal(entry!.service, 'demo-byok');
      assert.ok(!Number.isNaN(Date.parse(entry!.updatedAt)));
      const visible = entry!.masked.replace(/[^A-Za-z0-9_-]/g, '');
      assert.ok(visible.length <= 4, `mask shows ${visible.length} characters: ${entry!.masked}`);
      assert.ok(byok.key.endsWith(visible));
      assert.ok(!list.text.includes(byok.key.slice(0, 12)));
    });

    it('proxy calls to demo, demo-session and demo-byok reach the upstream with the expected key', async () => {
      const server = await page.get('/api/proxy/demo/echo?q=1');
      assert.equal(server.status, 200, server.text);
      assert.equal(server.body.keyId, 'server-1');
      assert.deepEqual(server.body.query, { q: '1' });
      const session = await page.get('/api/proxy/demo-session/echo');
      assert.equal(session.status, 200, session.text);
      assert.match(session.body.keyId, /^mk_[0-9a-f]{16}$/);
      assert.notEqual(session.body.keyId, byok.id);
      mintedId = session.body.keyId;
      assert.equal((await admin('GET', `/admin/keys/${mintedId}`)).json.active, true);
      const own = await page.get('/api/proxy/demo-byok/echo');
      assert.equal(own.status, 200, own.text);
      assert.equal(own.body.keyId, byok.id);
      for (const r of [server, session, own]) {
        for (const h of ['cookie', 'x-csrf', 'origin', 'authorization']) assert.ok(!r.body.headerNames.includes(h), `${h} forwarded`);
      }
      const post = await page.send('POST', '/api/proxy/demo-byok/echo', { hello: 'world' });
      assert.equal(post.status, 200);
      assert.equal(post.body.method, 'POST');
      assert.equal(post.body.bodyBytes, JSON.stringify({ hello: 'world' }).length);
    });

    it('a reflecting upstream (reflect=1, b64, url) is scrubbed on all three routes', async () => {
      for (const service of ['demo', 'demo-session', 'demo-byok']) {
        for (const mode of ['1', 'b64', 'url']) {
          const r = await page.get(`/api/proxy/${service}/echo?reflect=${mode}`);
          assert.equal(r.status, 200, r.text);
          assert.ok('receivedKey' in r.body);
          assert.equal(r.headers.get('x-received-key'), null);
          assert.deepEqual(leaks(`${[...r.headers].join('\n')}\n${r.text}`, secrets), [], `${service} reflect=${mode}`);
        }
      }
    });

    it('DELETE /api/keys/demo-byok, then a demo-byok call is 409 KW_CREDENTIAL_MISSING; unknown services are 404', async () => {
      assert.equal((await page.send('DELETE', '/api/keys/demo-byok')).status, 204);
      assert.deepEqual((await page.get('/api/keys')).body, []);
      const r = await page.get('/api/proxy/demo-byok/echo');
      assert.equal(r.status, 409, r.text);
      assert.equal(r.body.code, 'KW_CREDENTIAL_MISSING');
      assert.equal(typeof r.body.error, 'string');
      const again = await page.send('DELETE', '/api/keys/demo-byok');
      assert.equal(again.status, 404);
      for (const service of ['nope', 'demo', 'demo-session', '__proto__', 'constructor']) {
        const put = await page.send('PUT', `/api/keys/${service}`, { key: `k_${randomBytes(12).toString('hex')}` });
        assert.equal(put.status, 404, `${service}: ${put.status} ${put.text}`);
        assert.equal(typeof put.body.code, 'string');
      }
      assert.deepEqual((await page.get('/api/keys')).body, [], 'nothing was stored');
      for (const bad of [{}, { key: 42 }, { key: '' }, { key: 'has\nnewline' }, { key: 'x'.repeat(1025) }, { key: 'short-key' }]) {
        const r2 = await page.send('PUT', '/api/keys/demo-byok', bad);
        assert.equal(r2.status, 400, `${JSON.stringify(bad).slice(0, 40)}: ${r2.status}`);
      }
      // Over the key routes' body limit (4 KiB): 413 before any validation.
      const big = await page.send('PUT', '/api/keys/demo-byok', { key: 'x'.repeat(9000) });
      assert.equal(big.status, 413);
      assert.equal(big.body.code, 'KW_BODY_TOO_LARGE');
    });

    it('logout revokes the minted key at the upstream (GET /admin/keys/:id -> active false)', async () => {
      assert.equal((await page.send('POST', '/api/auth/logout')).status, 204);
      const deadline = Date.now() + 5000;
      let status = await admin('GET', `/admin/keys/${mintedId}`);
      while (status.json?.active !== false && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        status = await admin('GET', `/admin/keys/${mintedId}`);
      }
      assert.deepEqual(status.json, { id: mintedId, active: false });
      assert.equal((await page.get('/api/proxy/demo-session/echo')).status, 401);
    });

    it('regression: an upstream answer over maxResponseBytes (10 MiB) must not crash the demo process', async () => {
      const p = new Page(demoUrl);
      assert.equal((await p.send('POST', '/api/auth/login', { username: 'bob', password: 'bob-password' })).status, 200);
      const r = await p.get(`/api/proxy/demo/big?bytes=${11 * 1024 * 1024}`);
      assert.equal(r.status, 502, r.text.slice(0, 200));
      assert.equal(r.body.code, 'KW_UPSTREAM_RESPONSE_TOO_LARGE');
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(demo.process.exitCode, null, `the demo process died:\n${demo.output.slice(-800)}`);
      const health = await fetch(`${demoUrl}/healthz`).then((x) => x.status, () => 0);
      assert.equal(health, 200, 'the demo still answers');
    });

    it('no key value in any answer, header or log line of either process', () => {
      const answers = seen.join('\n\n');
      const logs = `${demo.output}\n${upstream.output}`;
      console.log(`# ${adapter}: ${seen.length} answers (${answers.length} bytes) and ${logs.length} bytes of demo/upstream output searched for ${Object.keys(secrets).length} secrets and minted-key patterns`);
      assert.deepEqual(leaks(answers, secrets), [], 'a key in an answer');
      assert.deepEqual(leaks(logs, secrets), [], 'a key in the process output');
    });
  });
}
