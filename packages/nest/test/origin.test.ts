import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  KeywardConfigError,
  MemoryStore,
  SkipOriginCheck,
  StartupReport,
  checkOrigin,
  resolveKeywardOptions,
  type OriginPolicy,
  type RouteReport,
} from '../src/index.js';
import {
  ADAPTERS,
  DEMO_DIST,
  HttpKeyIssuer,
  PageClient,
  bffOptions,
  nodeRequest,
  secret,
  startBffApp,
  startUpstream,
  type AdapterName,
  type RawReply,
  type RunningBff,
  type UpstreamHandle,
} from './support/bff-test.app.js';
import { Client } from './support/http-client.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-origin-'));
const SERVER_KEY = `srv_${secret()}`;
const ADMIN = secret();
let upstream: UpstreamHandle;
before(async () => {
  upstream = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: ADMIN });
});
after(async () => {
  await upstream?.close();
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// checkOrigin, as a pure function
// ---------------------------------------------------------------------------------------

describe('checkOrigin (unit table)', () => {
  const SELF = 'http://127.0.0.1:3000';
  const policy: OriginPolicy = { allowedOrigins: new Set(['https://app.example.com']), csrfHeader: { name: 'x-csrf', value: '1' } };
  type H = Record<string, string | string[] | undefined>;
  const OK = 'ok';
  const cases: Array<[string, string | undefined, H, string, { allowNavigation?: boolean; self?: string | null }?]> = [
    // Sec-Fetch-Site
    ['same-origin + x-csrf', 'POST', { 'sec-fetch-site': 'same-origin', 'x-csrf': '1' }, OK],
    ['same-origin, upper case', 'POST', { 'sec-fetch-site': 'Same-Origin', 'x-csrf': '1' }, OK],
    ['same-origin without x-csrf', 'POST', { 'sec-fetch-site': 'same-origin' }, 'KW_CSRF_HEADER_MISSING'],
    ['same-origin, x-csrf 0', 'POST', { 'sec-fetch-site': 'same-origin', 'x-csrf': '0' }, 'KW_CSRF_HEADER_MISSING'],
    ['same-origin, x-csrf empty', 'POST', { 'sec-fetch-site': 'same-origin', 'x-csrf': '' }, 'KW_CSRF_HEADER_MISSING'],
    ['same-origin, x-csrf "true"', 'POST', { 'sec-fetch-site': 'same-origin', 'x-csrf': 'true' }, 'KW_CSRF_HEADER_MISSING'],
    ['none, GET, navigation allowed', 'GET', { 'sec-fetch-site': 'none', 'x-csrf': '1' }, OK, { allowNavigation: true }],
    ['none, GET, navigation not allowed', 'GET', { 'sec-fetch-site': 'none', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['none, POST, navigation allowed', 'POST', { 'sec-fetch-site': 'none', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED', { allowNavigation: true }],
    ['same-site + allowlisted Origin', 'POST', { 'sec-fetch-site': 'same-site', origin: 'https://app.example.com', 'x-csrf': '1' }, OK],
    ['same-site + foreign Origin', 'POST', { 'sec-fetch-site': 'same-site', origin: 'https://sub.example.com', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['same-site without Origin', 'POST', { 'sec-fetch-site': 'same-site', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['cross-site + foreign Origin', 'POST', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['cross-site + allowlisted Origin', 'POST', { 'sec-fetch-site': 'cross-site', origin: 'https://app.example.com', 'x-csrf': '1' }, OK],
    ['cross-site + Origin null', 'POST', { 'sec-fetch-site': 'cross-site', origin: 'null', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['cross-site + our own Referer (no Origin)', 'POST', { 'sec-fetch-site': 'cross-site', referer: `${SELF}/`, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['cross-site, GET (proxy reads are guarded too)', 'GET', { 'sec-fetch-site': 'cross-site', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['unknown Sec-Fetch-Site value', 'POST', { 'sec-fetch-site': 'weird', origin: SELF, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['empty Sec-Fetch-Site', 'POST', { 'sec-fetch-site': '', origin: SELF, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    // Origin
    ['Origin = own origin', 'POST', { origin: SELF, 'x-csrf': '1' }, OK],
    ['Origin = own origin, upper case', 'POST', { origin: 'HTTP://127.0.0.1:3000', 'x-csrf': '1' }, OK],
    ['Origin allowlisted', 'PUT', { origin: 'https://app.example.com', 'x-csrf': '1' }, OK],
    ['Origin foreign', 'POST', { origin: 'https://evil.example', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin null', 'POST', { origin: 'null', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin own host, other port', 'POST', { origin: 'http://127.0.0.1:3001', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin own host, https instead of http', 'POST', { origin: 'https://127.0.0.1:3000', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin with a trailing slash', 'POST', { origin: `${SELF}/`, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin with a path', 'POST', { origin: `${SELF}/x`, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin suffix trick', 'POST', { origin: 'http://127.0.0.1:3000.evil.example', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin userinfo trick', 'POST', { origin: 'http://127.0.0.1:3000@evil.example', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin with CR/LF', 'POST', { origin: `${SELF}\r\nx-csrf: 1`, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Origin own, no x-csrf', 'POST', { origin: SELF }, 'KW_CSRF_HEADER_MISSING'],
    ['allowed Origin but the app does not know its own origin', 'POST', { origin: SELF, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED', { self: null }],
    // Referer fallback
    ['Referer own page', 'POST', { referer: `${SELF}/page?x=1`, 'x-csrf': '1' }, OK],
    ['Referer allowlisted', 'POST', { referer: 'https://app.example.com/a', 'x-csrf': '1' }, OK],
    ['Referer foreign', 'POST', { referer: 'https://evil.example/page', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Referer javascript:', 'POST', { referer: 'javascript:alert(1)', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Referer garbage', 'POST', { referer: 'not a url', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['Referer own but Origin foreign (Origin wins)', 'POST', { origin: 'https://evil.example', referer: `${SELF}/`, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    // Nothing
    ['no signal at all', 'POST', { 'x-csrf': '1' }, 'KW_ORIGIN_MISSING'],
    ['no signal, GET', 'GET', { 'x-csrf': '1' }, 'KW_ORIGIN_MISSING'],
    ['no headers at all', undefined, {}, 'KW_ORIGIN_MISSING'],
    // Duplicated headers: as node delivers them (joined) and as arrays.
    ['two Sec-Fetch-Site values (joined)', 'POST', { 'sec-fetch-site': 'same-origin, cross-site', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['two Origins (joined)', 'POST', { origin: `${SELF}, https://evil.example`, 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
    ['two Origins (array) and nothing else', 'POST', { origin: [SELF, 'https://evil.example'], 'x-csrf': '1' }, 'KW_ORIGIN_MISSING'],
    ['two x-csrf (joined)', 'POST', { origin: SELF, 'x-csrf': '1, 1' }, 'KW_CSRF_HEADER_MISSING'],
    ['two x-csrf (array)', 'POST', { origin: SELF, 'x-csrf': ['1', '1'] }, 'KW_CSRF_HEADER_MISSING'],
    ['one-element arrays', 'POST', { origin: [SELF], 'x-csrf': ['1'] }, OK],
  ];
  for (const [name, method, headers, expected, opts] of cases) {
    it(`${name} -> ${expected}`, () => {
      const self = opts && 'self' in opts ? opts.self! : SELF;
      const v = checkOrigin(method, headers, self, policy, { allowNavigation: opts?.allowNavigation });
      assert.equal(v.ok ? OK : v.code, expected, JSON.stringify(v));
      if (!v.ok) assert.ok(!/evil|127\.0\.0\.1/.test(v.reason), 'the reason does not echo header values');
    });
  }
  it('hostile header objects never throw and never pass', () => {
    const proto = Object.create(null) as Record<string, string>;
    for (const h of [proto, { origin: undefined }, { origin: '' }, { 'x-csrf': '1', origin: 'null' }, { 'x-csrf': '1', origin: '', referer: '' }]) {
      const v = checkOrigin('POST', h, SELF, policy);
      assert.equal(v.ok, false);
    }
  });
});

// ---------------------------------------------------------------------------------------
// The guard end to end
// ---------------------------------------------------------------------------------------

for (const adapter of ADAPTERS) {
  describe(`origin/CSRF guard over HTTP on ${adapter}`, () => {
    let bff: RunningBff;
    let issuer: HttpKeyIssuer;
    before(async () => {
      issuer = new HttpKeyIssuer(upstream.url, ADMIN);
      bff = await startBffApp(adapter, bffOptions({ store: new MemoryStore(), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer }));
    });
    after(async () => {
      await bff?.close();
      await issuer?.close();
    });

    it('login CSRF: POST /login from a foreign Origin, cross-site, or without x-csrf is 403 and sets no cookie', async () => {
      const client = new Client(bff.url);
      const attempts: Array<Record<string, string>> = [
        { origin: 'https://evil.example', 'x-csrf': '1' },
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', 'x-csrf': '1' },
        { origin: bff.url },
        { 'x-csrf': '1' },
        { origin: 'null', 'x-csrf': '1' },
      ];
      for (const headers of attempts) {
        const r = await client.post('/login', { user: 'victim' }, { headers });
        assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.status} ${r.text}`);
        assert.match(r.body.code, /^KW_(ORIGIN_REFUSED|ORIGIN_MISSING|CSRF_HEADER_MISSING)$/);
        assert.deepEqual(r.setCookies, [], 'no session was created');
      }
      const ok = await client.post('/login', { user: 'victim' }, { headers: { origin: bff.url, 'x-csrf': '1' } });
      assert.equal(ok.status, 200);
    });

    it('a state-changing route without origin signals is 403 with Vary: Origin, and the change does not happen', async () => {
      const page = new PageClient(bff.url);
      await page.post('/login', { user: 'vary' });
      const cookie = page.cookieHeader;
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const path = method === 'POST' ? '/logout' : '/keys/byok';
        const body = method === 'PUT' ? '{"key":"attacker-key-1234567"}' : undefined;
        const r = await nodeRequest(bff.url, method, path, { cookie, 'x-csrf': '1', ...(body ? { 'content-type': 'application/json' } : {}) }, body);
        assert.equal(r.status, 403, `${method} ${path}: ${r.body}`);
        assert.equal(r.json.code, 'KW_ORIGIN_MISSING');
        assert.match(String(r.headers.vary), /\bOrigin\b/, `Vary: ${r.headers.vary}`);
        assert.match(String(r.headers.vary), /Sec-Fetch-Site/i);
      }
      assert.equal((await page.get('/me')).status, 200, 'still logged in');
      assert.deepEqual((await page.get('/keys')).body, [], 'no key was stored');
      // Safe methods pass without signals (reads do not change state).
      assert.equal((await nodeRequest(bff.url, 'GET', '/me', { cookie })).status, 200);
    });

    it('@SkipOriginCheck({ reason }) passes cross-site and is listed by the StartupReport (and logged at startup)', async () => {
      const r = await nodeRequest(bff.url, 'POST', '/webhook', { 'sec-fetch-site': 'cross-site', origin: 'https://partner.example', 'content-type': 'application/json' }, '{}');
      assert.equal(r.status, 200, r.body);
      const skipped = bff.report.routes.filter((x) => x.originCheckSkipped);
      assert.deepEqual(skipped.map((x) => [x.method, x.path, x.originCheckSkipped]), [['POST', '/webhook', 'server-to-server webhook, verified by its signature']]);
      assert.ok(bff.logger.lines.some((l) => l.includes('POST /webhook') && l.includes('server-to-server webhook')), 'listed at startup');
      assert.throws(() => SkipOriginCheck({ reason: '' }), TypeError);
      assert.throws(() => SkipOriginCheck({ reason: 'because' }), TypeError);
      assert.throws(() => SkipOriginCheck(undefined as unknown as { reason: string }), TypeError);
    });
  });
}

// ---------------------------------------------------------------------------------------
// Every route of the demo app
// ---------------------------------------------------------------------------------------

interface DemoModuleType {
  register(config: unknown, users: unknown): DynamicModule;
}

async function startDemo(adapter: AdapterName, dataDir: string): Promise<{ app: INestApplication; url: string; routes: readonly RouteReport[]; services: string[] }> {
  const { DemoModule } = (await import(`${DEMO_DIST}demo.module.js`)) as { DemoModule: DemoModuleType };
  const { loadDemoConfig } = (await import(`${DEMO_DIST}config/demo-config.js`)) as { loadDemoConfig(env: Record<string, string>): { demoUsers: unknown } };
  const { DemoUsers } = (await import(`${DEMO_DIST}auth/demo-users.service.js`)) as { DemoUsers: { create(m: unknown): Promise<unknown> } };
  const config = loadDemoConfig({
    KEYWARD_DATA_DIR: dataDir,
    UPSTREAM_PORT: String(upstream.port),
    DEMO_UPSTREAM_KEY: SERVER_KEY,
    DEMO_UPSTREAM_ADMIN_TOKEN: ADMIN,
    KEYWARD_DEMO_USERS: 'alice:alice-password,bob:bob-password',
  });
  const users = await DemoUsers.create(config.demoUsers);
  const module = DemoModule.register(config, users);
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { rawBody: true, logger: false })
      : await NestFactory.create(module, { rawBody: true, logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const report = app.get(StartupReport);
  return { app, url: `http://127.0.0.1:${port}`, routes: report.routes, services: ['demo', 'demo-session', 'demo-byok'] };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'ALL']);

for (const adapter of ADAPTERS) {
  describe(`every route of the demo app refuses cross-site use (${adapter})`, () => {
    let demo: Awaited<ReturnType<typeof startDemo>>;
    before(async () => {
      demo = await startDemo(adapter, join(tmp, `demo-${adapter}`));
    });
    after(async () => {
      await demo?.app.close();
    });

    it('the StartupReport lists every proxy route (usesCredentials), so route walks and audits see them', () => {
      const proxied = demo.routes.filter((r) => r.usesCredentials);
      const listed = proxied.map((r) => r.path);
      for (const service of demo.services) {
        assert.ok(listed.some((p) => p.startsWith(`/api/proxy/${service}/`)), `no route for /api/proxy/${service}/* in StartupReport.routes: ${JSON.stringify(demo.routes.map((r) => `${r.method} ${r.path}`))}`);
      }
    });

    it('every unsafe-method route and every proxy route answers a cross-site request with 403 (unless listed as skipped)', async () => {
      const page = new PageClient(demo.url);
      const login = await page.post('/api/auth/login', { username: 'alice', password: 'alice-password' });
      assert.equal(login.status, 200, login.text);
      const byok = upstream.mint();
      assert.equal((await page.put('/api/keys/demo-byok', { key: byok.key })).status, 204);
      const handle = (await page.get('/api/auth/sessions')).body[0].id as string;
      const cookie = page.cookieHeader;

      const targets: Array<{ method: string; path: string; skipped: string | null }> = [];
      for (const r of demo.routes) {
        if (!UNSAFE.has(r.method) && !r.usesCredentials) continue;
        const path = r.path.replace(':id', encodeURIComponent(handle)).replace(':service', 'demo-byok').replace(/\{?\*[A-Za-z]+\}?|\*$/, 'echo');
        for (const method of r.method === 'ALL' ? ['GET', 'POST'] : [r.method]) targets.push({ method, path, skipped: r.originCheckSkipped });
      }
      // The proxy routes, whether or not the report lists them.
      for (const service of demo.services) for (const method of ['GET', 'POST', 'PUT', 'DELETE']) targets.push({ method, path: `/api/proxy/${service}/echo`, skipped: null });
      const attacks: Array<[string, Record<string, string>]> = [
        ['cross-site', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', 'x-csrf': '1' }],
        ['foreign Origin', { origin: 'https://evil.example', 'x-csrf': '1' }],
        ['null Origin', { origin: 'null', 'x-csrf': '1' }],
        ['foreign Referer', { referer: 'https://evil.example/x', 'x-csrf': '1' }],
        ['no origin signal', { 'x-csrf': '1' }],
        ['same-origin, no x-csrf', { 'sec-fetch-site': 'same-origin', origin: demo.url }],
      ];
      const before = upstream.stats().requests;
      const failures: string[] = [];
      let sent = 0;
      for (const t of targets) {
        for (const [name, headers] of attacks) {
          const body = t.method === 'GET' || t.method === 'DELETE' ? undefined : JSON.stringify({ key: 'attacker-key-0123456789', username: 'bob', password: 'bob-password' });
          const r: RawReply = await nodeRequest(demo.url, t.method, t.path, { cookie, ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, body);
          sent++;
          const expected = t.skipped ? 'not 403' : 403;
          if (t.skipped ? r.status === 403 : r.status !== 403) failures.push(`${t.method} ${t.path} (${name}): ${r.status}, expected ${expected}: ${r.body.slice(0, 100)}`);
        }
      }
      console.log(`# ${adapter}: ${demo.routes.length} routes in the StartupReport, ${targets.length} guarded route/method pairs walked x ${attacks.length} attacks = ${sent} requests`);
      assert.deepEqual(failures, []);
      assert.equal(upstream.stats().requests, before, 'a refused proxy call reached the upstream');
      // Nothing happened: still logged in as alice, the session was not revoked, the key was not replaced.
      const me = await page.get('/api/auth/session');
      assert.equal(me.status, 200);
      assert.equal(me.body.user.name, 'alice');
      assert.equal((await page.get('/api/proxy/demo-byok/echo')).body.keyId, byok.id);
      await page.post('/api/auth/logout');
    });
  });
}

// ---------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------

function preflight(url: string, path: string, origin: string, method = 'POST'): Promise<RawReply> {
  return nodeRequest(url, 'OPTIONS', path, { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type, x-csrf' });
}

for (const adapter of ADAPTERS) {
  describe(`CORS on ${adapter}`, () => {
    let off: RunningBff;
    let on: RunningBff;
    let issuer: HttpKeyIssuer;
    const ALLOWED = 'https://app.example.com';
    before(async () => {
      issuer = new HttpKeyIssuer(upstream.url, ADMIN);
      off = await startBffApp(adapter, bffOptions({ store: new MemoryStore(), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer }));
      on = await startBffApp(
        adapter,
        bffOptions({ store: new MemoryStore(), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer, rest: { cors: { origins: [ALLOWED] }, origin: { allowedOrigins: [ALLOWED] } } }),
      );
    });
    after(async () => {
      await off?.close();
      await on?.close();
      await issuer?.close();
    });

    const ORIGINS = ['https://evil.example', 'null', ALLOWED, 'http://127.0.0.1', 'https://app.example.com.evil.example', 'HTTPS://APP.EXAMPLE.COM:443', '*'];

    it('off by default: no Access-Control-* header for any Origin, preflights refused with 403', async () => {
      for (const origin of ORIGINS) {
        for (const path of ['/healthz', '/login', '/api/proxy/server/echo', '/nowhere']) {
          const simple = await nodeRequest(off.url, 'GET', path, { origin });
          assert.equal(simple.headers['access-control-allow-origin'], undefined, `${origin} ${path}`);
          assert.equal(simple.headers['access-control-allow-credentials'], undefined);
          const pre = await preflight(off.url, path, origin);
          assert.equal(pre.status, 403, `preflight ${origin} ${path}: ${pre.status}`);
          assert.equal(pre.headers['access-control-allow-origin'], undefined);
          assert.equal(pre.headers['access-control-allow-methods'], undefined);
        }
      }
    });

    it('configured allowlist: exact origin + credentials only for listed origins; never null, foreign or *', async () => {
      for (const origin of ORIGINS) {
        const listed = origin.toLowerCase().replace(':443', '') === ALLOWED;
        const simple = await nodeRequest(on.url, 'GET', '/healthz', { origin });
        const pre = await preflight(on.url, '/login', origin);
        for (const r of [simple, pre]) {
          assert.notEqual(r.headers['access-control-allow-origin'], '*');
          assert.match(String(r.headers.vary ?? ''), /Origin/);
        }
        if (listed && origin === ALLOWED) {
          assert.equal(simple.headers['access-control-allow-origin'], ALLOWED);
          assert.equal(simple.headers['access-control-allow-credentials'], 'true');
          assert.equal(pre.status, 204);
          assert.equal(pre.headers['access-control-allow-origin'], ALLOWED);
          assert.equal(pre.headers['access-control-allow-credentials'], 'true');
          assert.match(String(pre.headers['access-control-allow-headers']), /x-csrf/);
          assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
        } else if (!listed) {
          assert.equal(simple.headers['access-control-allow-origin'], undefined, `${origin} got ACAO`);
          assert.equal(simple.headers['access-control-allow-credentials'], undefined);
          assert.equal(pre.status, 403, `preflight from ${origin}`);
          assert.equal(pre.headers['access-control-allow-origin'], undefined);
        }
      }
      // The allowed front end can use the API with credentials (login then a proxied call).
      const spa = new Client(on.url);
      const headers = { origin: ALLOWED, 'x-csrf': '1' };
      assert.equal((await spa.post('/login', { user: 'spa' }, { headers })).status, 200);
      const r = await spa.get('/api/proxy/server/echo', { headers });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('access-control-allow-origin'), ALLOWED);
    });

    it('CORS options refuse wildcards, null and non-origins at startup', () => {
      for (const origins of [['*'], ['null'], ['https://*.example.com'], ['https://app.example.com/path'], ['app.example.com'], [], 'https://app.example.com']) {
        assert.throws(
          () => resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, cors: { origins } }),
          (e: unknown) => e instanceof KeywardConfigError && e.problems.some((p) => p.startsWith('cors.origins')),
          JSON.stringify(origins),
        );
      }
    });
  });
}
