/**
 * The demo's route table (DEMO-CONTRACT) walked over real processes, on both adapters:
 * every documented route answers as documented, every protected route refuses anonymous
 * callers, and every state-changing or proxied route refuses cross-site use before the
 * upstream is ever contacted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** node:http, so that paths go out exactly as written. */
function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function cookieOf(a: Answer): string {
  const sc = a.headers['set-cookie'];
  const first = (Array.isArray(sc) ? sc : sc ? [sc] : [])[0];
  assert.ok(first, 'a Set-Cookie');
  return first.split(';')[0]!;
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo route table over real processes (${adapter})`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-routes-${adapter}-`));
    const serverKey = `routes_srv_${randomBytes(24).toString('base64url')}`;
    const adminToken = `routes_admin_${randomBytes(24).toString('base64url')}`;
    let upstream: Child;
    let demo: Child;
    let base: string;
    let upstreamBase: string;
    /** Every error answer seen, to check that none echoes a cookie or session ID. */
    const errors: string[] = [];
    const cookies: string[] = [];

    const upstreamRequests = async (): Promise<number> => {
      const r = await send(upstreamBase, 'GET', '/admin/stats', { authorization: `Bearer ${adminToken}` });
      return r.json.requests as number;
    };
    const page = (cookie: string, extra: Record<string, string> = {}) => ({ cookie, 'x-csrf': '1', origin: base, ...extra });
    const login = async (username = 'alice'): Promise<string> => {
      const r = await send(base, 'POST', '/api/auth/login', { 'x-csrf': '1', origin: base }, JSON.stringify({ username, password: `${username}-password` }));
      assert.equal(r.status, 200, r.text);
      const c = cookieOf(r);
      cookies.push(c.slice(c.indexOf('=') + 1));
      return c;
    };
    const record = (a: Answer): Answer => {
      if (a.status >= 400) errors.push(a.text);
      return a;
    };

    before(async () => {
      const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
      base = `http://127.0.0.1:${port}`;
      upstreamBase = `http://127.0.0.1:${upstreamPort}`;
      const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: serverKey, DEMO_UPSTREAM_ADMIN_TOKEN: adminToken };
      upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`${upstreamBase}/internal/none`));
      demo = await Child.start('demo', DEMO_MAIN, cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter }), () => answers200(`${base}/healthz`), 40_000);
    });
    after(async () => {
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('every documented route answers as DEMO-CONTRACT says', async () => {
      const home = await send(base, 'GET', '/');
      assert.equal(home.status, 200);
      assert.match(String(home.headers['content-type']), /text\/html/);
      assert.deepEqual((await send(base, 'GET', '/healthz')).json, { status: 'ok' });
      const cookie = await login();
      const session = await send(base, 'GET', '/api/auth/session', { cookie });
      assert.equal(session.status, 200);
      assert.deepEqual(session.json.user, { name: 'alice' });
      assert.match(session.json.expiresAt, ISO);
      assert.match(session.json.absoluteExpiresAt, ISO);
      const second = await login();
      const list = await send(base, 'GET', '/api/auth/sessions', { cookie });
      assert.equal(list.status, 200);
      assert.equal(list.json.length, 2);
      for (const s of list.json as Array<Record<string, unknown>>) {
        for (const f of ['id', 'createdAt', 'lastSeenAt', 'current']) assert.ok(f in s, `${f} in ${JSON.stringify(s)}`);
        assert.ok(!cookie.includes(String(s.id)) && !second.includes(String(s.id)), 'the id is a public handle, not the cookie value');
      }
      const other = (list.json as Array<{ id: string; current: boolean }>).find((s) => !s.current)!;
      assert.equal((await send(base, 'DELETE', `/api/auth/sessions/${encodeURIComponent(other.id)}`, page(cookie))).status, 204);
      assert.equal((await send(base, 'GET', '/api/auth/session', { cookie: second })).status, 401);
      // Keys.
      const minted = await send(upstreamBase, 'POST', '/admin/keys', { authorization: `Bearer ${adminToken}` }, '{}');
      assert.equal((await send(base, 'PUT', '/api/keys/demo-byok', page(cookie), JSON.stringify({ key: minted.json.key }))).status, 204);
      const keys = await send(base, 'GET', '/api/keys', { cookie });
      assert.deepEqual(keys.json.map((k: { service: string }) => k.service), ['demo-byok']);
      assert.ok(!keys.text.includes(minted.json.key));
      // Proxy: every method the demo allows, on every service.
      for (const service of ['demo', 'demo-session', 'demo-byok']) {
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
          const r = await send(base, method, `/api/proxy/${service}/echo?x=1`, page(cookie), method === 'GET' || method === 'DELETE' ? undefined : '{"a":1}');
          assert.equal(r.status, 200, `${method} ${service}: ${r.status} ${r.text}`);
          assert.equal(r.json.method, method);
          assert.equal(r.json.path, '/v1/echo');
        }
      }
      assert.equal((await send(base, 'DELETE', '/api/keys/demo-byok', page(cookie))).status, 204);
      // Sessions end.
      const third = await login();
      assert.equal((await send(base, 'POST', '/api/auth/logout-all', page(third))).status, 204);
      assert.equal((await send(base, 'GET', '/api/auth/session', { cookie })).status, 401);
      const fourth = await login();
      const out = await send(base, 'POST', '/api/auth/logout', page(fourth));
      assert.equal(out.status, 204);
      assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
      assert.equal(record(await send(base, 'GET', '/api/auth/session', { cookie: fourth })).status, 401);
    });

    it('anonymous callers get 401 JSON {error, code} on every protected route (public ones stay public)', async () => {
      const routes: Array<[string, string, string?]> = [
        ['GET', '/api/auth/session'], ['GET', '/api/auth/sessions'], ['DELETE', '/api/auth/sessions/abc'], ['POST', '/api/auth/logout-all'],
        ['GET', '/api/keys'], ['PUT', '/api/keys/demo-byok', '{"key":"anonymous-key-123"}'], ['DELETE', '/api/keys/demo-byok'],
        ['GET', '/api/proxy/demo/echo'], ['POST', '/api/proxy/demo-session/echo', '{}'], ['GET', '/api/proxy/demo-byok/echo'],
      ];
      const before = await upstreamRequests();
      for (const [method, path, body] of routes) {
        const r = record(await send(base, method, path, { 'x-csrf': '1', origin: base }, body));
        assert.equal(r.status, 401, `${method} ${path}: ${r.status} ${r.text}`);
        assert.equal(typeof r.json?.error, 'string');
        assert.match(r.json?.code, /^KW_SESSION_/);
      }
      assert.equal(await upstreamRequests(), before + 1, 'no proxied call reached the upstream (only our /admin/stats read)');
      assert.equal((await send(base, 'GET', '/')).status, 200);
      assert.equal((await send(base, 'GET', '/healthz')).status, 200);
    });

    it('every unsafe and every proxy route refuses cross-site use with 403, before the upstream and without side effects', async () => {
      const cookie = await login('bob');
      const handle = (await send(base, 'GET', '/api/auth/sessions', { cookie })).json[0].id as string;
      const routes: Array<[string, string, string?]> = [
        ['POST', '/api/auth/login', '{"username":"alice","password":"alice-password"}'],
        ['POST', '/api/auth/logout'], ['POST', '/api/auth/logout-all'], ['DELETE', `/api/auth/sessions/${handle}`],
        ['PUT', '/api/keys/demo-byok', '{"key":"attacker-chosen-key-123"}'], ['DELETE', '/api/keys/demo-byok'],
      ];
      for (const service of ['demo', 'demo-session', 'demo-byok']) {
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']) routes.push([method, `/api/proxy/${service}/echo`, ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined]);
      }
      const attacks: Array<[string, Record<string, string>]> = [
        ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', 'x-csrf': '1' }],
        ['Sec-Fetch-Site same-site, foreign Origin', { 'sec-fetch-site': 'same-site', origin: 'http://sub.127.0.0.1.nip.io', 'x-csrf': '1' }],
        ['foreign Origin', { origin: 'https://evil.example', 'x-csrf': '1' }],
        ['Origin null', { origin: 'null', 'x-csrf': '1' }],
        ['foreign Referer', { referer: 'https://evil.example/page', 'x-csrf': '1' }],
        ['no origin signal', { 'x-csrf': '1' }],
        ['no X-CSRF', { origin: base }],
        ['X-CSRF with another value', { origin: base, 'x-csrf': 'yes' }],
      ];
      const before = await upstreamRequests();
      const failures: string[] = [];
      for (const [method, path, body] of routes) {
        for (const [name, headers] of attacks) {
          const r = record(await send(base, method, path, { cookie, ...headers }, body));
          if (r.status !== 403) failures.push(`${method} ${path} (${name}): ${r.status} ${r.text.slice(0, 80)}`);
          else if (method !== 'HEAD' && !/^KW_(ORIGIN_REFUSED|ORIGIN_MISSING|CSRF_HEADER_MISSING)$/.test(r.json?.code)) failures.push(`${method} ${path} (${name}): code ${r.json?.code}`);
        }
      }
      console.log(`# ${adapter}: ${routes.length} routes x ${attacks.length} cross-site attacks = ${routes.length * attacks.length} requests refused`);
      assert.deepEqual(failures, []);
      assert.equal(await upstreamRequests(), before + 1, 'a refused call reached the upstream');
      // No side effect: bob is still logged in with his session, no key was stored.
      assert.equal((await send(base, 'GET', '/api/auth/session', { cookie })).status, 200);
      assert.deepEqual((await send(base, 'GET', '/api/keys', { cookie })).json, []);
      assert.equal((await send(base, 'POST', '/api/auth/logout', page(cookie))).status, 204);
    });

    it('path escapes through the real demo are 400 and never reach the upstream', async () => {
      const cookie = await login('alice');
      const escapes = [
        '../internal/marker', '%2e%2e/internal/marker', '%2E%2e/%2e%2e/internal/marker', '.%2e/internal/marker', '%252e%252e/internal/marker',
        '..%2finternal%2fmarker', '..%5cinternal%5cmarker', '..\\internal\\marker', '/evil.example/x', '//evil.example/x', 'http:%2f%2fevil.example',
        'echo%00', 'echo%0d%0aX-Injected:%201', 'echo/..', 'echo/.', './echo', 'echo/', '',
      ];
      const before = await upstreamRequests();
      for (const service of ['demo', 'demo-session', 'demo-byok']) {
        for (const rest of escapes) {
          const r = record(await send(base, 'GET', `/api/proxy/${service}/${rest}`, page(cookie)));
          assert.equal(r.status, 400, `${service}/${rest}: ${r.status} ${r.text}`);
          assert.equal(r.json?.code, 'KW_PROXY_BAD_PATH', `${service}/${rest}`);
        }
      }
      assert.equal(await upstreamRequests(), before + 1);
      await send(base, 'POST', '/api/auth/logout', page(cookie));
    });

    it('no error answer echoes a cookie value, a session ID or a key', () => {
      const text = errors.join('\n');
      assert.ok(errors.length > 100, `${errors.length} error answers collected`);
      for (const c of cookies) {
        assert.ok(!text.includes(c), 'an error quotes a cookie value');
        assert.ok(!text.includes(c.split('.')[0]!), 'an error quotes a session ID');
      }
      for (const k of [serverKey, adminToken]) assert.ok(!text.includes(k));
      assert.ok(!/dk_live_/.test(text));
      for (const e of errors.filter((x) => x.length > 0)) {
        const j = JSON.parse(e) as Record<string, unknown>;
        assert.equal(typeof j.error, 'string', e);
        assert.equal(typeof j.code, 'string', e);
      }
    });
  });
}
