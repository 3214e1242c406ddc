import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  KeywardEvents,
  RedisStore,
  SqliteStore,
  type KeywardModuleOptions,
  type SecurityEvent,
  type SessionStore,
} from '../src/index.js';
import { AppClient } from './support/clients.js';
import { FakeClock } from './support/fake-clock.js';
import type { Reply } from './support/clients.js';
import { RedisServer, redisSuite } from './support/redis-server.js';
import { ADAPTERS } from './support/adapters.js';
import { startTestApp as startSessionApp, type RunningApp } from './support/test-app.js';

// Issue 17: ID rotation on a timer, per-user cap, security events; both adapters, SQLite and Redis.

type StoreKind = 'sqlite' | 'redis';
const STORES: readonly StoreKind[] = ['sqlite', 'redis'];
const MIN = 60_000;
const ROTATE = 15 * MIN;
const GRACE = 60_000;

let redis: RedisServer;
const tmp = redisSuite('kw-lifecycle-', (server) => (redis = server));
let seq = 0;

function openStore(kind: StoreKind, tag: string): SessionStore {
  return kind === 'sqlite' ? new SqliteStore({ file: join(tmp, `${tag}.sqlite`) }) : new RedisStore({ url: redis.url, prefix: `life:${tag}:` });
}

function options(store: SessionStore, clock: FakeClock, session: Partial<KeywardModuleOptions['session']> = {}): KeywardModuleOptions {
  return { session: { secrets: [randomBytes(32).toString('base64url')], store, clock, sweepIntervalMs: 0, ...session } };
}

/** The value of the one `sid` Set-Cookie of a reply, or undefined if it sets none. */
function newCookie(reply: Reply): string | undefined {
  const mine = reply.setCookies.filter((c) => c.startsWith('sid='));
  assert.ok(mine.length <= 1, `at most one sid Set-Cookie: ${JSON.stringify(reply.setCookies)}`);
  return mine[0]?.split(';')[0]!.slice('sid='.length);
}

/** Collects the security events of an app. */
function recordEvents(app: RunningApp): SecurityEvent[] {
  const seen: SecurityEvent[] = [];
  app.app.get(KeywardEvents).on((e) => seen.push(e));
  return seen;
}

/** No cookie value, session ID or store key in any event. */
function assertNoSecrets(events: readonly SecurityEvent[], secrets: readonly string[]): void {
  const text = JSON.stringify(events);
  for (const s of secrets) {
    assert.ok(!text.includes(s), 'an event holds a cookie value or session ID');
    assert.ok(!text.includes(s.slice(0, 43)), 'an event holds a session ID');
  }
}

for (const adapter of ADAPTERS) {
  for (const kind of STORES) {
    describe(`session lifecycle: ${adapter} + ${kind}`, () => {
      const clock = new FakeClock(Date.now());
      let store: SessionStore;
      let app: RunningApp;
      let events: SecurityEvent[];
      const user = (): string => `u${++seq}-${randomBytes(3).toString('hex')}`;

      before(async () => {
        store = openStore(kind, `${adapter}-${kind}-${++seq}`);
        app = await startSessionApp(adapter, options(store, clock, { maxPerUser: 3 }));
        events = recordEvents(app);
      });
      after(async () => {
        await app?.close();
      });

      async function login(name: string): Promise<AppClient> {
        const c = new AppClient(app.url);
        const r = await c.post('/login', { user: name });
        assert.equal(r.status, 200, r.text);
        clock.advance(1000);
        return c;
      }

      it('rotation: after rotateEveryMs the next request gets a new ID in a new cookie; handle, data and deadline carry over', async () => {
        const name = user();
        const c = await login(name);
        assert.equal((await c.put('/data/theme', { value: 'dark' })).status, 204);
        const first = c.jar.get('sid')!;
        const before = (await c.get('/me')).body;
        assert.equal(newCookie(await c.get('/me')), undefined, 'no new cookie before the rotation is due');
        clock.advance(ROTATE);
        const r = await c.get('/me');
        assert.equal(r.status, 200);
        const second = newCookie(r);
        assert.ok(second && second !== first, 'a new cookie');
        assert.equal(r.body.handle, before.handle, 'the public handle stays');
        assert.equal(r.body.absoluteExpiresAt, before.absoluteExpiresAt, 'the absolute deadline stays');
        assert.equal((await c.get('/data')).body.theme, '"dark"');
        const records = await store.listByUser(name);
        assert.equal(records.length, 1, 'one live record');
        assert.equal(newCookie(await c.get('/me')), undefined, 'the next request keeps the new ID');
        const rotated = events.filter((e) => e.event === 'session.rotated');
        assert.ok(rotated.length >= 1);
        assertNoSecrets(events, [first, second]);
      });

      it('rotation grace: the previous ID works (and hands out the new cookie) for rotateGraceMs; writes through it land on the successor', async () => {
        const c = await login(user());
        const old = c.jar.get('sid')!;
        clock.advance(ROTATE);
        const fresh = newCookie(await c.get('/me'))!;
        assert.ok(fresh);
        clock.advance(GRACE - 1000);
        const tab = await c.get('/me', { cookie: `sid=${old}` });
        assert.equal(tab.status, 200, 'a parallel tab with the previous cookie is served');
        assert.equal(newCookie(tab), fresh, 'and given the successor cookie');
        const write = await c.request('PUT', '/data/late', { body: { value: 1 }, cookie: `sid=${old}`, headers: { 'x-csrf': '1', origin: app.url } });
        assert.equal(write.status, 204);
        assert.equal((await c.get('/data', { cookie: `sid=${fresh}` })).body.late, '1');
      });

      it("reuse: the previous ID used after the grace ends the whole session (session.ended reason 'reuse')", async () => {
        const name = user();
        const c = await login(name);
        const old = c.jar.get('sid')!;
        clock.advance(ROTATE);
        const fresh = newCookie(await c.get('/me'))!;
        clock.advance(GRACE + 1000);
        assert.equal((await c.get('/me', { cookie: `sid=${fresh}` })).status, 200, 'the real user is active');
        const stolen = await c.get('/me', { cookie: `sid=${old}` });
        assert.equal(stolen.status, 401);
        assert.equal(stolen.body.code, 'KW_SESSION_INVALID');
        assert.equal((await c.get('/me', { cookie: `sid=${fresh}` })).status, 401, 'the successor ended too');
        assert.deepEqual(await store.listByUser(name), []);
        const ended = events.filter((e) => e.event === 'session.ended' && e.reason === 'reuse');
        assert.equal(ended.length, 1);
        assert.equal(ended[0]!.severity, 'critical');
        assertNoSecrets(events, [old, fresh]);
      });

      it('a session that rotated several times keeps one record and ends at logout from any ID in grace', async () => {
        const name = user();
        const c = await login(name);
        for (let i = 0; i < 3; i++) {
          clock.advance(ROTATE);
          assert.ok(newCookie(await c.get('/me')));
        }
        assert.equal((await store.listByUser(name)).length, 1);
        assert.equal((await c.post('/logout')).status, 204);
        assert.deepEqual(await store.listByUser(name), []);
        assert.ok(events.some((e) => e.event === 'session.ended' && e.reason === 'logout'));
      });

      it('cap: a login beyond maxPerUser ends the oldest session (reason cap); the others and the new one work', async () => {
        const name = user();
        const clients: AppClient[] = [];
        for (let i = 0; i < 5; i++) clients.push(await login(name));
        assert.equal((await store.listByUser(name)).length, 3);
        assert.equal((await clients[0]!.get('/me')).status, 401, 'oldest ended');
        assert.equal((await clients[1]!.get('/me')).status, 401, 'second oldest ended');
        for (const c of clients.slice(2)) assert.equal((await c.get('/me')).status, 200);
        assert.equal(events.filter((e) => e.event === 'session.ended' && e.reason === 'cap').length >= 2, true);
      });

      it('cap: 12 concurrent logins of one user leave exactly maxPerUser sessions, the newest live', async () => {
        const name = user();
        const clients = Array.from({ length: 12 }, () => new AppClient(app.url));
        const replies = await Promise.all(clients.map((c) => c.post('/login', { user: name })));
        for (const r of replies) assert.equal(r.status, 200);
        const live = await store.listByUser(name);
        assert.equal(live.length, 3, `left ${live.length}`);
        let working = 0;
        for (const c of clients) if ((await c.get('/me')).status === 200) working++;
        assert.equal(working, 3);
      });

      it('events: session.created and session.ended carry keyed hashes only', async () => {
        const name = user();
        const before = events.length;
        const c = await login(name);
        const cookie = c.jar.get('sid')!;
        await c.post('/logout');
        const mine = events.slice(before);
        const created = mine.find((e) => e.event === 'session.created');
        const ended = mine.find((e) => e.event === 'session.ended' && e.reason === 'logout');
        assert.ok(created && ended, `got ${mine.map((e) => e.event).join(', ')}`);
        for (const e of [created, ended]) {
          assert.match(e.at, /^\d{4}-\d\d-\d\dT/);
          assert.match(e.sessionRef!, /^[A-Za-z0-9_-]{16}$/);
          assert.match(e.userRef!, /^[A-Za-z0-9_-]{16}$/);
        }
        assert.equal(ended.sessionRef, created.sessionRef, 'both events name the same session');
        assert.ok(!JSON.stringify(events).includes(name), 'no user id in clear');
        assertNoSecrets(events, [cookie]);
      });
    });
  }
}

describe('session lifecycle: rotation off, idle/absolute reasons', () => {
  it('rotateEveryMs: false never rotates; expiry events say idle', async () => {
    const clock = new FakeClock(Date.now());
    const store = new SqliteStore({ file: join(tmp, `off-${++seq}.sqlite`) });
    const app = await startSessionApp('express', options(store, clock, { rotateEveryMs: false, idleTimeoutMs: 30 * MIN }));
    try {
      const events = recordEvents(app);
      const c = new AppClient(app.url);
      await c.post('/login', { user: 'off' });
      const first = c.jar.get('sid')!;
      for (let i = 0; i < 3; i++) {
        clock.advance(20 * MIN);
        const r = await c.get('/me');
        assert.equal(r.status, 200);
        // 20 minutes is past the 15-minute default: with rotation on, this request would get a new ID.
        assert.ok(!r.setCookies.some((sc) => sc.startsWith('sid=') && !sc.startsWith(`sid=${first}`)), 'no new ID was issued');
        assert.equal(c.jar.get('sid'), first, 'same ID');
      }
      assert.ok(!events.some((e) => e.event === 'session.rotated'));
      clock.advance(31 * MIN);
      assert.equal((await c.get('/me')).status, 401);
      assert.ok(events.some((e) => e.event === 'session.ended' && e.reason === 'idle'));
    } finally {
      await app.close();
    }
  });
});

describe('security events: store outage and recovery, helpers', () => {
  it('store.unavailable once per outage (requests fail closed with 503), then store.recovered', async () => {
    const own = await RedisServer.launch();
    const clock = new FakeClock(Date.now());
    const app = await startSessionApp('fastify', options(new RedisStore({ url: own.url, prefix: 'outage:' }), clock));
    try {
      const events = recordEvents(app);
      const c = new AppClient(app.url);
      assert.equal((await c.post('/login', { user: 'outage' })).status, 200);
      await own.stop();
      assert.equal((await c.get('/me')).status, 503);
      assert.equal((await c.get('/me')).status, 503);
      assert.equal(events.filter((e) => e.event === 'store.unavailable').length, 1, 'one event per outage');
      assert.equal(events.find((e) => e.event === 'store.unavailable')!.storeKind, 'redis');
      await own.start(); // an empty server: the session is gone, but the store answers again
      const cookie = c.cookieHeader;
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await c.get('/public-me', { cookie })).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
      assert.equal(events.filter((e) => e.event === 'store.recovered').length, 1);
    } finally {
      await app.close();
      await own.destroy();
    }
  });

  it('loginFailed() keeps only a keyed hash of the username; refused() a KW code; free text never enters an event; a throwing listener is contained', async () => {
    const store = new SqliteStore({ file: join(tmp, `helpers-${++seq}.sqlite`) });
    const app = await startSessionApp('express', options(store, new FakeClock(Date.now())));
    try {
      const events = app.app.get(KeywardEvents);
      const seen: SecurityEvent[] = [];
      events.on(() => {
        throw new Error('listener bug');
      });
      events.on((e) => seen.push(e));
      const streamed: SecurityEvent[] = [];
      const sub = events.events$.subscribe((e) => streamed.push(e));
      const warnings: Array<Error & { code?: string }> = [];
      const onWarning = (w: Error): void => void warnings.push(w);
      process.on('warning', onWarning);
      events.loginFailed({ username: 'mallory@example.com', reason: 'bad-credentials', requestId: 'req-12345678' });
      events.loginFailed({ username: 'x', reason: 'line\r\nbreak {"event":"forged"}' });
      events.refused('KW_ORIGIN_REFUSED', 'req-abcdefgh');
      sub.unsubscribe();
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
      // The throwing listener is reported once (issue 23.2: a process warning, not a line per event), and never stops the others.
      assert.equal(warnings.filter((w) => w.code === 'KW_LISTENER_FAILED').length, 1);
      assert.equal(seen.length, 3, 'the second listener still got every event');
      assert.equal(streamed.length, 3);
      assert.equal(seen[0]!.event, 'login.failed');
      assert.match(seen[0]!.userRef!, /^[A-Za-z0-9_-]{16}$/);
      assert.ok(!JSON.stringify(seen).includes('mallory'));
      assert.equal(seen[0]!.severity, 'warn');
      assert.equal(seen[1]!.reason, 'invalid', 'free text is replaced');
      assert.deepEqual({ event: seen[2]!.event, code: seen[2]!.code, requestId: seen[2]!.requestId }, { event: 'request.refused', code: 'KW_ORIGIN_REFUSED', requestId: 'req-abcdefgh' });
      assert.ok(Object.isFrozen(seen[2]));
    } finally {
      await app.close();
    }
  });
});
