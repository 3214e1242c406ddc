import assert from 'node:assert/strict';
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_REDIRECT_TARGET,
  MAX_BIG_BYTES,
  MAX_BODY_BYTES,
  type UpstreamHandle,
  startUpstream,
} from '../src/index.js';

const SERVER_KEY = 'sk_test_primary_0123456789abcdef';
const SECOND_KEY = 'sk/second+key=with&special chars';
const ADMIN = 'admin-token-for-tests-0123456789';
const KEY = { 'x-api-key': SERVER_KEY };
const ADMIN_AUTH = { authorization: `Bearer ${ADMIN}` };

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request through node:http, which sends the path exactly as given (fetch would normalise it). */
function raw(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, path, method: init.method ?? 'GET', headers: init.headers, agent: init.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Sends bytes over a bare TCP socket and returns whatever comes back before the server closes or 1 s passes. */
function rawSocket(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const done = (): void => {
      socket.destroy();
      resolve(out);
    };
    socket.setTimeout(1000, done);
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('end', done);
    socket.on('error', done);
    socket.write(bytes);
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  assert.equal(res.headers.get('content-type'), 'application/json');
  return (await res.json()) as Record<string, unknown>;
}

async function mintOverHttp(url: string, body?: unknown): Promise<{ id: string; key: string; expiresAt: string }> {
  const res = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { ...ADMIN_AUTH, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; key: string; expiresAt: string };
}

describe('demo upstream', () => {
  let up: UpstreamHandle;
  let url: string;

  before(async () => {
    up = await startUpstream({ port: 0, host: '127.0.0.1', serverKeys: [SERVER_KEY, SECOND_KEY], adminToken: ADMIN });
    url = up.url;
  });
  after(async () => {
    await up.close();
  });

  describe('start and options', () => {
    it('listens on a free port and reports its URL and key ids', () => {
      assert.ok(up.port > 0);
      assert.equal(up.url, `http://127.0.0.1:${up.port}`);
      assert.equal(up.host, '127.0.0.1');
      assert.deepEqual(up.serverKeyIds, ['server-1', 'server-2']);
    });

    it('accepts {id, key} server keys and names bare strings by position', async () => {
      const other = await startUpstream({ serverKeys: [{ id: 'primary', key: 'aaa' }, 'bbb'], adminToken: 'x' });
      try {
        assert.deepEqual(other.serverKeyIds, ['primary', 'server-2']);
        const a = await json(await fetch(`${other.url}/v1/echo`, { headers: { 'x-api-key': 'aaa' } }));
        assert.equal(a['keyId'], 'primary');
        const b = await json(await fetch(`${other.url}/v1/echo`, { headers: { 'x-api-key': 'bbb' } }));
        assert.equal(b['keyId'], 'server-2');
      } finally {
        await other.close();
      }
    });

    it('rejects invalid options', async () => {
      await assert.rejects(startUpstream({ serverKeys: ['a'], adminToken: '' }), TypeError);
      await assert.rejects(startUpstream({ serverKeys: ['a', 'a'], adminToken: 't' }), /duplicates/);
      await assert.rejects(
        startUpstream({ serverKeys: [{ id: 'x', key: 'a' }, { id: 'x', key: 'b' }], adminToken: 't' }),
        /duplicate key id/,
      );
      await assert.rejects(startUpstream({ serverKeys: [''], adminToken: 't' }), TypeError);
      await assert.rejects(startUpstream({ serverKeys: [], adminToken: 't', port: 70000 }), RangeError);
      await assert.rejects(startUpstream({ serverKeys: [], adminToken: 't', mintedKeyTtlMs: 0 }), RangeError);
    });

    it('rejects when the port is taken', async () => {
      await assert.rejects(startUpstream({ port: up.port, serverKeys: [], adminToken: 't' }), /EADDRINUSE/);
    });
  });

  describe('/v1 authentication', () => {
    it('answers 401 JSON without a key, for known and unknown routes alike', async () => {
      for (const path of ['/v1/echo', '/v1/nope', '/v1/status/200', '/v1/big?bytes=10']) {
        const res = await fetch(url + path);
        assert.equal(res.status, 401, path);
        assert.deepEqual(await json(res), { error: 'invalid or missing api key' });
      }
    });

    it('answers 404 for an unknown /v1 route once the key is valid', async () => {
      const res = await fetch(`${url}/v1/nope`, { headers: KEY });
      assert.equal(res.status, 404);
      assert.deepEqual(await json(res), { error: 'not found' });
    });

    it('accepts Authorization: Bearer as an alternative', async () => {
      const body = await json(await fetch(`${url}/v1/echo`, { headers: { authorization: `Bearer ${SERVER_KEY}` } }));
      assert.equal(body['keyId'], 'server-1');
      const lower = await fetch(`${url}/v1/echo`, { headers: { authorization: `bearer ${SERVER_KEY}` } });
      assert.equal(lower.status, 200);
      const basic = await fetch(`${url}/v1/echo`, { headers: { authorization: `Basic ${SERVER_KEY}` } });
      assert.equal(basic.status, 401);
    });

    it('lets x-api-key win over a bearer token', async () => {
      const res = await fetch(`${url}/v1/echo`, {
        headers: { 'x-api-key': 'wrong', authorization: `Bearer ${SERVER_KEY}` },
      });
      assert.equal(res.status, 401);
    });

    it('rejects near-misses of every length without breaking (constant-time compare on digests)', async () => {
      const candidates = [
        'x',
        SERVER_KEY.slice(0, -1),
        `${SERVER_KEY}x`,
        SERVER_KEY.toUpperCase(),
        `${SERVER_KEY.slice(0, -1)}g`,
        'k'.repeat(8 * 1024),
        'ключ-ü-🔑',
        ADMIN,
      ];
      for (const candidate of candidates) {
        const headers = { 'x-api-key': Buffer.from(candidate, 'utf8').toString('latin1') };
        const res = await raw(url, '/v1/echo', { headers });
        assert.equal(res.status, 401, `candidate of length ${candidate.length}`);
      }
      assert.equal((await fetch(`${url}/v1/echo`, { headers: KEY })).status, 200);
    });

    it('rejects a key sent twice (joined header value)', async () => {
      const res = await raw(url, '/v1/echo', { headers: { 'x-api-key': [SERVER_KEY, SERVER_KEY] as unknown as string } });
      assert.equal(res.status, 401);
    });
  });

  describe('/v1/echo', () => {
    it('reports method, raw path, query, header names (not values), key id and body size', async () => {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        const hasBody = method !== 'GET';
        const res = await fetch(`${url}/v1/echo?x=1&y=two&y=three&empty=`, {
          method,
          headers: { ...KEY, 'X-Custom-Thing': 'value-should-not-appear', ...(hasBody && { 'content-type': 'text/plain' }) },
          ...(hasBody && { body: 'hello' }),
        });
        assert.equal(res.status, 200, method);
        const text = await res.text();
        assert.ok(!text.includes('value-should-not-appear'), 'header values are never echoed');
        assert.ok(!text.includes(SERVER_KEY), 'the key is not echoed without reflect');
        const body = JSON.parse(text) as Record<string, unknown>;
        assert.equal(body['method'], method);
        assert.equal(body['path'], '/v1/echo');
        assert.deepEqual(body['query'], { x: '1', y: ['two', 'three'], empty: '' });
        assert.equal(body['keyId'], 'server-1');
        assert.equal(body['bodyBytes'], hasBody ? 5 : 0);
        const names = body['headerNames'] as string[];
        assert.deepEqual(names, [...names].sort());
        assert.ok(names.includes('x-custom-thing'));
        assert.ok(names.includes('x-api-key'));
        assert.ok(names.every((n) => n === n.toLowerCase()));
        assert.equal(body['receivedKey'], undefined);
        assert.equal(res.headers.get('x-received-key'), null);
      }
    });

    it('counts binary body bytes exactly', async () => {
      const body = await json(
        await fetch(`${url}/v1/echo`, { method: 'POST', headers: KEY, body: Buffer.alloc(100_000, 7) }),
      );
      assert.equal(body['bodyBytes'], 100_000);
    });

    it('reports the second server key by its id', async () => {
      const body = await json(await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': SECOND_KEY } }));
      assert.equal(body['keyId'], 'server-2');
    });

    it('reports the path as received, without normalising it', async () => {
      const res = await raw(url, '/v1//echo/', { headers: KEY });
      assert.equal(res.status, 200);
      assert.equal((JSON.parse(res.body) as Record<string, unknown>)['path'], '/v1//echo/');
    });

    it('?reflect=1 leaks the raw key in the body and in x-received-key', async () => {
      const res = await fetch(`${url}/v1/echo?reflect=1`, { headers: { 'x-api-key': SECOND_KEY } });
      assert.equal(res.headers.get('x-received-key'), SECOND_KEY);
      const body = await json(res);
      assert.equal(body['receivedKey'], SECOND_KEY);
      assert.equal(body['keyId'], 'server-2');
    });

    it('?reflect=b64 and ?reflect=url leak encoded forms', async () => {
      const b64 = await fetch(`${url}/v1/echo?reflect=b64`, { headers: { 'x-api-key': SECOND_KEY } });
      const expectedB64 = Buffer.from(SECOND_KEY).toString('base64');
      assert.equal(b64.headers.get('x-received-key'), expectedB64);
      assert.equal((await json(b64))['receivedKey'], expectedB64);

      const enc = await fetch(`${url}/v1/echo?reflect=url`, { headers: { 'x-api-key': SECOND_KEY } });
      const expectedUrl = encodeURIComponent(SECOND_KEY);
      assert.notEqual(expectedUrl, SECOND_KEY);
      assert.equal(enc.headers.get('x-received-key'), expectedUrl);
      assert.equal((await json(enc))['receivedKey'], expectedUrl);
    });

    it('reflects a bearer-presented key too', async () => {
      const res = await fetch(`${url}/v1/echo?reflect=1`, { headers: { authorization: `Bearer ${SERVER_KEY}` } });
      assert.equal((await json(res))['receivedKey'], SERVER_KEY);
    });
  });

  describe('other /v1 routes', () => {
    it('GET /v1/set-cookie sets a cookie', async () => {
      const res = await fetch(`${url}/v1/set-cookie`, { headers: KEY });
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.getSetCookie(), ['upstream=1; Path=/']);
      assert.deepEqual(await json(res), { ok: true });
    });

    it('GET /v1/redirect redirects to ?to= or to the default', async () => {
      const def = await fetch(`${url}/v1/redirect`, { headers: KEY, redirect: 'manual' });
      assert.equal(def.status, 302);
      assert.equal(def.headers.get('location'), DEFAULT_REDIRECT_TARGET);
      assert.equal(DEFAULT_REDIRECT_TARGET, 'http://127.0.0.2:1/elsewhere');
      const to = 'http://169.254.169.254/latest/meta-data/';
      const custom = await fetch(`${url}/v1/redirect?to=${encodeURIComponent(to)}`, { headers: KEY, redirect: 'manual' });
      assert.equal(custom.status, 302);
      assert.equal(custom.headers.get('location'), to);
      const bad = await fetch(`${url}/v1/redirect?to=${encodeURIComponent('a\r\nx-evil: 1')}`, {
        headers: KEY,
        redirect: 'manual',
      });
      assert.equal(bad.status, 400);
    });

    it('GET /v1/slow?ms=N waits and answers {slept}', async () => {
      const started = Date.now();
      const res = await fetch(`${url}/v1/slow?ms=120`, { headers: KEY });
      assert.deepEqual(await json(res), { slept: 120 });
      assert.ok(Date.now() - started >= 100);
      for (const bad of ['', '?ms=-1', '?ms=abc', '?ms=1.5']) {
        assert.equal((await fetch(`${url}/v1/slow${bad}`, { headers: KEY })).status, 400, bad);
      }
    });

    it('GET /v1/slow stops waiting when the client disconnects', async () => {
      const before = up.stats().slowCancelled;
      const controller = new AbortController();
      const pending = fetch(`${url}/v1/slow?ms=999999`, { headers: KEY, signal: controller.signal });
      await sleep(100);
      controller.abort();
      await assert.rejects(pending);
      for (let i = 0; i < 50 && up.stats().slowCancelled === before; i++) await sleep(20);
      assert.equal(up.stats().slowCancelled, before + 1);
    });

    it('GET /v1/big?bytes=N sends N bytes of "a", capped at 50 MB', async () => {
      const res = await fetch(`${url}/v1/big?bytes=200001`, { headers: KEY });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      const buf = Buffer.from(await res.arrayBuffer());
      assert.equal(buf.length, 200_001);
      assert.ok(buf.every((b) => b === 0x61));
      const empty = await fetch(`${url}/v1/big?bytes=0`, { headers: KEY });
      assert.equal((await empty.arrayBuffer()).byteLength, 0);
      const capped = await raw(url, '/v1/big?bytes=999999999999', { method: 'HEAD', headers: KEY });
      assert.equal(capped.status, 200);
      assert.equal(capped.headers['content-length'], String(MAX_BIG_BYTES));
      assert.equal(MAX_BIG_BYTES, 50 * 1024 * 1024);
      assert.equal((await fetch(`${url}/v1/big?bytes=x`, { headers: KEY })).status, 400);
    });

    it('GET /v1/status/:code answers with that status', async () => {
      for (const code of [200, 201, 400, 404, 418, 429, 500, 502, 503, 599]) {
        const res = await fetch(`${url}/v1/status/${code}`, { headers: KEY });
        assert.equal(res.status, code);
        assert.deepEqual(await json(res), { status: code });
      }
      for (const code of [204, 304]) {
        const res = await fetch(`${url}/v1/status/${code}`, { headers: KEY });
        assert.equal(res.status, code);
        assert.equal(await res.text(), '');
      }
      const post = await fetch(`${url}/v1/status/503`, { method: 'POST', headers: KEY, body: 'x' });
      assert.equal(post.status, 503);
      await post.arrayBuffer();
      for (const bad of ['100', '101', '199', '600', '999', 'abc', '2000', '%20200']) {
        const res = await fetch(`${url}/v1/status/${bad}`, { headers: KEY });
        assert.equal(res.status, 400, bad);
        await res.arrayBuffer();
      }
    });

    it('GET /v1/hop sends hop-by-hop headers', async () => {
      const res = await raw(url, '/v1/hop', { headers: KEY });
      assert.equal(res.status, 200);
      assert.equal(res.headers['keep-alive'], 'timeout=5');
      assert.equal(res.headers['proxy-authenticate'], 'Basic');
      assert.equal(res.headers['x-upstream'], '1');
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(res.body), { ok: true });
    });

    it('answers 405 for a wrong method on a read-only route', async () => {
      const res = await fetch(`${url}/v1/set-cookie`, { method: 'POST', headers: KEY });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      assert.equal(res.headers.get('set-cookie'), null);
      await res.arrayBuffer();
    });
  });

  describe('/admin', () => {
    it('refuses a missing or wrong admin token with 401', async () => {
      const cases: Array<Record<string, string>> = [
        {},
        { authorization: 'Bearer wrong' },
        { authorization: `Bearer ${ADMIN}x` },
        { authorization: `Bearer ${ADMIN.slice(0, 5)}` },
        { authorization: `Basic ${ADMIN}` },
        { authorization: ADMIN },
        { 'x-api-key': SERVER_KEY },
        { authorization: `Bearer ${SERVER_KEY}` },
      ];
      for (const headers of cases) {
        for (const [method, path] of [
          ['POST', '/admin/keys'],
          ['GET', '/admin/keys'],
          ['GET', '/admin/keys/mk_0000000000000000'],
          ['DELETE', '/admin/keys/mk_0000000000000000'],
          ['GET', '/admin/stats'],
          ['GET', '/admin/unknown'],
        ] as const) {
          const res = await fetch(url + path, { method, headers });
          assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
          assert.deepEqual(await json(res), { error: 'invalid or missing admin token' });
        }
      }
    });

    it('mints, uses, lists and revokes a key', async () => {
      const before = Date.now();
      const minted = await mintOverHttp(url, { label: 'session alice' });
      assert.match(minted.id, /^mk_[0-9a-f]{16}$/);
      assert.match(minted.key, /^dk_live_[A-Za-z0-9_-]{43}$/);
      const expires = Date.parse(minted.expiresAt);
      assert.equal(new Date(expires).toISOString(), minted.expiresAt);
      assert.ok(Math.abs(expires - (before + 24 * 3600 * 1000)) < 60_000, 'default TTL is 24 h');

      const echo = await json(await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': minted.key } }));
      assert.equal(echo['keyId'], minted.id);
      const bearer = await fetch(`${url}/v1/echo`, { headers: { authorization: `Bearer ${minted.key}` } });
      assert.equal(bearer.status, 200);
      await bearer.arrayBuffer();

      const status = await fetch(`${url}/admin/keys/${minted.id}`, { headers: ADMIN_AUTH });
      assert.deepEqual(await json(status), { id: minted.id, active: true });

      const listRes = await fetch(`${url}/admin/keys`, { headers: ADMIN_AUTH });
      const listText = await listRes.text();
      assert.ok(!listText.includes(minted.key), 'the list never carries key values');
      assert.ok(!listText.includes('dk_live_'));
      const list = JSON.parse(listText) as Array<Record<string, unknown>>;
      const entry = list.find((k) => k['id'] === minted.id);
      assert.ok(entry);
      assert.equal(entry['active'], true);
      assert.equal(entry['label'], 'session alice');

      const del = await fetch(`${url}/admin/keys/${minted.id}`, { method: 'DELETE', headers: ADMIN_AUTH });
      assert.equal(del.status, 204);
      assert.equal(await del.text(), '');

      const after = await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': minted.key } });
      assert.equal(after.status, 401);
      await after.arrayBuffer();
      const status2 = await fetch(`${url}/admin/keys/${minted.id}`, { headers: ADMIN_AUTH });
      assert.deepEqual(await json(status2), { id: minted.id, active: false });

      const again = await fetch(`${url}/admin/keys/${minted.id}`, { method: 'DELETE', headers: ADMIN_AUTH });
      assert.equal(again.status, 204, 'revoking twice is idempotent');
    });

    it('mints with no body, an empty body or {}', async () => {
      const noBody = await fetch(`${url}/admin/keys`, { method: 'POST', headers: ADMIN_AUTH });
      assert.equal(noBody.status, 201);
      assert.equal(noBody.headers.get('cache-control'), 'no-store');
      await noBody.arrayBuffer();
      await mintOverHttp(url, {});
      const empty = await fetch(`${url}/admin/keys`, { method: 'POST', headers: ADMIN_AUTH, body: '' });
      assert.equal(empty.status, 201);
      await empty.arrayBuffer();
    });

    it('expires minted keys after ttlMs', async () => {
      const minted = await mintOverHttp(url, { ttlMs: 40 });
      assert.equal((await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': minted.key } })).status, 200);
      await sleep(80);
      const res = await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': minted.key } });
      assert.equal(res.status, 401);
      await res.arrayBuffer();
      const status = await fetch(`${url}/admin/keys/${minted.id}`, { headers: ADMIN_AUTH });
      assert.deepEqual(await json(status), { id: minted.id, active: false });
    });

    it('answers 404 for unknown key ids', async () => {
      for (const id of ['mk_0000000000000000', 'nope', 'server-1']) {
        const get = await fetch(`${url}/admin/keys/${id}`, { headers: ADMIN_AUTH });
        assert.equal(get.status, 404, id);
        assert.equal(typeof (await json(get))['error'], 'string');
        const del = await fetch(`${url}/admin/keys/${id}`, { method: 'DELETE', headers: ADMIN_AUTH });
        assert.equal(del.status, 404, id);
        await del.arrayBuffer();
      }
      assert.deepEqual(up.serverKeyIds, ['server-1', 'server-2'], 'server keys cannot be revoked over HTTP');
    });

    it('refuses malformed or invalid mint bodies with 400', async () => {
      const bodies = [
        '{not json',
        '{"ttlMs": 1,',
        '[]',
        'null',
        '42',
        '"str"',
        '{"ttlMs": "1000"}',
        '{"ttlMs": -1}',
        '{"ttlMs": 0}',
        '{"ttlMs": 1.5}',
        '{"ttlMs": 1e300}',
        '{"label": 5}',
        JSON.stringify({ label: 'x'.repeat(201) }),
      ];
      for (const body of bodies) {
        const res = await fetch(`${url}/admin/keys`, {
          method: 'POST',
          headers: { ...ADMIN_AUTH, 'content-type': 'application/json' },
          body,
        });
        assert.equal(res.status, 400, body.slice(0, 40));
        assert.equal(typeof (await json(res))['error'], 'string');
      }
      const bytes = await fetch(`${url}/admin/keys`, {
        method: 'POST',
        headers: ADMIN_AUTH,
        body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      });
      assert.equal(bytes.status, 400);
      await bytes.arrayBuffer();
    });

    it('counts minted, revoked and active keys and requests', async () => {
      const s0 = await json(await fetch(`${url}/admin/stats`, { headers: ADMIN_AUTH }));
      const a = await mintOverHttp(url);
      await mintOverHttp(url);
      await (await fetch(`${url}/admin/keys/${a.id}`, { method: 'DELETE', headers: ADMIN_AUTH })).arrayBuffer();
      const s1 = await json(await fetch(`${url}/admin/stats`, { headers: ADMIN_AUTH }));
      assert.deepEqual(Object.keys(s1).sort(), ['active', 'minted', 'requests', 'revoked']);
      assert.equal(s1['minted'], (s0['minted'] as number) + 2);
      assert.equal(s1['revoked'], (s0['revoked'] as number) + 1);
      assert.equal(s1['active'], (s0['active'] as number) + 1);
      assert.equal(s1['requests'], (s0['requests'] as number) + 4);
      assert.deepEqual(up.adminStats(), { ...s1, requests: (s1['requests'] as number) });
    });

    it('answers 404 for unknown admin routes and 405 for wrong methods', async () => {
      const unknown = await fetch(`${url}/admin/nope`, { headers: ADMIN_AUTH });
      assert.equal(unknown.status, 404);
      await unknown.arrayBuffer();
      const put = await fetch(`${url}/admin/keys`, { method: 'PUT', headers: ADMIN_AUTH });
      assert.equal(put.status, 405);
      await put.arrayBuffer();
    });
  });

  describe('/internal/marker and routing', () => {
    it('answers without a key and counts every hit', async () => {
      const before = up.stats().internalHits;
      const res = await fetch(`${url}/internal/marker`);
      assert.deepEqual(await json(res), { internal: 'reached' });
      assert.equal(up.stats().internalHits, before + 1);
    });

    it('is reached through traversal spellings (lenient routing, so a leaky proxy is caught)', async () => {
      const spellings = [
        '/v1/../internal/marker',
        '/v1/%2e%2e/internal/marker',
        '/v1/..%2finternal/marker',
        '/v1/..%5cinternal/marker',
        '/v1/..\\internal/marker',
        '//internal/marker',
        '/internal/./marker',
      ];
      for (const path of spellings) {
        const before = up.stats().internalHits;
        const res = await raw(url, path);
        assert.equal(res.status, 200, path);
        assert.deepEqual(JSON.parse(res.body), { internal: 'reached' });
        assert.equal(up.stats().internalHits, before + 1, path);
      }
    });

    it('counts other /internal paths too', async () => {
      const before = up.stats().internalHits;
      const res = await fetch(`${url}/internal/other`, { method: 'POST', body: 'x' });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
      assert.equal(up.stats().internalHits, before + 1);
    });

    it('answers 404 JSON for everything else', async () => {
      for (const path of ['/', '/v1', '/v2/echo', '/healthz', '/admin-ish', '/internalx']) {
        const res = await fetch(url + path, { headers: KEY });
        assert.equal(res.status, 404, path);
        assert.deepEqual(await json(res), { error: 'not found' });
      }
    });

    it('answers 400 for an undecodable path', async () => {
      const res = await raw(url, '/v1/%zz', { headers: KEY });
      assert.equal(res.status, 400);
      assert.equal(res.headers['content-type'], 'application/json');
    });
  });

  describe('bodies and robustness', () => {
    it('answers 413 above 10 MB (declared length)', async () => {
      for (const path of ['/v1/echo', '/admin/keys']) {
        const res = await fetch(url + path, {
          method: 'POST',
          headers: { ...KEY, ...ADMIN_AUTH },
          body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x62),
        });
        assert.equal(res.status, 413, path);
        assert.deepEqual(await json(res), { error: 'request body too large' });
      }
    });

    it('answers 413 above 10 MB (chunked, no length)', async () => {
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > MAX_BODY_BYTES + 1024 * 1024) controller.close();
          else {
            controller.enqueue(new Uint8Array(256 * 1024));
            sent += 256 * 1024;
          }
        },
      });
      const res = await fetch(`${url}/v1/echo`, { method: 'POST', headers: KEY, body: stream, duplex: 'half' } as RequestInit);
      assert.equal(res.status, 413);
      await res.arrayBuffer();
    });

    it('accepts exactly 10 MB', async () => {
      const res = await fetch(`${url}/v1/echo`, { method: 'POST', headers: KEY, body: Buffer.alloc(MAX_BODY_BYTES) });
      assert.equal((await json(res))['bodyBytes'], MAX_BODY_BYTES);
    });

    it('survives malformed requests', async () => {
      const garbage = [
        'GARBAGE\r\n\r\n',
        'GET /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        'GET /v1/echo HTTP/1.1\r\nHost: x\r\nx-api-key: a\r\n x-folded: y\r\n\r\n',
        'POST /admin/keys HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        'POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort',
      ];
      for (const bytes of garbage) await rawSocket(up.port, bytes);
      const res = await fetch(`${url}/v1/echo`, { headers: KEY });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    });

    it('keeps connections alive', async () => {
      const agent = new Agent({ keepAlive: true });
      try {
        const res = await raw(url, '/v1/echo', { headers: KEY, agent });
        assert.equal(res.headers['connection'], 'keep-alive');
        assert.equal(res.headers['keep-alive'], 'timeout=65');
      } finally {
        agent.destroy();
      }
    });
  });

  describe('test helpers on the handle', () => {
    it('stats() records the last request with header names only; resetStats() clears', async () => {
      await (await fetch(`${url}/v1/echo?q=1`, { method: 'PATCH', headers: { ...KEY, 'x-secret-ish': 'zzz' } })).arrayBuffer();
      const s = up.stats();
      assert.ok(s.requests > 0);
      assert.ok(s.lastRequest);
      assert.equal(s.lastRequest.method, 'PATCH');
      assert.equal(s.lastRequest.path, '/v1/echo');
      assert.ok(s.lastRequest.headerNames.includes('x-secret-ish'));
      assert.ok(!JSON.stringify(s).includes('zzz'));
      assert.ok(!JSON.stringify(s).includes(SERVER_KEY));
      const { internalHits } = s;
      up.resetStats();
      assert.deepEqual(up.stats(), { internalHits: 0, requests: 0, lastRequest: null, slowCancelled: 0 });
      assert.ok(internalHits > 0, 'earlier tests did hit /internal');
    });

    it('mint(), keyStatus() and revoke() work in-process', async () => {
      const minted = up.mint({ label: 'in-process' });
      assert.match(minted.id, /^mk_[0-9a-f]{16}$/);
      assert.deepEqual(up.keyStatus(minted.id), { id: minted.id, active: true });
      const ok = await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': minted.key } });
      assert.equal((await json(ok))['keyId'], minted.id);
      assert.equal(up.revoke(minted.id), true);
      assert.deepEqual(up.keyStatus(minted.id), { id: minted.id, active: false });
      assert.equal(up.revoke('mk_ffffffffffffffff'), false);
      assert.equal(up.keyStatus('mk_ffffffffffffffff'), undefined);
      const gone = await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': minted.key } });
      assert.equal(gone.status, 401);
      await gone.arrayBuffer();
      assert.throws(() => up.mint({ ttlMs: -5 }), /ttlMs/);
      const short = up.mint({ ttlMs: 1 });
      await sleep(5);
      assert.deepEqual(up.keyStatus(short.id), { id: short.id, active: false });
    });

    it('addServerKey() and removeServerKey() rotate server keys', async () => {
      const id = up.addServerKey('rotated-in-key');
      assert.equal(id, 'server-3');
      assert.deepEqual(up.serverKeyIds, ['server-1', 'server-2', 'server-3']);
      const res = await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': 'rotated-in-key' } });
      assert.equal((await json(res))['keyId'], 'server-3');
      assert.equal(up.addServerKey('named-key', 'next'), 'next');
      assert.throws(() => up.addServerKey('named-key'), /duplicates/);
      assert.equal(up.removeServerKey('server-3'), true);
      assert.equal(up.removeServerKey('next'), true);
      assert.equal(up.removeServerKey('server-3'), false);
      const gone = await fetch(`${url}/v1/echo`, { headers: { 'x-api-key': 'rotated-in-key' } });
      assert.equal(gone.status, 401);
      await gone.arrayBuffer();
      assert.deepEqual(up.serverKeyIds, ['server-1', 'server-2']);
    });
  });
});

describe('close()', () => {
  it('closes idle keep-alive connections promptly and is idempotent', async () => {
    const up = await startUpstream({ serverKeys: ['k'], adminToken: 't' });
    const agent = new Agent({ keepAlive: true });
    try {
      const res = await raw(up.url, '/v1/echo', { headers: { 'x-api-key': 'k' }, agent });
      assert.equal(res.status, 200);
      assert.equal(res.headers['connection'], 'keep-alive');
      const started = Date.now();
      await up.close();
      await up.close();
      assert.ok(Date.now() - started < 2000, 'close() did not wait for the 65 s keep-alive timeout');
      await assert.rejects(fetch(`${up.url}/v1/echo`, { headers: { 'x-api-key': 'k' } }));
    } finally {
      agent.destroy();
    }
  });

  it('ends a pending /v1/slow request', async () => {
    const up = await startUpstream({ serverKeys: ['k'], adminToken: 't' });
    const pending = fetch(`${up.url}/v1/slow?ms=20000`, { headers: { 'x-api-key': 'k' } });
    await sleep(100);
    const started = Date.now();
    await up.close();
    await assert.rejects(pending);
    assert.ok(Date.now() - started < 2000);
    for (let i = 0; i < 50 && up.stats().slowCancelled === 0; i++) await sleep(20);
    assert.equal(up.stats().slowCancelled, 1, 'the timer was cleared, nothing keeps the process alive');
  });
});
