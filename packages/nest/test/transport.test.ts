import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { KeywardConfigError, MemoryStore, SqliteStore, resolveKeywardOptions, type KeywardModuleOptions, type TransportOptions } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { nodeRequest } from './support/raw-http.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { selfSignedCert } from './support/tls.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-transport-'));
let cert: Buffer;
let key: Buffer;
let tls: Agent;

before(() => {
  ({ cert, key } = selfSignedCert(tmp));
  tls = new Agent({ connect: { ca: cert } });
});
after(async () => {
  await tls?.close();
  rmSync(tmp, { recursive: true, force: true });
});

let seq = 0;
/** Production options: strong secret, Secure cookie (the default), embedded store on disk. */
function productionOptions(transport: TransportOptions = {}): KeywardModuleOptions {
  return {
    production: true,
    session: { secrets: [secret()], store: new SqliteStore({ file: join(tmp, `prod-${++seq}.sqlite`) }), sweepIntervalMs: 0 },
    transport,
  };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
  setCookie: string[];
}

async function httpsCall(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const res = await request(`${url}${path}`, {
    method: method as 'GET',
    dispatcher: tls,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  const sc = res.headers['set-cookie'];
  return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined, setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc] };
}

async function plainCall(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const r = await nodeRequest(url, method, path, body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, body === undefined ? undefined : JSON.stringify(body));
  const sc = r.headers['set-cookie'];
  return { status: r.status, headers: r.headers, json: r.json, setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc] };
}

function assertHttpsRequired(r: Answer, what: string): void {
  assert.equal(r.status, 403, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
  assert.equal(r.json?.code, 'KW_HTTPS_REQUIRED', what);
  assert.equal(r.headers['strict-transport-security'], undefined, `${what}: HSTS on a plain-HTTP answer`);
  assert.deepEqual(r.setCookie, [], `${what}: a cookie over plain HTTP`);
}

for (const adapter of ADAPTERS) {
  describe(`HTTPS enforcement in production on ${adapter}`, () => {
    const apps: RunningApp[] = [];
    after(async () => {
      for (const a of apps) await a.close();
    });
    const start = async (transport: TransportOptions = {}, https = false): Promise<RunningApp> => {
      // Production refuses at startup a plain-HTTP listener that trusts no proxy; these tests
      // check the refusal of each request behind that, so they declare the documented escape.
      const options = productionOptions({ ...transport, httpsServedElsewhere: !https && !transport.trustProxy });
      const app = await startTestApp(adapter, options, https ? { https: { key, cert } } : {});
      apps.push(app);
      return app;
    };

    it('over HTTPS: Strict-Transport-Security on every answer; the session cookie is __Host-sid; Secure; HttpOnly; SameSite=Strict', async () => {
      const app = await start({}, true);
      assert.ok(app.url.startsWith('https://'));
      for (const path of ['/healthz', '/nowhere', '/me']) {
        const r = await httpsCall(app.url, 'GET', path);
        assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', `${path}: ${r.status}`);
        assert.equal(r.headers['x-content-type-options'], 'nosniff');
      }
      const login = await httpsCall(app.url, 'POST', '/login', { origin: app.url, 'x-csrf': '1' }, { user: 'tls-user' });
      assert.equal(login.status, 200, JSON.stringify(login.json));
      assert.equal(login.setCookie.length, 1);
      const [pair, ...attrs] = login.setCookie[0]!.split(';').map((p) => p.trim());
      assert.match(pair!, /^__Host-sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      for (const a of ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(attrs.includes(a), `${a} missing: ${login.setCookie[0]}`);
      assert.ok(!attrs.some((a) => /^domain=/i.test(a)), 'no Domain on a __Host- cookie');
      const me = await httpsCall(app.url, 'GET', '/me', { cookie: pair! });
      assert.equal(me.status, 200);
      assert.equal(me.json.user.id, 'tls-user');
      // Over HTTPS our own origin is https://host: the plain-http spelling is foreign.
      const wrongScheme = await httpsCall(app.url, 'POST', '/logout', { cookie: pair!, origin: app.url.replace('https:', 'http:'), 'x-csrf': '1' });
      assert.equal(wrongScheme.status, 403);
    });

    it('plain HTTP with the same options: 403 KW_HTTPS_REQUIRED for every method and path, no cookie, no HSTS', async () => {
      const app = await start();
      assert.ok(app.url.startsWith('http://'));
      assertHttpsRequired(await plainCall(app.url, 'GET', '/healthz'), 'GET /healthz');
      assertHttpsRequired(await plainCall(app.url, 'GET', '/nowhere'), 'GET /nowhere');
      assertHttpsRequired(await plainCall(app.url, 'POST', '/login', { origin: app.url, 'x-csrf': '1' }, { user: 'x' }), 'POST /login');
      assertHttpsRequired(await plainCall(app.url, 'GET', '/api/proxy/server/echo', { 'x-csrf': '1', origin: app.url }), 'proxy');
    });

    it('X-Forwarded-Proto from an untrusted peer is ignored (still 403)', async () => {
      for (const transport of [{}, { trustProxy: false as const }, { trustProxy: ['10.0.0.1'] }]) {
        const app = await start(transport);
        for (const xfp of ['https', 'HTTPS', 'https, https', 'http, https']) {
          assertHttpsRequired(await plainCall(app.url, 'GET', '/healthz', { 'x-forwarded-proto': xfp }), `${JSON.stringify(transport)} xfp=${xfp}`);
        }
        assertHttpsRequired(await plainCall(app.url, 'GET', '/healthz', { forwarded: 'proto=https', 'x-forwarded-ssl': 'on', 'front-end-https': 'on' }), 'other spellings');
      }
    });

    it("X-Forwarded-Proto: https from a trusted peer (trustProxy: 'loopback') is believed: 200, HSTS, Secure cookie", async () => {
      const app = await start({ trustProxy: 'loopback' });
      const ok = await plainCall(app.url, 'GET', '/healthz', { 'x-forwarded-proto': 'https' });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      // One proxy hop appends: the last value is what our proxy saw.
      assert.equal((await plainCall(app.url, 'GET', '/healthz', { 'x-forwarded-proto': 'http, https' })).status, 200);
      assertHttpsRequired(await plainCall(app.url, 'GET', '/healthz', { 'x-forwarded-proto': 'https, http' }), 'last hop was http');
      assertHttpsRequired(await plainCall(app.url, 'GET', '/healthz'), 'no header');
      assertHttpsRequired(await plainCall(app.url, 'GET', '/healthz', { 'x-forwarded-proto': 'http' }), 'http');
      const origin = app.url.replace('http:', 'https:');
      const login = await plainCall(app.url, 'POST', '/login', { 'x-forwarded-proto': 'https', origin, 'x-csrf': '1' }, { user: 'proxied' });
      assert.equal(login.status, 200, JSON.stringify(login.json));
      assert.match(login.setCookie[0]!, /^__Host-sid=.*; Secure; SameSite=Strict$/);
      assert.match(login.setCookie[0]!, /HttpOnly/);
    });

    it('redirectHttp: GET and HEAD get 308 to transport.publicOrigin (path and query kept), other methods are still refused', async () => {
      const app = await start({ redirectHttp: true, publicOrigin: `https://127.0.0.1:${8443}` });
      const r = await plainCall(app.url, 'GET', '/healthz?x=1&y=%20');
      assert.equal(r.status, 308);
      assert.equal(r.headers.location, 'https://127.0.0.1:8443/healthz?x=1&y=%20');
      assert.deepEqual(r.setCookie, []);
      const head = await plainCall(app.url, 'HEAD', '/me');
      assert.equal(head.status, 308);
      assertHttpsRequired(await plainCall(app.url, 'POST', '/login', { origin: app.url, 'x-csrf': '1' }, { user: 'x' }), 'POST with redirectHttp');
      // A hostile Host is not turned into a redirect target.
      const bad = await nodeRequest(app.url, 'GET', '/healthz', { host: 'evil.example/x?' });
      assert.notEqual(bad.status, 308, `Location: ${bad.headers.location}`);
    });

    it('plainHttpPaths (load-balancer health checks) are served over HTTP, nothing else is', async () => {
      const app = await start({ plainHttpPaths: ['/healthz'] });
      assert.equal((await plainCall(app.url, 'GET', '/healthz')).status, 200);
      assertHttpsRequired(await plainCall(app.url, 'GET', '/healthz/../me'), 'dot segments do not smuggle another path');
      assertHttpsRequired(await plainCall(app.url, 'GET', '/me'), '/me');
    });
  });
}

describe('transport options and the production self-audit', () => {
  it('production refuses requireHttps: false, secure: false and trustProxy: true, listing every problem', () => {
    assert.throws(
      () => resolveKeywardOptions({ ...productionOptions({ requireHttps: false }), session: { secrets: [secret()], store: new MemoryStore(), cookie: { secure: false, name: 'sid' } } }),
      (e: unknown) => {
        assert.ok(e instanceof KeywardConfigError);
        const text = e.problems.join('\n');
        for (const part of ['transport.requireHttps', 'session.cookie.secure', 'session.store']) assert.ok(text.includes(part), `${part} not reported:\n${text}`);
        return true;
      },
    );
    assert.throws(() => resolveKeywardOptions(productionOptions({ trustProxy: true as unknown as false })), KeywardConfigError);
    assert.throws(() => resolveKeywardOptions(productionOptions({ trustProxy: ['not-an-ip'] })), KeywardConfigError);
  });
});
