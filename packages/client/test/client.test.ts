// @keyward/client against a real HTTP server on loopback that answers as Keyward does, with
// Node's own fetch (no mock of fetch): headers sent, typed errors, the session-ended report,
// Retry-After, the session probe, proxy paths, option validation.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  ForbiddenError, KeywardClientError, NetworkError, RateLimitedError, SessionEndedError, UnavailableError,
  createKeywardClient, errorFromResponse, parseRetryAfter, resolveClientOptions, type KeywardClientOptions,
} from '../src/index.js';
import { KeywardLikeServer, keywardError, sendJson } from './support/keyward-like-server.js';

let server: KeywardLikeServer;
const SESSION = { user: { name: 'alice' }, expiresAt: '2030-01-01T00:30:00.000Z', absoluteExpiresAt: '2030-01-01T12:00:00.000Z', rotatedAt: null };

before(async () => {
  server = await KeywardLikeServer.start();
});
after(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const client = (options: KeywardClientOptions = {}) => createKeywardClient({ baseUrl: server.url, ...options });
/** The error a promise rejects with (fails when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

describe('headers every request carries', () => {
  it('X-CSRF: 1 on every method and on proxied calls; no Authorization or Cookie; JSON bodies typed', async () => {
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) server.on(m, '/api/thing', (_r, res) => sendJson(res, 200, { ok: m }));
    server.on('GET', '/api/proxy/demo/echo', (_r, res) => sendJson(res, 200, { echo: true }));
    const kw = client();
    assert.deepEqual(await kw.get('/api/thing'), { ok: 'GET' });
    assert.deepEqual(await kw.post('/api/thing', { a: 1 }), { ok: 'POST' });
    assert.deepEqual(await kw.put('/api/thing', { key: 'k' }), { ok: 'PUT' });
    assert.deepEqual(await kw.patch('/api/thing', [1]), { ok: 'PATCH' });
    assert.deepEqual(await kw.delete('/api/thing'), { ok: 'DELETE' });
    assert.equal((await kw.fetch('/api/thing', { method: 'POST', body: 'raw' })).status, 200);
    assert.deepEqual(await (await kw.proxy('demo', '/echo?x=1')).json(), { echo: true });
    assert.equal(server.requests.length, 7);
    for (const r of server.requests) {
      assert.equal(r.headers['x-csrf'], '1', `${r.method} ${r.url}`);
      assert.equal(r.headers.authorization, undefined);
      assert.equal(r.headers.cookie, undefined);
    }
    const post = server.requests[1]!;
    assert.equal(post.headers['content-type'], 'application/json');
    assert.equal(post.headers.accept, 'application/json');
    assert.equal(post.body, '{"a":1}');
    assert.equal(server.requests[5]!.body, 'raw');
    assert.equal(server.requests[6]!.url, '/api/proxy/demo/echo?x=1');
  });

  it('a configured CSRF header (origin.csrfHeader on the server) replaces the default, even over a caller\'s value', async () => {
    server.on('GET', '/api/thing', (_r, res) => sendJson(res, 200, {}));
    await client({ csrfHeader: { name: 'X-Requested-By', value: 'app' } }).get('/api/thing', { headers: { 'x-requested-by': 'other' } });
    await client().fetch('/api/thing', { headers: { 'X-CSRF': '0' } });
    assert.equal(server.requests[0]!.headers['x-requested-by'], 'app');
    assert.equal(server.requests[0]!.headers['x-csrf'], undefined);
    assert.equal(server.requests[1]!.headers['x-csrf'], '1');
  });

  it('refuses to send a token or a cookie header; nothing reaches the server', async () => {
    const kw = client();
    for (const headers of [{ Authorization: 'Bearer sk_live_x' }, { 'proxy-authorization': 'Basic x' }, { cookie: 'sid=x' }] as Record<string, string>[]) {
      const e = await rejection(kw.get('/api/thing', { headers }));
      assert.ok(e instanceof TypeError && /holds no token/.test(e.message), String(e));
      assert.ok(!e.message.includes('sk_live_x'), 'the value is not echoed');
    }
    assert.equal(server.requests.length, 0);
  });

  it('a path never leaves the base URL: absolute, protocol-relative, backslash and dot-dot paths are refused', async () => {
    const kw = client({ baseUrl: `${server.url}/bff` });
    assert.equal(kw.url('/api/x?y=1'), `${server.url}/bff/api/x?y=1`);
    for (const p of ['https://evil.example/x', '//evil.example/x', '/\\evil.example/x', '/../x', '/%2e%2e/x', 'api/x', '']) {
      assert.throws(() => kw.url(p), TypeError, p);
    }
    for (const [svc, p] of [['demo', '../../auth/logout'], ['demo', '/%2E%2E/other/x'], ['..', 'x'], ['de/mo', 'x'], ['', 'x']] as const) {
      assert.ok((await rejection(kw.proxy(svc, p))) instanceof TypeError, `${svc} ${p}`);
    }
    assert.equal(server.requests.length, 0);
  });
});

describe('typed errors from Keyward\'s answers', () => {
  it('401/403/429/503 become their classes with status, code, requestId and retryAfterSeconds', async () => {
    server.on('GET', '/a', (_r, res) => keywardError(res, 401, 'KW_SESSION_EXPIRED', 'Your session has expired. Log in again.'));
    server.on('POST', '/b', (_r, res) => keywardError(res, 403, 'KW_ORIGIN_REFUSED', 'Cross-origin request refused.'));
    server.on('GET', '/c', (_r, res) => keywardError(res, 429, 'KW_PROXY_SESSION_BUSY', 'Too many calls in flight.', { 'retry-after': '7' }));
    server.on('GET', '/d', (_r, res) => keywardError(res, 503, 'KW_STORE_UNAVAILABLE', 'The session store is unavailable. Retry shortly.'));
    server.on('GET', '/e', (_r, res) => keywardError(res, 409, 'KW_CREDENTIAL_MISSING', 'No key stored for demo-byok.'));
    const kw = client();
    const a = await rejection(kw.get('/a'));
    assert.ok(a instanceof SessionEndedError && a instanceof KeywardClientError);
    assert.deepEqual([a.kind, a.status, a.code, a.message, a.method, a.path], ['session-ended', 401, 'KW_SESSION_EXPIRED', 'Your session has expired. Log in again.', 'GET', '/a']);
    assert.match(a.requestId!, /^[0-9a-f-]{36}$/);
    const b = await rejection(kw.post('/b', {}));
    assert.ok(b instanceof ForbiddenError);
    assert.deepEqual([b.kind, b.status, b.code], ['forbidden', 403, 'KW_ORIGIN_REFUSED']);
    const c = await rejection(kw.get('/c'));
    assert.ok(c instanceof RateLimitedError);
    assert.deepEqual([c.kind, c.code, c.retryAfterSeconds], ['rate-limited', 'KW_PROXY_SESSION_BUSY', 7]);
    const d = await rejection(kw.get('/d'));
    assert.ok(d instanceof UnavailableError);
    assert.deepEqual([d.kind, d.code, d.retryAfterSeconds], ['unavailable', 'KW_STORE_UNAVAILABLE', undefined]);
    const e = await rejection(kw.get('/e'));
    assert.ok(e instanceof KeywardClientError && !(e instanceof SessionEndedError));
    assert.deepEqual([e.kind, e.status, e.code, e.name], ['http', 409, 'KW_CREDENTIAL_MISSING', 'KeywardClientError']);
  });

  it('a 401 with an app code (a wrong password) is not a session end', async () => {
    server.on('POST', '/api/auth/login', (_r, res) => sendJson(res, 401, { error: 'Invalid username or password.', code: 'KW_LOGIN_FAILED' }));
    let ended = 0;
    const e = await rejection(client({ onSessionEnded: () => ended++ }).post('/api/auth/login', { username: 'a', password: 'b' }));
    assert.ok(e instanceof KeywardClientError && !(e instanceof SessionEndedError));
    assert.equal(e.code, 'KW_LOGIN_FAILED');
    assert.match(e.requestId!, /^[0-9a-f-]{36}$/, 'the request id comes from X-Request-Id when the body has none');
    assert.equal(ended, 0);
  });

  it('answers that are not Keyward\'s shape: HTTP_<status>, a generic message, a long message cut, a bad code ignored', async () => {
    server.on('GET', '/html', (_r, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'));
    server.on('GET', '/long', (_r, res) => sendJson(res, 400, { error: 'x'.repeat(5000), code: 'KW_INVALID_ARGUMENT' }));
    server.on('GET', '/odd', (_r, res) => sendJson(res, 418, { error: 42, code: 'KW BAD\r\nX-Injected: 1', __proto__: { polluted: true } }));
    server.on('GET', '/null', (_r, res) => sendJson(res, 500, null));
    const kw = client();
    const html = (await rejection(kw.get('/html'))) as KeywardClientError;
    assert.deepEqual([html.status, html.code, html.body], [502, 'HTTP_502', undefined]);
    assert.match(html.message, /status 502/);
    const long = (await rejection(kw.get('/long'))) as KeywardClientError;
    assert.ok(long.message.length <= 501, `${long.message.length}`);
    const odd = (await rejection(kw.get('/odd'))) as KeywardClientError;
    assert.deepEqual([odd.code, odd.message], ['HTTP_418', 'Request failed with status 418 (I\'m a Teapot).']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(((await rejection(kw.get('/null'))) as KeywardClientError).code, 'HTTP_500');
  });

  it('no answer: NetworkError (status 0, NETWORK_ERROR); an aborted request rejects with the abort reason', async () => {
    const gone = await KeywardLikeServer.start();
    const url = gone.url;
    await gone.close();
    const e = await rejection(createKeywardClient({ baseUrl: url }).get('/x'));
    assert.ok(e instanceof NetworkError);
    assert.deepEqual([e.kind, e.status, e.code], ['network', 0, 'NETWORK_ERROR']);
    server.on('GET', '/slow', async (_r, res) => {
      await new Promise((r) => setTimeout(r, 2000));
      sendJson(res, 200, {});
    });
    const aborted = await rejection(client().get('/slow', { signal: AbortSignal.timeout(50) }));
    assert.equal((aborted as Error).name, 'TimeoutError');
  });

  it('errorFromResponse reads a refusal from the raw fetch; fetch itself resolves with any status', async () => {
    server.on('GET', '/f', (_r, res) => keywardError(res, 429, 'KW_LOGIN_RATE_LIMITED', 'Too many failed logins.', { 'retry-after': '300' }));
    const res = await client().fetch('/f');
    assert.equal(res.status, 429);
    const e = await errorFromResponse(res, 'GET');
    assert.ok(e instanceof RateLimitedError);
    assert.deepEqual([e.code, e.retryAfterSeconds], ['KW_LOGIN_RATE_LIMITED', 300]);
  });

  it('json(): an empty answer (204) is null; a body that is not JSON is INVALID_JSON', async () => {
    server.on('DELETE', '/k', (_r, res) => res.writeHead(204).end());
    server.on('GET', '/t', (_r, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
    assert.equal(await client().delete('/k'), null);
    const e = (await rejection(client().get('/t'))) as KeywardClientError;
    assert.deepEqual([e.status, e.code], [200, 'INVALID_JSON']);
  });
});

describe('onSessionEnded', () => {
  it('is called once for a burst of 401s, not for requests already in flight, and again after a later success', async () => {
    let alive = false;
    server.on('GET', '/api/x', (_r, res) => (alive ? sendJson(res, 200, {}) : keywardError(res, 401, 'KW_SESSION_REQUIRED', 'Authentication required.')));
    server.on('GET', '/api/slow-ok', async (_r, res) => {
      await new Promise((r) => setTimeout(r, 150));
      sendJson(res, 200, {});
    });
    const calls: SessionEndedError[] = [];
    const kw = client({ onSessionEnded: (e) => calls.push(e) });
    // A success that was sent before the end was seen does not re-arm the report.
    const inFlight = kw.get('/api/slow-ok');
    const burst = await Promise.allSettled(Array.from({ length: 6 }, () => kw.get('/api/x')));
    assert.ok(burst.every((r) => r.status === 'rejected' && r.reason instanceof SessionEndedError));
    await inFlight;
    assert.equal((await rejection(kw.get('/api/x'))) instanceof SessionEndedError, true);
    assert.equal((await kw.fetch('/api/x')).status, 401, 'the raw fetch reports too (it is still the same burst)');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.code, 'KW_SESSION_REQUIRED');
    // A new login: the next end is reported again.
    alive = true;
    await kw.get('/api/x');
    alive = false;
    await rejection(kw.get('/api/x'));
    await kw.fetch('/api/x');
    assert.equal(calls.length, 2);
  });

  it('a handler that throws does not replace the caller\'s error; its failure is reported (console.error outside a browser)', async (t) => {
    server.on('GET', '/api/x', (_r, res) => keywardError(res, 401, 'KW_SESSION_EXPIRED', 'Expired.'));
    const reported = t.mock.method(console, 'error', () => undefined);
    const e = await rejection(client({ onSessionEnded: () => { throw new Error('handler bug'); } }).get('/api/x'));
    assert.ok(e instanceof SessionEndedError);
    assert.deepEqual(reported.mock.calls.map((c) => (c.arguments[0] as Error).message), ['handler bug']);
  });
});

describe('Retry-After', () => {
  it('off by default: a 429 is thrown at once with its Retry-After', async () => {
    server.on('GET', '/r', (_r, res, n) => (n === 1 ? keywardError(res, 429, 'KW_PROXY_SESSION_BUSY', 'Busy.', { 'retry-after': '1' }) : sendJson(res, 200, { n })));
    const e = (await rejection(client().get('/r'))) as RateLimitedError;
    assert.equal(e.retryAfterSeconds, 1);
    assert.equal(server.seen('/r').length, 1);
  });

  it('with attempts, an idempotent request is sent again once the wait has passed', async () => {
    server.on('GET', '/r', (_r, res, n) => (n === 1 ? keywardError(res, 429, 'KW_PROXY_SESSION_BUSY', 'Busy.', { 'retry-after': '1' }) : sendJson(res, 200, { n })));
    server.on('PUT', '/p', (_r, res, n) => (n < 3 ? keywardError(res, 503, 'KW_UPSTREAM_BUSY', 'Busy.', { 'retry-after': '0' }) : sendJson(res, 200, { n })));
    const kw = client({ retry: { attempts: 2 } });
    assert.deepEqual(await kw.get('/r'), { n: 2 });
    const [first, second] = server.seen('/r');
    assert.ok(second!.at - first!.at >= 950, `waited ${second!.at - first!.at} ms for Retry-After: 1`);
    assert.deepEqual(await kw.put('/p', { v: 1 }), { n: 3 });
    assert.deepEqual(server.seen('/p').map((r) => r.body), ['{"v":1}', '{"v":1}', '{"v":1}'], 'the body is sent again each time');
  });

  it('never retries POST unless asked; gives up when attempts run out or the wait is above maxDelayMs', async () => {
    server.on('POST', '/q', (_r, res) => keywardError(res, 503, 'KW_UPSTREAM_BUSY', 'Busy.', { 'retry-after': '0' }));
    server.on('GET', '/long-wait', (_r, res) => keywardError(res, 429, 'KW_PROXY_SESSION_BUSY', 'Busy.', { 'retry-after': '120' }));
    server.on('GET', '/no-header', (_r, res) => keywardError(res, 503, 'KW_STORE_UNAVAILABLE', 'Down.'));
    const kw = client({ retry: { attempts: 3, defaultDelayMs: 20 } });
    assert.ok((await rejection(kw.post('/q', {}))) instanceof UnavailableError);
    assert.equal(server.seen('/q').length, 1, 'POST is not idempotent: sent once');
    await rejection(client({ retry: { attempts: 1, methods: ['POST'] } }).post('/q', {}));
    assert.equal(server.seen('/q').length, 3, 'listed explicitly: retried once');
    const long = (await rejection(kw.get('/long-wait'))) as RateLimitedError;
    assert.equal(long.retryAfterSeconds, 120);
    assert.equal(server.seen('/long-wait').length, 1, 'a wait above maxDelayMs is left to the caller');
    await rejection(kw.get('/no-header'));
    assert.equal(server.seen('/no-header').length, 4, 'no Retry-After: defaultDelayMs, then 3 retries');
    await rejection(kw.get('/no-header', { retry: false }));
    assert.equal(server.seen('/no-header').length, 5, 'retry: false for one request');
  });

  it('an abort during the wait ends it at once with the abort reason; nothing more is sent', async () => {
    server.on('GET', '/r', (_r, res) => keywardError(res, 429, 'KW_PROXY_SESSION_BUSY', 'Busy.', { 'retry-after': '5' }));
    const ac = new AbortController();
    const t0 = Date.now();
    const p = client({ retry: { attempts: 2 } }).get('/r', { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user left')), 100);
    const e = await rejection(p);
    assert.equal((e as Error).message, 'user left');
    assert.ok(Date.now() - t0 < 4000, 'the 5 s wait did not run out');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.seen('/r').length, 1);
  });

  it('parseRetryAfter: seconds or an HTTP date; hostile values give undefined', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    assert.equal(parseRetryAfter('30'), 30);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:28:10 GMT', now), 10);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now), 0);
    assert.equal(parseRetryAfter('999999999999'), 86_400);
    for (const bad of ['-1', '1.5', 'NaN', 'Infinity', '1e3', '', 'soon', 'Oct 2026', '5\r\nX: y', '٣', null, undefined]) assert.equal(parseRetryAfter(bad as string), undefined, String(bad));
  });
});

describe('session probe', () => {
  it('asks with slide=false and answers the session, or null after a 401 (reported once)', async () => {
    let alive = true;
    server.on('GET', '/api/auth/session', (_r, res) => (alive ? sendJson(res, 200, SESSION, { 'cache-control': 'no-store' }) : keywardError(res, 401, 'KW_SESSION_EXPIRED', 'Expired.')));
    let ended = 0;
    const kw = client({ onSessionEnded: () => ended++ });
    assert.deepEqual(await kw.session(), SESSION);
    alive = false;
    assert.equal(await kw.session(), null);
    assert.equal(await kw.session(), null);
    assert.equal(ended, 1);
    assert.deepEqual(server.seen('/api/auth/session').map((r) => r.url), Array(3).fill('/api/auth/session?slide=false'));
    assert.ok(server.requests.every((r) => r.headers['x-csrf'] === '1'));
    await kw.session({ slide: true });
    assert.equal(server.requests.at(-1)!.url, '/api/auth/session');
  });

  it('other refusals are thrown; the path is configurable', async () => {
    server.on('GET', '/me', (_r, res) => keywardError(res, 503, 'KW_STORE_UNAVAILABLE', 'Down.'));
    const e = await rejection(client({ sessionPath: '/me' }).session());
    assert.ok(e instanceof UnavailableError);
    assert.equal(server.requests[0]!.url, '/me?slide=false');
  });
});

describe('options', () => {
  it('every problem reported at once, with the value and the fix', () => {
    const e = (() => {
      try {
        resolveClientOptions({ baseUrl: 'ftp://x', credentials: 'omit' as 'include', csrfHeader: { name: 'Content-Type', value: '1' }, retry: { attempts: 10, methods: ['GET', 7 as unknown as string] }, sessionPath: 'api/session', onSessionEnd: () => undefined } as KeywardClientOptions, undefined);
      } catch (err) {
        return err as TypeError;
      }
      return assert.fail('expected a TypeError');
    })();
    assert.ok(e instanceof TypeError);
    for (const part of ['7 problem(s)', 'onSessionEnd: unknown option. Did you mean `onSessionEnded`?', "baseUrl: 'ftp://x' must be an http(s) URL", "credentials: expected 'same-origin' or 'include', got 'omit'", "csrfHeader.name: 'Content-Type' is not a custom header", 'retry.attempts: expected an integer from 0 to 5, got 10', 'retry.methods', "sessionPath: expected a path such as '/api/auth/session'"]) {
      assert.ok(e.message.includes(part), `${part}\n${e.message}`);
    }
  });

  it('cookies go to this origin only: another origin needs credentials: \'include\', and include is refused for the own origin', () => {
    const page = 'https://app.example.com';
    assert.equal(resolveClientOptions({}, page).credentials, 'same-origin');
    assert.equal(resolveClientOptions({ baseUrl: '/bff/' }, page).baseUrl, '/bff');
    assert.equal(resolveClientOptions({ baseUrl: 'https://app.example.com/bff' }, page).credentials, 'same-origin');
    assert.throws(() => resolveClientOptions({ baseUrl: 'https://api.example.com' }, page), /another origin than this page \(https:\/\/app\.example\.com\).*credentials: 'include'/s);
    assert.equal(resolveClientOptions({ baseUrl: 'https://api.example.com', credentials: 'include' }, page).credentials, 'include');
    assert.throws(() => resolveClientOptions({ credentials: 'include' }, page), /only for a baseUrl on another origin/);
    assert.throws(() => resolveClientOptions({ baseUrl: 'https://user:pw@api.example.com', credentials: 'include' }, page), /must not contain credentials/);
    assert.throws(() => resolveClientOptions({ baseUrl: '//api.example.com' }, page), /plain path/);
  });

  it('outside a browser a relative base is refused when used', async () => {
    assert.ok((await rejection(createKeywardClient().get('/x'))) instanceof TypeError);
  });
});
