import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  KeywardConfigError,
  MemoryStore,
  SkipOriginCheck,
  checkOrigin,
  resolveKeywardOptions,
  type OriginPolicy,
} from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions } from './support/bff-options.js';
import { Client, PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { nodeRequest, type RawReply } from './support/raw-http.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';

const SERVER_KEY = `srv_${secret()}`;
const ADMIN = secret();
let upstream: UpstreamHandle;
upstreamSuite({ serverKeys: [SERVER_KEY], adminToken: ADMIN }, (u) => (upstream = u));

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
    let bff: RunningApp;
    let issuer: HttpKeyIssuer;
    before(async () => {
      issuer = new HttpKeyIssuer(upstream.url, ADMIN);
      bff = await startTestApp(adapter, bffOptions({ store: new MemoryStore(), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer }));
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
      // Keyward's own exemption (issue 25), listed like an app's: the provider's back-channel logout (404 without `oidc` options).
      assert.deepEqual(skipped.map((x) => [x.method, x.path, x.originCheckSkipped]), [
        ['POST', '/webhook', 'server-to-server webhook, verified by its signature'],
        ['POST', '/api/auth/oidc/backchannel-logout', 'called server to server by the OpenID provider; the logout token is verified against its keys and used once'],
      ]);
      assert.ok(bff.logger.lines.some((l) => l.includes('POST /webhook') && l.includes('server-to-server webhook')), 'listed at startup');
      assert.throws(() => SkipOriginCheck({ reason: '' }), TypeError);
      assert.throws(() => SkipOriginCheck({ reason: 'because' }), TypeError);
      assert.throws(() => SkipOriginCheck(undefined as unknown as { reason: string }), TypeError);
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
    let off: RunningApp;
    let on: RunningApp;
    let issuer: HttpKeyIssuer;
    const ALLOWED = 'https://app.example.com';
    before(async () => {
      issuer = new HttpKeyIssuer(upstream.url, ADMIN);
      off = await startTestApp(adapter, bffOptions({ store: new MemoryStore(), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer }));
      on = await startTestApp(
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
