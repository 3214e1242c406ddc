// Issue 22: proxied calls were invisible to the app's rate limiter (@nestjs/throttler limited
// Nest routes while every proxied call passed: the proxy answers at the server's edge). The
// proxy's own call limits, per session, per user and per service, counted in each real
// store (Memory, SQLite, Redis) on both adapters: 429 KW_PROXY_RATE_LIMITED with
// Retry-After, nothing sent upstream beyond the limit, the window resets, and N parallel
// calls against a limit of M give exactly M passes.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, RedisStore, SqliteStore, type SessionStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient, type Reply } from './support/clients.js';
import { FakeClock } from './support/fake-clock.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { RedisServer, redisSuite } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

const ADMIN = secret();
const SERVER_KEY = `srv_${secret()}`;
let upstream: UpstreamHandle;
let redis: RedisServer;
const tmp = redisSuite('kw-proxy-limits-', (server) => (redis = server));

before(async () => {
  upstream = await startUpstream({ serverKeys: [{ id: 'server-1', key: SERVER_KEY }], adminToken: ADMIN });
});
after(async () => {
  await upstream?.close();
});

/** Calls that reached the upstream's `/v1/` since the last reset (logins mint keys at `/admin`, not counted). */
function upstreamCalls(): number {
  return upstream.stats().requests;
}

function assertLimited(r: Reply, retryAfter: string, what: RegExp): void {
  assert.equal(r.status, 429, `${r.status} ${r.text}`);
  assert.equal(r.body.code, 'KW_PROXY_RATE_LIMITED');
  assert.equal(r.headers.get('retry-after'), retryAfter);
  assert.match(r.body.error, what);
  assert.deepEqual(Object.keys(r.body).sort(), ['code', 'error', 'requestId']);
  assert.equal(r.headers.get('cache-control'), 'no-store');
}

const STORES: Array<[string, () => SessionStore]> = [
  ['memory', () => new MemoryStore()],
  ['sqlite', () => new SqliteStore({ file: join(tmp, `limits-${randomBytes(4).toString('hex')}.sqlite`) })],
  ['redis', () => new RedisStore({ url: redis.url, prefix: `limits-${randomBytes(4).toString('hex')}:` })],
];

for (const adapter of ADAPTERS) {
  for (const [storeName, openStore] of STORES) {
    describe(`proxy call limits: ${storeName} store on ${adapter}`, () => {
      let app: RunningApp;
      let issuer: HttpKeyIssuer;
      const clock = new FakeClock(Date.now());

      before(async () => {
        issuer = new HttpKeyIssuer(upstream.url, ADMIN);
        const options = bffOptions({
          store: openStore(),
          upstreamUrl: upstream.url,
          serverKeys: [SERVER_KEY],
          issuer,
          clock,
          extraServices: {
            // Room for every parallel call of one session, so the limits alone decide.
            server: upstreamService(upstream.url, 'server', { maxConcurrentPerSession: 64 }),
            limited: upstreamService(upstream.url, 'server', { limits: [{ per: 'session', max: 1, windowMs: 10_000 }] }),
          },
        });
        options.proxy!.limits = [
          { per: 'session', max: 3, windowMs: 60_000 },
          { per: 'user', max: 5, windowMs: 60_000 },
        ];
        app = await startTestApp(adapter, options);
      });
      after(async () => {
        await app?.close();
        await issuer?.close();
      });

      /** A fresh session of `user` (a fresh user by default, so every test has its own counts). */
      async function login(user = `u-${randomBytes(6).toString('hex')}`): Promise<PageClient> {
        const c = new PageClient(app.url);
        assert.equal((await c.post('/login', { user })).status, 200);
        return c;
      }

      it('per session: 3 calls a minute pass, the 4th gets 429 with Retry-After and the code, and never reaches the upstream', async () => {
        const c = await login();
        upstream.resetStats();
        for (let i = 0; i < 3; i++) assert.equal((await c.get('/api/proxy/server/echo')).status, 200);
        assertLimited(await c.get('/api/proxy/server/echo'), '60', /3 proxied call\(s\) per minute for this session over all services/);
        assertLimited(await c.get('/api/proxy/server/echo'), '60', /session/);
        assert.equal(upstreamCalls(), 3, 'the upstream saw exactly the calls within the limit');
      });

      it('Retry-After counts down to the end of the window, and the window resets (engine clock)', async () => {
        const c = await login();
        for (let i = 0; i < 3; i++) assert.equal((await c.get('/api/proxy/server/echo')).status, 200);
        clock.advance(44_500);
        assertLimited(await c.get('/api/proxy/server/echo'), '16', /session/); // 15.5 s left, rounded up
        clock.advance(15_499);
        assertLimited(await c.get('/api/proxy/server/echo'), '1', /session/);
        clock.advance(1);
        upstream.resetStats();
        for (let i = 0; i < 3; i++) assert.equal((await c.get('/api/proxy/server/echo')).status, 200, 'a new window');
        assert.equal((await c.get('/api/proxy/server/echo')).status, 429);
        assert.equal(upstreamCalls(), 3);
      });

      it('per user: two sessions of one user share 5 calls a minute; another user is not affected', async () => {
        const user = `shared-${randomBytes(6).toString('hex')}`;
        const a = await login(user);
        const b = await login(user);
        const other = await login();
        upstream.resetStats();
        for (let i = 0; i < 3; i++) assert.equal((await a.get('/api/proxy/server/echo')).status, 200);
        for (let i = 0; i < 2; i++) assert.equal((await b.get('/api/proxy/server/echo')).status, 200);
        assertLimited(await b.get('/api/proxy/server/echo'), '60', /5 proxied call\(s\) per minute for this user over all services/);
        assertLimited(await a.get('/api/proxy/server/echo'), '60', /./);
        assert.equal((await other.get('/api/proxy/server/echo')).status, 200, 'another user has an allowance of their own');
        assert.equal(upstreamCalls(), 6);
      });

      it("per service: a service's own limit refuses its calls only; a refused call counts against no other limit", async () => {
        const c = await login();
        upstream.resetStats();
        assert.equal((await c.get('/api/proxy/limited/echo')).status, 200);
        assertLimited(await c.get('/api/proxy/limited/echo'), '10', /1 proxied call\(s\) per 10 seconds for this session to "limited"/);
        // The global per-session limit counted the one call that passed, not the refused one: 2 left.
        assert.equal((await c.get('/api/proxy/server/echo')).status, 200);
        assert.equal((await c.get('/api/proxy/server/echo')).status, 200);
        assertLimited(await c.get('/api/proxy/server/echo'), '60', /over all services/);
        assert.equal(upstreamCalls(), 3);
      });

      it('concurrency: 24 parallel calls of one session against a limit of 3 give exactly 3 passes', async () => {
        const c = await login();
        upstream.resetStats();
        const replies = await Promise.all(Array.from({ length: 24 }, () => c.get('/api/proxy/server/echo')));
        const statuses = replies.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 200).length, 3, statuses.join(','));
        assert.equal(statuses.filter((s) => s === 429).length, 21, statuses.join(','));
        assert.equal(upstreamCalls(), 3);
      });

      it('checked at the point of use: calls refused for their path or method spend nothing, calls without a session are 401 first', async () => {
        const c = await login();
        upstream.resetStats();
        for (let i = 0; i < 4; i++) assert.equal((await c.get('/api/proxy/server/..%2finternal')).status, 400);
        for (let i = 0; i < 4; i++) assert.equal((await c.request('PATCH', '/api/proxy/server/echo')).status, 405);
        for (let i = 0; i < 3; i++) assert.equal((await c.get('/api/proxy/server/echo')).status, 200, 'the allowance is whole');
        assert.equal((await new PageClient(app.url).get('/api/proxy/server/echo')).status, 401);
        assert.equal(upstreamCalls(), 3);
      });
    });
  }
}
