import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServerKeyProvider, SqliteStore, normalizeProxyPath } from '../src/index.js';
import { joinBelow } from '../src/proxy/proxy-path.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { chunkedPost, nodeRequest, rawGet } from './support/raw-http.js';
import { freePort } from './support/redis-server.js';
import { findSecrets, secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-proxy-'));
// URL-, JSON- and base64-relevant characters, so that each encoded form differs from the raw one.
const SERVER_KEY = `srv+K/${secret()}=!*`;
const ADMIN = secret();
let upstream: UpstreamHandle;
let trap: Server;
let trapHits = 0;
let trapUrl: string;
let downUrl: string;
/** Errors nobody handled: in a production process each of these is a crash. */
const uncaught: unknown[] = [];
process.on('uncaughtException', (e) => uncaught.push(e));

before(async () => {
  upstream = await startUpstream({ serverKeys: [{ id: 'server-1', key: SERVER_KEY }], adminToken: ADMIN });
  trap = createServer((_req, res) => {
    trapHits++;
    res.end('trap');
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  downUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there
});
after(async () => {
  await upstream?.close();
  await new Promise((r) => trap?.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// normalizeProxyPath / joinBelow, as pure functions
// ---------------------------------------------------------------------------------------

/** Path escapes and malformed paths, each as the raw text after `/api/proxy/<service>/`. */
export const PATH_ATTACKS: ReadonlyArray<[string, string]> = [
  ['dot-dot', '../internal/marker'],
  ['dot-dot twice', '../../internal/marker'],
  ['dot-dot after a segment', 'echo/../../internal/marker'],
  ['%2e%2e', '%2e%2e/internal/marker'],
  ['%2E%2e mixed case', '%2E%2e/internal/marker'],
  ['.%2e', '.%2e/internal/marker'],
  ['%2e.', '%2e./internal/marker'],
  ['double-encoded %252e%252e', '%252e%252e/internal/marker'],
  ['double-encoded slash %252f', '..%252finternal%252fmarker'],
  ['..%2f', '..%2finternal%2fmarker'],
  ['..%2F upper', '..%2Finternal%2Fmarker'],
  ['encoded slash inside a segment %2f', 'echo%2f..%2f..%2finternal%2fmarker'],
  ['..%5c', '..%5cinternal%5cmarker'],
  ['%5c alone', 'echo%5c..%5c..%5cinternal'],
  ['raw backslash', '..\\internal\\marker'],
  ['raw backslash inside', 'echo\\..\\..\\internal\\marker'],
  ['//host (empty segment)', '/evil.example/x'],
  ['///host', '//evil.example/x'],
  ['/http://evil', '/http://evil.example/x'],
  ['absolute URL in the path', 'http://evil.example/x'],
  ['encoded absolute URL', 'https:%2f%2fevil.example%2fx'],
  ['protocol-relative encoded', '%2f%2fevil.example%2fx'],
  ['NUL %00', 'echo%00'],
  ['NUL then dot-dot', '..%00/internal/marker'],
  ['CR/LF %0d%0a (header injection)', 'echo%0d%0aX-Injected:%201'],
  ['LF %0a', 'echo%0aHost:%20evil'],
  ['tab %09', 'echo%09'],
  ['CR/LF in the query', 'echo?x=%0d%0aX-Injected:%201'],
  ['DEL %7f', 'echo%7f'],
  ['trailing dot segment', 'echo/.'],
  ['trailing dot-dot segment', 'echo/..'],
  ['trailing encoded dot-dot', 'echo/%2e%2e'],
  ['leading dot segment', './echo'],
  ['trailing slash (empty segment)', 'echo/'],
  ['empty path', ''],
  ['space-padded segment %20', '%20../internal/marker'],
  ['dot-dot with a path parameter ..;', '..;/internal/marker'],
  ['encoded dot-dot with a path parameter', '%2e%2e;x=1/internal/marker'],
  ['unicode fullwidth dots (U+FF0E)', '%ef%bc%8e%ef%bc%8e/internal/marker'],
  ['unicode one-dot leaders (U+2024)', '%e2%80%a4%e2%80%a4/internal/marker'],
  ['unicode two-dot leader (U+2025)', '%e2%80%a5/internal/marker'],
  ['unicode fullwidth solidus (U+FF0F)', '..%ef%bc%8finternal%ef%bc%8fmarker'],
  ['fragment', 'echo#../../internal/marker'],
];

/**
 * Malformed percent-encodings. The frameworks' own routers would refuse these with their
 * own 400 (Express: "Failed to decode param", Fastify: FST_ERR_BAD_URL); the proxy runs at
 * the server's edge, before them, so its own parser answers: 400 KW_PROXY_BAD_PATH and no
 * upstream call.
 */
export const MALFORMED_ENCODINGS: ReadonlyArray<[string, string]> = [
  ['overlong UTF-8 dot %c0%ae', '%c0%ae%c0%ae/internal/marker'],
  ['overlong UTF-8 slash %c0%af', '..%c0%afinternal'],
  ['IIS %u002e', '%u002e%u002e/internal/marker'],
  ['bare percent', '%/internal'],
  ['truncated escape', 'echo%2'],
  ['double percent %%32%65', '%%32%65%%32%65/internal/marker'],
];

describe('normalizeProxyPath (unit table)', () => {
  const ok: Array<[string, string, string]> = [
    ['echo', 'echo', ''],
    ['echo?x=1&y=2', 'echo', 'x=1&y=2'],
    ['a/b/c', 'a/b/c', ''],
    ['status/500', 'status/500', ''],
    ['caf%C3%A9', 'caf%C3%A9', ''],
    ["it's", 'it%27s', ''],
    ['a:b@c', 'a%3Ab%40c', ''],
    ['...', '...', ''],
    ['.hidden', '.hidden', ''],
  ];
  for (const [input, path, query] of ok) {
    it(`accepts ${JSON.stringify(input)} -> ${JSON.stringify(path)}`, () => {
      assert.deepEqual(normalizeProxyPath(input), { ok: true, path, query });
    });
  }
  for (const [name, input] of [...PATH_ATTACKS, ...MALFORMED_ENCODINGS]) {
    it(`refuses ${name}: ${JSON.stringify(input)}`, () => {
      const v = normalizeProxyPath(input);
      assert.equal(v.ok, false, `accepted as ${JSON.stringify(v)}`);
    });
  }
  it('refuses hostile non-strings, huge and unicode-control inputs without throwing', () => {
    for (const bad of [undefined, null, 42, NaN, {}, Object.create(null), ['echo']] as unknown[]) {
      assert.equal(normalizeProxyPath(bad as string).ok, false);
    }
    assert.equal(normalizeProxyPath('a/'.repeat(2000)).ok, false);
    assert.equal(normalizeProxyPath(`echo?${'x'.repeat(5000)}`).ok, false);
    assert.equal(normalizeProxyPath('echo\r\n').ok, false);
    assert.equal(normalizeProxyPath('echo\u0000').ok, false);
  });
  it('joinBelow keeps every accepted path under the base, and refuses one that is not', () => {
    const base = new URL('http://127.0.0.1:9/v1/');
    for (const [input] of ok) {
      const v = normalizeProxyPath(input);
      assert.ok(v.ok);
      const target = joinBelow(base, v.path, v.query);
      assert.equal(target.origin, base.origin);
      assert.ok(target.pathname.startsWith('/v1/'), target.href);
    }
    assert.throws(() => joinBelow(base, '../internal', ''));
    assert.throws(() => joinBelow(base, '%2e%2e/../internal', ''));
  });
});

// ---------------------------------------------------------------------------------------
// The proxy end to end, on both adapters, against the real upstream
// ---------------------------------------------------------------------------------------

const FORBIDDEN_UPSTREAM = [
  'cookie', 'authorization', 'x-csrf', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip',
  'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-connection', 'trailer', 'x-hop-secret', 'origin', 'referer',
  'sec-fetch-site', 'sec-fetch-mode', 'x-smuggle',
];

for (const adapter of ADAPTERS) {
  describe(`BFF proxy on ${adapter}`, () => {
    let bff: RunningApp;
    let issuer: HttpKeyIssuer;
    let page: PageClient;
    let byokKey: { id: string; key: string };

    before(async () => {
      issuer = new HttpKeyIssuer(upstream.url, ADMIN);
      const store = new SqliteStore({ file: join(tmp, `${adapter}.sqlite`) });
      bff = await startTestApp(
        adapter,
        bffOptions({
          store,
          upstreamUrl: upstream.url,
          serverKeys: [SERVER_KEY],
          issuer,
          extraServices: {
            slow: upstreamService(upstream.url, 'server', { timeoutMs: 300 }),
            down: upstreamService(downUrl, 'server'),
            small: upstreamService(upstream.url, 'server', { maxResponseBytes: 1000, maxRequestBytes: 100 }),
            bearer: upstreamService(upstream.url, 'server', { key: { header: 'authorization', format: 'Bearer {key}' } }),
          },
        }),
      );
      page = new PageClient(bff.url);
      assert.equal((await page.post('/login', { user: `proxy-${adapter}` })).status, 200);
      byokKey = upstream.mint();
      assert.equal((await page.put('/keys/byok', { key: byokKey.key })).status, 204);
    });
    after(async () => {
      await bff?.close();
      await issuer?.close();
    });

    const hostile = () => ({
      cookie: `${page.cookieHeader}; other=1`,
      authorization: 'Bearer browser-token',
      'x-csrf': '1',
      origin: bff.url,
      referer: `${bff.url}/page`,
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'cors',
      forwarded: 'for=1.2.3.4;proto=https;host=evil.example',
      'x-forwarded-for': '1.2.3.4',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-real-ip': '1.2.3.4',
      'keep-alive': 'timeout=99',
      te: 'trailers',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'proxy-connection': 'keep-alive',
      trailer: 'x-smuggle',
      'x-hop-secret': 'named-in-connection',
      'x-smuggle': '1',
      'x-api-key': 'browser-chosen-key',
      connection: 'close, x-hop-secret',
      accept: 'application/json',
    });

    for (const [service, expected] of [
      ['server', () => 'server-1'],
      ['minted', () => [...issuer.minted.keys()].at(-1)],
      ['byok', () => byokKey.id],
    ] as const) {
      it(`${service} provider: the upstream gets the right key and none of the browser's forbidden headers`, async () => {
        const r = await rawGet(bff.port, `/api/proxy/${service}/echo?x=1`, hostile());
        assert.equal(r.status, 200, r.body);
        assert.equal(r.json.keyId, expected(), 'the key of this provider');
        assert.equal(r.json.path, '/v1/echo');
        assert.deepEqual(r.json.query, { x: '1' });
        const names: string[] = r.json.headerNames;
        for (const h of FORBIDDEN_UPSTREAM) assert.ok(!names.includes(h), `upstream received ${h}: ${names.join(', ')}`);
        // What reaches the upstream is the allowlist plus the key header and what the HTTP client itself must send.
        assert.deepEqual(names.filter((n) => !['accept', 'accept-encoding', 'connection', 'host', 'x-api-key'].includes(n)), []);
        assert.equal(upstream.stats().lastRequest?.path, '/v1/echo');
      });
    }

    it('bearer placement: Authorization carries our key, never the browser\'s', async () => {
      const r = await rawGet(bff.port, '/api/proxy/bearer/echo', hostile());
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.keyId, 'server-1', 'the upstream authenticated our server key, not "browser-token"');
      assert.ok(!r.json.headerNames.includes('x-api-key'), 'the browser\'s x-api-key was not forwarded');
    });

    it('POST bodies are forwarded byte for byte (size checked at the upstream)', async () => {
      const body = JSON.stringify({ a: 'é'.repeat(10), n: 1 });
      const r = await page.post('/api/proxy/server/echo', body, { headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.bodyBytes, Buffer.byteLength(body));
      assert.equal(r.body.method, 'POST');
    });

    it('upstream Set-Cookie and hop-by-hop headers never reach the browser', async () => {
      for (const path of ['/api/proxy/server/set-cookie', '/api/proxy/server/hop']) {
        const r = await nodeRequest(bff.url, 'GET', path, { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url, connection: 'close' });
        assert.equal(r.status, 200, r.body);
        const names = Object.keys(r.headers);
        for (const h of ['set-cookie', 'keep-alive', 'proxy-authenticate', 'x-upstream', 'transfer-encoding', 'trailer', 'upgrade']) {
          assert.ok(!names.includes(h), `${path}: ${h} reached the browser (${r.rawHeaders.replace(/\n/g, ' | ')})`);
        }
        assert.equal(r.headers.connection, 'close', 'the only Connection header is our own server\'s');
      }
    });

    it('an upstream redirect is a 502 KW_UPSTREAM_REDIRECT and its target is never contacted', async () => {
      const before = trapHits;
      for (const to of [`${trapUrl}/steal`, 'http://127.0.0.2:1/elsewhere', '/internal/marker']) {
        const r = await page.get(`/api/proxy/server/redirect?to=${encodeURIComponent(to)}`);
        assert.equal(r.status, 502, r.text);
        assert.equal(r.body.code, 'KW_UPSTREAM_REDIRECT');
        assert.equal(r.headers.get('location'), null);
      }
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(trapHits, before, 'redirect target contacted');
      assert.equal(upstream.stats().internalHits, 0);
    });

    for (const [service, keyOf] of [
      ['server', () => SERVER_KEY],
      ['minted', () => issuer.minted.get([...issuer.minted.keys()].at(-1)!)!.key],
      ['byok', () => byokKey.key],
    ] as const) {
      it(`${service}: a reflecting upstream (reflect=1, b64, url) never gets the key to the browser in any encoding`, async () => {
        const key = keyOf();
        const warningsBefore = bff.logger.lines.filter((l) => l.includes('echoed its API key')).length;
        for (const mode of ['1', 'b64', 'url']) {
          const r = await nodeRequest(bff.url, 'GET', `/api/proxy/${service}/echo?reflect=${mode}`, { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url });
          assert.equal(r.status, 200, r.body);
          assert.ok('receivedKey' in r.json, 'the upstream did reflect');
          assert.deepEqual(findSecrets(r.body, [key]), [], `reflect=${mode}: key in the body`);
          assert.deepEqual(findSecrets(r.rawHeaders, [key]), [], `reflect=${mode}: key in the headers`);
          assert.equal(r.headers['x-received-key'], undefined);
        }
        const warnings = bff.logger.lines.filter((l) => l.includes('echoed its API key'));
        assert.ok(warnings.length >= warningsBefore + 3, 'a warning per scrubbed response');
        assert.ok(warnings.at(-1)!.includes(`"${service}"`), 'the warning names the service');
        assert.deepEqual(findSecrets(bff.logger.text, [key]), [], 'the key is never logged');
      });
    }

    it('a user key with JSON-special characters (" and \\) is refused (issue 23.1: it could match across a log line\'s syntax), never echoed', async () => {
      const special = `byok"quote\\back/slash-${secret()}`;
      const client = new PageClient(bff.url);
      await client.post('/login', { user: `json-special-${adapter}` });
      const r = await client.put('/keys/byok', { key: special });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.code, 'KW_INVALID_ARGUMENT');
      assert.deepEqual(findSecrets(r.text, [special]), []);
      assert.equal((await client.get('/api/proxy/byok/echo')).status >= 400, true, 'no key was stored');
    });

    it('upstream down: 502 KW_UPSTREAM_UNAVAILABLE, fast, no key in the answer', async () => {
      const t0 = Date.now();
      const r = await page.get('/api/proxy/down/echo');
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.code, 'KW_UPSTREAM_UNAVAILABLE');
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      assert.deepEqual(findSecrets(r.text, [SERVER_KEY]), []);
    });

    it('slow upstream: 504 KW_UPSTREAM_TIMEOUT after timeoutMs, and the upstream sees the call cancelled', async () => {
      const cancelled = upstream.stats().slowCancelled;
      const t0 = Date.now();
      const r = await page.get('/api/proxy/slow/slow?ms=5000');
      assert.equal(r.status, 504, r.text);
      assert.equal(r.body.code, 'KW_UPSTREAM_TIMEOUT');
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      await waitFor(() => upstream.stats().slowCancelled > cancelled, 5000, () => 'the upstream to see the call cancelled');
    });

    it('upstream 500 -> 502 KW_UPSTREAM_ERROR; upstream 401 -> 502 KW_UPSTREAM_AUTH_FAILED; 404 passes through', async () => {
      let r = await page.get('/api/proxy/server/status/500');
      assert.equal(r.status, 502);
      assert.equal(r.body.code, 'KW_UPSTREAM_ERROR');
      r = await page.get('/api/proxy/server/status/503');
      assert.equal(r.status, 502);
      r = await page.get('/api/proxy/server/status/401');
      assert.equal(r.status, 502);
      assert.equal(r.body.code, 'KW_UPSTREAM_AUTH_FAILED');
      r = await page.get('/api/proxy/server/status/404');
      assert.equal(r.status, 404);
      for (const t of [r.text]) assert.deepEqual(findSecrets(t, [SERVER_KEY]), []);
    });

    it('response larger than maxResponseBytes -> 502 KW_UPSTREAM_RESPONSE_TOO_LARGE; at the limit passes', async () => {
      let r = await page.get('/api/proxy/small/big?bytes=5000');
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.code, 'KW_UPSTREAM_RESPONSE_TOO_LARGE');
      r = await page.get('/api/proxy/small/big?bytes=1000');
      assert.equal(r.status, 200);
      assert.equal(r.text.length, 1000);
    });

    it('regression: an upstream answer over maxResponseBytes raised an uncaught AbortError (res.body.destroy() with no error listener), which crashes the app', async () => {
      uncaught.length = 0;
      for (const bytes of [1001, 5000, 200_000]) {
        const r = await page.get(`/api/proxy/small/big?bytes=${bytes}`);
        assert.equal(r.status, 502);
        assert.equal(r.body.code, 'KW_UPSTREAM_RESPONSE_TOO_LARGE');
      }
      await new Promise((res) => setTimeout(res, 200));
      const seen = uncaught.map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
      uncaught.length = 0;
      assert.deepEqual(seen, [], 'uncaught exceptions (each one would have killed a production process)');
      assert.equal((await page.get('/healthz')).status, 200);
    });

    it('request body larger than maxRequestBytes -> 413 before any upstream call (declared and chunked)', async () => {
      const before = upstream.stats().requests;
      let r = await page.post('/api/proxy/small/echo', 'x'.repeat(1000), { headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(r.status, 413, r.text);
      assert.equal(r.body.code, 'KW_PROXY_BODY_TOO_LARGE');
      r = await page.post('/api/proxy/small/echo', JSON.stringify({ pad: 'y'.repeat(1000) }), { headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 413, r.text);
      // Chunked, no Content-Length.
      const chunked = await chunkedPost(bff.port, '/api/proxy/small/echo', { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url, 'content-type': 'application/octet-stream' }, 'z'.repeat(1000));
      assert.equal(chunked.status, 413, chunked.body);
      assert.equal(upstream.stats().requests, before, 'the upstream saw no request');
    });

    it('method not allowed -> 405; unknown service -> 404; no session -> 401', async () => {
      let r = await page.request('PATCH', '/api/proxy/server/echo', { body: '{}' });
      assert.equal(r.status, 405);
      assert.equal(r.body.code, 'KW_PROXY_METHOD_NOT_ALLOWED');
      r = await page.get('/api/proxy/nope/echo');
      assert.equal(r.status, 404);
      assert.equal(r.body.code, 'KW_PROXY_UNKNOWN_SERVICE');
      const anon = new PageClient(bff.url);
      r = await anon.get('/api/proxy/server/echo');
      assert.equal(r.status, 401);
      assert.match(r.body.code, /^KW_SESSION_/);
    });

    it('CSRF/origin refusals: 403 and the upstream saw NO request', async () => {
      const cookie = page.cookieHeader;
      const cases: Array<[string, Record<string, string>, string]> = [
        ['no x-csrf', { cookie, origin: bff.url }, 'KW_CSRF_HEADER_MISSING'],
        ['wrong x-csrf', { cookie, origin: bff.url, 'x-csrf': '0' }, 'KW_CSRF_HEADER_MISSING'],
        ['foreign Origin', { cookie, origin: 'https://evil.example', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
        ['Origin null', { cookie, origin: 'null', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
        ['Sec-Fetch-Site cross-site', { cookie, 'sec-fetch-site': 'cross-site', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
        ['Sec-Fetch-Site same-site from a sibling origin', { cookie, 'sec-fetch-site': 'same-site', origin: 'https://sub.evil.example', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
        ['foreign Referer only', { cookie, referer: 'https://evil.example/page', 'x-csrf': '1' }, 'KW_ORIGIN_REFUSED'],
        ['no origin signals at all', { cookie, 'x-csrf': '1' }, 'KW_ORIGIN_MISSING'],
      ];
      for (const method of ['GET', 'POST']) {
        for (const [name, headers, code] of cases) {
          const before = upstream.stats().requests;
          const r = await nodeRequest(bff.url, method, '/api/proxy/server/echo', method === 'POST' ? { ...headers, 'content-type': 'application/json' } : headers, method === 'POST' ? '{"a":1}' : undefined);
          assert.equal(r.status, 403, `${method} ${name}: ${r.status} ${r.body}`);
          assert.equal(r.json.code, code, `${method} ${name}`);
          assert.match(String(r.headers.vary ?? ''), /Origin/);
          assert.equal(upstream.stats().requests, before, `${method} ${name}: the upstream was called`);
        }
      }
    });

    it(`path escapes: ${PATH_ATTACKS.length} encodings, each 400 KW_PROXY_BAD_PATH with no upstream request`, async () => {
      upstream.resetStats();
      const failures: string[] = [];
      for (const [name, rest] of PATH_ATTACKS) {
        for (const service of ['server', 'minted']) {
          const r = await rawGet(bff.port, `/api/proxy/${service}/${rest}`, { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url });
          if (r.status !== 400 || r.json?.code !== 'KW_PROXY_BAD_PATH') failures.push(`${service} ${name} (${rest}): ${r.status} ${r.body.slice(0, 100)}`);
        }
      }
      const stats = upstream.stats();
      console.log(`# ${adapter}: ${PATH_ATTACKS.length} path-escape encodings x 2 services; upstream requests: ${stats.requests}, internal hits: ${stats.internalHits}`);
      assert.equal(stats.internalHits, 0, 'the internal route was reached');
      assert.deepEqual(failures, [], `not refused with 400 KW_PROXY_BAD_PATH:\n${failures.join('\n')}`);
      assert.equal(stats.requests, 0, 'the upstream was called for a refused path');
    });

    it(`malformed percent-encodings (${MALFORMED_ENCODINGS.length}) and targets the HTTP parser or router refuse: 400, never the upstream`, async () => {
      upstream.resetStats();
      for (const [name, rest] of MALFORMED_ENCODINGS) {
        const r = await rawGet(bff.port, `/api/proxy/server/${rest}`, { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url });
        assert.equal(r.status, 400, `${name}: ${r.status} ${r.body}`);
        assert.equal(r.json?.code, 'KW_PROXY_BAD_PATH', `${name}: ${r.body}`);
      }
      const targets: Buffer[] = [
        Buffer.from('/api/proxy/server/\u00e9', 'utf8'), // raw non-ASCII
        Buffer.from('/api/proxy/server/..\u002f..\u002finternal/marker'),
        Buffer.from('http://evil.example/api/proxy/server/echo'), // absolute-form target
        Buffer.from(`http://127.0.0.1:${bff.port}/api/proxy/server/../../internal/marker`),
        Buffer.from('*'),
      ];
      for (const target of targets) {
        const r = await rawGet(bff.port, target, { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url });
        assert.ok(r.status >= 400 && r.status < 500, `${target.toString('latin1')}: ${r.status}`);
      }
      assert.equal(upstream.stats().requests, 0);
      assert.equal(upstream.stats().internalHits, 0);
    });

    it('every error answer is JSON {error, code} and carries no key', async () => {
      const keys = [SERVER_KEY, byokKey.key, ...[...issuer.minted.values()].map((m) => m.key)];
      for (const path of ['/api/proxy/down/echo', '/api/proxy/server/status/500', '/api/proxy/small/big?bytes=9999', '/api/proxy/server/%2e%2e/x', '/api/proxy/nope/x']) {
        const r = await page.get(path);
        assert.ok(r.status >= 400);
        assert.equal(typeof r.body?.error, 'string');
        assert.match(r.body?.code, /^KW_/);
        assert.deepEqual(findSecrets(r.text + JSON.stringify([...r.headers]), keys), []);
      }
    });
  });
}

describe('server key rotation from a secret file (express)', () => {
  it('the newest key is used at once; the old one keeps working at the upstream during the grace period', async () => {
    const file = join(tmp, 'rotate.txt');
    const oldKey = `old-${secret()}`;
    const newKey = `new-${secret()}`;
    upstream.addServerKey(oldKey, 'rot-old');
    writeFileSync(file, `${oldKey}\n`);
    const issuer = new HttpKeyIssuer(upstream.url, ADMIN);
    const options = bffOptions({ store: new SqliteStore({ file: join(tmp, 'rotate.sqlite') }), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer });
    options.credentials!.server = new ServerKeyProvider({ file, reloadCheckMs: 1 });
    const bff = await startTestApp('express', options);
    try {
      const page = new PageClient(bff.url);
      await page.post('/login', { user: 'rotator' });
      assert.equal((await page.get('/api/proxy/server/echo')).body.keyId, 'rot-old');
      upstream.addServerKey(newKey, 'rot-new');
      writeFileSync(file, `${newKey}\n${oldKey}\n`);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal((await page.get('/api/proxy/server/echo')).body.keyId, 'rot-new', 'the newest key is used at once');
      // A call in flight with the old key still authenticates until the upstream drops it.
      const direct = await fetch(`${upstream.url}/v1/echo`, { headers: { 'x-api-key': oldKey } });
      assert.equal(direct.status, 200);
      upstream.removeServerKey('rot-old');
      writeFileSync(file, `${newKey}\n`);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal((await page.get('/api/proxy/server/echo')).body.keyId, 'rot-new');
    } finally {
      await bff.close();
      await issuer.close();
    }
  });
});
