/**
 * Regression tests for the proxy findings of security review issue 13, each named after
 * the bug it pins. Real components: a real redis-server (RedisStore), the test
 * upstream over HTTP, a second real HTTP upstream that records raw request targets and
 * sends chosen Cache-Control headers; both adapters.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RedisStore, ServerKeyProvider, normalizeProxyPath, type KeyIssuer } from '../src/index.js';
import { resolveProxyOptions } from '../src/proxy/proxy-options.js';
import { keyHeaderValue, proxiedCacheControl } from '../src/proxy/proxy.service.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { nodeRequest, rawGet } from './support/raw-http.js';
import { type RedisServer, redisSuite } from './support/redis-server.js';
import { findSecrets, secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

let redis: RedisServer;
redisSuite('kw-proxy-hardening-', (server) => (redis = server));

/** Every replacement pattern String.prototype.replace expands: `$&`, `$'`, `` $` ``, `$$`. */
const dollarKey = (tag: string): string => `${tag}$&a$'b$\`c$$d$1-${randomBytes(24).toString('base64url')}`;
const SERVER_KEY = dollarKey('srv');
/** A key without `$`, for the tests of the other findings (so that each fails for its own reason). */
const PLAIN_KEY = `plain-${secret()}`;
const ADMIN = secret();

let upstream: UpstreamHandle;

/**
 * An issuer that mints keys full of `$` patterns and registers them at the real upstream
 * (the test upstream's admin API only mints its own random keys).
 */
class DollarIssuer implements KeyIssuer {
  readonly minted = new Map<string, string>();
  private seq = 0;
  async mint(): Promise<{ id: string; key: string }> {
    const key = dollarKey('mint');
    const id = upstream.addServerKey(key, `minted-dollar-${++this.seq}-${randomBytes(4).toString('hex')}`);
    this.minted.set(id, key);
    return { id, key };
  }
  async revoke(id: string): Promise<void> {
    upstream.removeServerKey(id);
  }
}

/** A real upstream that records the raw request target and answers with chosen Cache-Control headers. */
interface RecordingUpstream {
  url: string;
  lastTarget: string | undefined;
  close(): Promise<void>;
}
const CACHE_ROUTES: Record<string, string | undefined> = {
  '/v1/public': 'public, max-age=600, s-maxage=600, proxy-revalidate',
  '/v1/private': 'private, max-age=60',
  '/v1/quoted': 'private="x-user", max-age=60, public',
  '/v1/none': undefined,
};
async function startRecordingUpstream(key: string): Promise<RecordingUpstream> {
  const handle: RecordingUpstream = { url: '', lastTarget: undefined, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res) => {
    handle.lastTarget = req.url;
    if (req.headers['x-api-key'] !== key) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad key"}');
      return;
    }
    const path = (req.url ?? '').split('?')[0]!;
    const headers: Record<string, string> = { 'content-type': 'application/json', etag: '"v1"', expires: new Date(Date.now() + 600_000).toUTCString() };
    const cc = CACHE_ROUTES[path];
    if (cc !== undefined) headers['cache-control'] = cc;
    res.writeHead(200, headers).end(JSON.stringify({ target: req.url }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  handle.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  handle.close = () => new Promise((r) => server.close(() => r()));
  return handle;
}

let recorder: RecordingUpstream;

before(async () => {
  upstream = await startUpstream({ serverKeys: [{ id: 'server-dollar', key: SERVER_KEY }, { id: 'plain', key: PLAIN_KEY }], adminToken: ADMIN });
  recorder = await startRecordingUpstream(PLAIN_KEY);
});
after(async () => {
  await upstream?.close();
  await recorder?.close();
});

// ---------------------------------------------------------------------------------------
// Options (pure)
// ---------------------------------------------------------------------------------------

describe('proxy options: maxConcurrentPerSession and cacheable', () => {
  const resolve = (svc: Record<string, unknown>) => {
    const problems: string[] = [];
    const out = resolveProxyOptions({ services: { api: { baseUrl: 'https://api.example.com/v1/', credential: 'c', ...svc } } }, new Set(['c']), 'x-csrf', problems);
    return { svc: out.get('api'), problems };
  };
  it('defaults: a quarter of maxConcurrent per session (at least 1); not cacheable', () => {
    assert.equal(resolve({}).svc?.maxConcurrentPerSession, 16);
    assert.equal(resolve({ maxConcurrent: 8 }).svc?.maxConcurrentPerSession, 2);
    assert.equal(resolve({ maxConcurrent: 2 }).svc?.maxConcurrentPerSession, 1);
    assert.equal(resolve({ maxConcurrent: 1 }).svc?.maxConcurrentPerSession, 1);
    assert.equal(resolve({}).svc?.cacheable, false);
    assert.equal(resolve({ cacheable: true }).svc?.cacheable, true);
    assert.equal(resolve({ maxConcurrent: 10, maxConcurrentPerSession: 10 }).svc?.maxConcurrentPerSession, 10);
  });
  it('hostile values are each reported with the path, the value and the fix', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, '4', null, 2 ** 53, {}, Object.create(null)] as unknown[]) {
      const { svc, problems } = resolve({ maxConcurrentPerSession: bad });
      assert.equal(svc, undefined);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0]!, /^proxy\.services\.api\.maxConcurrentPerSession: expected a whole number of calls between 1 and/);
    }
    const over = resolve({ maxConcurrent: 4, maxConcurrentPerSession: 5 });
    assert.equal(over.svc, undefined);
    assert.match(over.problems.join('\n'), /maxConcurrentPerSession: 5 is more than maxConcurrent \(4\).*at most 4/);
    for (const bad of ['yes', 1, null]) {
      const { problems } = resolve({ cacheable: bad });
      assert.match(problems.join('\n'), /proxy\.services\.api\.cacheable: expected a boolean/);
    }
    assert.match(resolve({ maxConcurentPerSession: 2 }).problems.join('\n'), /Did you mean `proxy\.services\.api\.maxConcurrentPerSession`\?/);
  });
});

describe('keyHeaderValue and proxiedCacheControl (unit)', () => {
  it('the key is put in the template literally, whatever $ patterns it holds', () => {
    for (const key of ["a$&b", "a$'b", 'a$`b', 'a$$b', '$1$<n>$0', '{key}', '$&{key}$&']) {
      assert.equal(keyHeaderValue('{key}', key), key);
      assert.equal(keyHeaderValue('Bearer {key}', key), `Bearer ${key}`);
      assert.equal(keyHeaderValue('Token {key}; v=1', key), `Token ${key}; v=1`);
    }
  });
  it('no-store unless cacheable; cacheable is always private, without public, private or s-maxage', () => {
    assert.equal(proxiedCacheControl(false, 'public, max-age=600'), 'no-store');
    assert.equal(proxiedCacheControl(false, undefined), 'no-store');
    assert.equal(proxiedCacheControl(true, undefined), 'no-store');
    assert.equal(proxiedCacheControl(true, '  '), 'no-store');
    assert.equal(proxiedCacheControl(true, 'PUBLIC, Max-Age=60, S-MaxAge=600'), 'private, Max-Age=60');
    assert.equal(proxiedCacheControl(true, 'private="set-cookie, x-user", max-age=5'), 'private, max-age=5');
    assert.equal(proxiedCacheControl(true, 'no-cache="a\\",b", public'), 'private, no-cache="a\\",b"');
    assert.equal(proxiedCacheControl(true, 'publicity=1, max-age=1'), 'private, publicity=1, max-age=1');
    assert.equal(proxiedCacheControl(true, 'no-store'), 'private, no-store');
    assert.equal(proxiedCacheControl(true, ',,public,,'), 'private');
  });
});

describe('normalizeProxyPath: brackets (unit)', () => {
  it('regression: unencoded [ and ] in the query (as browsers send them) were refused; they pass through unchanged', () => {
    for (const q of ['filter[name]=x', 'a[]=1&a[]=2', 'ids[0][id]=7', 'host=[::1]', 'e=%5Bx%5D', 'mix=[%5D']) {
      assert.deepEqual(normalizeProxyPath(`echo?${q}`), { ok: true, path: 'echo', query: q }, q);
    }
  });
  it('a [ or ] in the path is still refused unencoded, and re-encoded canonically when encoded', () => {
    for (const p of ['ec[ho', 'echo]', '[::1]/echo', 'a/[b]/c', '[?x=1']) assert.equal(normalizeProxyPath(p).ok, false, p);
    assert.deepEqual(normalizeProxyPath('a%5bb%5D?x=[1]'), { ok: true, path: 'a%5Bb%5D', query: 'x=[1]' });
  });
});

// ---------------------------------------------------------------------------------------
// End to end, both adapters
// ---------------------------------------------------------------------------------------

for (const adapter of ADAPTERS) {
  describe(`proxy hardening on ${adapter}`, () => {
    let bff: RunningApp;
    let issuer: DollarIssuer;
    let page: PageClient;
    // A user's own key cannot hold `$` (nor quotes or colons) since issue 23.1: it is refused at
    // the door (user-key-log-lines.test.ts); the byok case here checks an ordinary key.
    const byokKey = `byok-${randomBytes(24).toString('base64url')}`;
    const bearer = { key: { header: 'authorization', format: 'Bearer {key}' } };

    before(async () => {
      issuer = new DollarIssuer();
      upstream.addServerKey(byokKey, `byok-dollar-${adapter}`);
      const options = bffOptions({
          store: new RedisStore({ url: redis.url, prefix: `kw:hard:${adapter}:` }),
          upstreamUrl: upstream.url,
          serverKeys: [SERVER_KEY],
          issuer,
          extraServices: {
            'server-bearer': upstreamService(upstream.url, 'server', bearer),
            'minted-bearer': upstreamService(upstream.url, 'minted', bearer),
            'byok-bearer': upstreamService(upstream.url, 'byok', bearer),
            shared: upstreamService(upstream.url, 'plain', { maxConcurrent: 8, timeoutMs: 8000 }),
            rec: upstreamService(recorder.url, 'plain'),
            'rec-cacheable': upstreamService(recorder.url, 'plain', { cacheable: true }),
          },
      });
      options.credentials!.plain = new ServerKeyProvider({ keys: [PLAIN_KEY] });
      bff = await startTestApp(adapter, options);
      page = new PageClient(bff.url);
      assert.equal((await page.post('/login', { user: `hard-${adapter}` })).status, 200);
      assert.equal((await page.put('/keys/byok', { key: byokKey })).status, 204);
    });
    after(async () => {
      await bff?.close();
    });

    // -- 3: $-patterns in keys -----------------------------------------------------------

    const providers = [
      ['server', () => ({ id: 'server-dollar', key: SERVER_KEY })],
      ['minted', () => {
        const [id, key] = [...issuer.minted].at(-1)!;
        return { id, key };
      }],
      ['byok', () => ({ id: `byok-dollar-${adapter}`, key: byokKey })],
    ] as const;
    for (const [provider, expected] of providers) {
      for (const service of [provider, `${provider}-bearer`]) {
        it(`regression: a ${provider} key with $&, $', $\` or $$ was altered by String.replace on the way out (${service}); the upstream gets it exactly and its echo is scrubbed`, async () => {
          for (const mode of ['1', 'b64', 'url']) {
            const r = await nodeRequest(bff.url, 'GET', `/api/proxy/${service}/echo?reflect=${mode}`, { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url });
            assert.equal(r.status, 200, `${mode}: ${r.body}`);
            const { id, key } = expected();
            // The upstream matches the key by its digest: the right id means it received exactly this key.
            assert.equal(r.json.keyId, id, 'the upstream received exactly the key');
            assert.ok('receivedKey' in r.json, 'the upstream did reflect the key');
            assert.equal(r.json.receivedKey, '[REDACTED]', `reflect=${mode}: the echo was not scrubbed`);
            assert.deepEqual(findSecrets(r.body, [key]), [], `reflect=${mode}: key in the body`);
            assert.deepEqual(findSecrets(r.rawHeaders, [key]), [], `reflect=${mode}: key in the headers`);
          }
          assert.deepEqual(findSecrets(bff.logger.text, [expected().key]), [], 'the key is never logged');
        });
      }
    }

    // -- 5: per-session share of the concurrency limit -------------------------------------

    it('regression: one session\'s slow calls took every proxy slot and starved other sessions; its excess is refused fast with 429 KW_PROXY_SESSION_BUSY and Retry-After, another session still gets through', async () => {
      const hog = new PageClient(bff.url);
      assert.equal((await hog.post('/login', { user: `hog-${adapter}` })).status, 200);
      const other = new PageClient(bff.url);
      assert.equal((await other.post('/login', { user: `other-${adapter}` })).status, 200);

      let hogRefused = 0;
      let hogServed = 0;
      const hogCalls = Array.from({ length: 10 }, () =>
        hog.get('/api/proxy/shared/slow?ms=2500').then((r) => {
          if (r.status === 200) hogServed++;
          else hogRefused++;
          return r;
        }),
      );
      // Let the hog's calls arrive (its excess is refused at once; the rest hold upstream slots).
      await waitFor(() => hogRefused >= 8, 1000).catch(() => undefined);
      const theOther = await other.get('/api/proxy/shared/echo');
      const hogServedBeforeOther = hogServed;
      const hogReplies = await Promise.all(hogCalls);

      assert.equal(theOther.status, 200, theOther.text);
      assert.equal(hogServedBeforeOther, 0, 'the other session had to wait until the hog\'s slow calls ended');
      const refused = hogReplies.filter((r) => r.status === 429);
      const served = hogReplies.filter((r) => r.status === 200);
      assert.equal(served.length, 2, `the hog's share is maxConcurrent / 4 = 2 calls: ${hogReplies.map((r) => r.status).join(',')}`);
      assert.equal(refused.length, 8);
      for (const r of refused) {
        assert.equal(r.body.code, 'KW_PROXY_SESSION_BUSY');
        assert.equal(r.headers.get('retry-after'), '1');
        assert.equal(r.headers.get('cache-control'), 'no-store');
        assert.deepEqual(findSecrets(r.text, [PLAIN_KEY]), []);
        assert.ok(!r.text.includes(hog.cookieHeader.split('=')[1]!), 'no cookie value in the error');
      }
      // Slots are given back (also after refusals): the hog may call again.
      assert.equal((await hog.get('/api/proxy/shared/echo')).status, 200);
    });

    // -- 6: no-store unless the service opts in -----------------------------------------

    it('regression: an authenticated proxied answer kept the upstream\'s "public, max-age" Cache-Control; it is no-store unless the service is cacheable', async () => {
      for (const path of Object.keys(CACHE_ROUTES)) {
        const r = await page.get(`/api/proxy/rec/${path.slice('/v1/'.length)}`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('cache-control'), 'no-store', `${path}: ${r.headers.get('cache-control')}`);
      }
      // The test upstream (no Cache-Control at all) too.
      assert.equal((await page.get('/api/proxy/shared/echo')).headers.get('cache-control'), 'no-store');
    });

    it('a cacheable service passes the upstream\'s Cache-Control but always private (public and s-maxage dropped); none from the upstream stays no-store', async () => {
      const expected: Record<string, string> = {
        '/v1/public': 'private, max-age=600, proxy-revalidate',
        '/v1/private': 'private, max-age=60',
        '/v1/quoted': 'private, max-age=60',
        '/v1/none': 'no-store',
      };
      for (const [path, cc] of Object.entries(expected)) {
        const r = await page.get(`/api/proxy/rec-cacheable/${path.slice('/v1/'.length)}`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('cache-control'), cc, path);
      }
    });

    // -- 11: brackets in the query -------------------------------------------------------

    it('regression: unencoded [ and ] in the query were refused with 400; they reach the upstream byte for byte', async () => {
      const headers = { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url };
      for (const q of ['filter[name]=x&sort[]=a&sort[]=b', 'ids[0][id]=7', 'e=%5Bx%5D&raw=[y]', 'host=[::1]:80']) {
        const r = await rawGet(bff.port, `/api/proxy/rec/echo?${q}`, headers);
        assert.equal(r.status, 200, `${q}: ${r.body}`);
        assert.equal(recorder.lastTarget, `/v1/echo?${q}`, 'the query is forwarded exactly as the browser sent it');
      }
      const demo = await rawGet(bff.port, '/api/proxy/shared/echo?filter[name]=x', headers);
      assert.equal(demo.status, 200, demo.body);
      assert.deepEqual(demo.json.query, { 'filter[name]': 'x' });
    });

    it('a [ or ] in the path is still refused (400, no upstream call); an encoded one goes as %5B/%5D', async () => {
      const headers = { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url };
      for (const p of ['ec[ho', 'echo]', '[::1]/echo', 'a/[b]/c']) {
        recorder.lastTarget = undefined;
        const r = await rawGet(bff.port, `/api/proxy/rec/${p}?x=[1]`, headers);
        assert.equal(r.status, 400, `${p}: ${r.body}`);
        assert.equal(r.json?.code, 'KW_PROXY_BAD_PATH');
        assert.equal(recorder.lastTarget, undefined, `${p} reached the upstream`);
      }
      const r = await rawGet(bff.port, '/api/proxy/rec/a%5bb%5D?x=[1]', headers);
      assert.equal(r.status, 200, r.body);
      assert.equal(recorder.lastTarget, '/v1/a%5Bb%5D?x=[1]');
    });
  });
}
