import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { AppClient, type Reply } from './support/clients.js';
import { RedisServer } from './support/redis-server.js';
import { startTestApp } from './support/test-app.js';

// The suite's own redis-server, with an append-only file synced on every write, so that
// a SIGKILL loses no session: what comes back after the restart is the same data.
let server: RedisServer;
before(async () => {
  server = await RedisServer.launch(['--appendonly', 'yes', '--appendfsync', 'always']);
});
after(async () => {
  await server?.destroy();
});

function assertUnavailable(r: Reply, what: string, cookie?: string): void {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text}`);
  assert.equal(typeof r.body?.error, 'string', what);
  for (const key of Object.keys(r.body)) assert.ok(['error', 'code', 'requestId'].includes(key), `${what}: unexpected field ${key}`);
  assert.equal(r.body.code, 'KW_STORE_UNAVAILABLE', what);
  // A failover elects a new master in seconds: the client is told to come back soon.
  assert.equal(r.headers.get('retry-after'), '1', `${what}: Retry-After`);
  if (cookie) assert.ok(!r.text.includes(cookie) && !r.text.includes(cookie.slice(0, 43)), `${what}: cookie not echoed`);
}

for (const adapter of ADAPTERS) {
  describe(`Redis outage and recovery: ${adapter}`, () => {
    it('fails closed with 503 while Redis is down, serves anonymous routes, and recovers by itself with the same cookie', async () => {
      const app = await startTestApp(adapter, {
        session: {
          secrets: [randomBytes(32).toString('base64url')],
          store: new RedisStore({ url: server.url, prefix: `outage-${adapter}:` }),
          sweepIntervalMs: 0,
        },
      });
      try {
        const c = new AppClient(app.url);
        assert.equal((await c.post('/login', { user: `outage-${adapter}` })).status, 200);
        const cookie = c.jar.get('sid')!;
        assert.equal((await c.put('/data/before', { value: 1 })).status, 204);
        assert.equal((await c.get('/me')).status, 200);

        await server.stop(); // SIGKILL by PID: an outage, not a clean shutdown
        for (let i = 0; i < 5; i++) {
          const started = Date.now();
          const r = await c.get('/me', { cookie: `sid=${cookie}` });
          assertUnavailable(r, `authenticated request ${i}`, cookie);
          assert.ok(Date.now() - started < 3000, 'fails fast');
          assert.deepEqual(r.setCookies, [], 'the cookie is not cleared: the session may be fine');
        }
        assertUnavailable(await c.put('/data/during', { value: 2 }, { cookie: `sid=${cookie}` }), 'a write', cookie);
        assertUnavailable(await c.get('/public-me', { cookie: `sid=${cookie}` }), 'an anonymous route that carries a cookie', cookie);
        assertUnavailable(await new AppClient(app.url).post('/login', { user: 'newcomer' }), 'a login');
        const health = await new AppClient(app.url).get('/healthz');
        assert.equal(health.status, 200, 'a route without a session still answers');
        const anon = await new AppClient(app.url).get('/public-me');
        assert.equal(anon.status, 200);
        assert.deepEqual(anon.body, { authenticated: false, user: null }, 'no cookie: anonymous, as before the outage');

        await server.start();
        const restarted = Date.now();
        let last: Reply | undefined;
        while (Date.now() - restarted < 10_000) {
          last = await c.get('/me', { cookie: `sid=${cookie}` });
          if (last.status !== 503) break;
          await sleep(25);
        }
        const recoveryMs = Date.now() - restarted;
        console.log(`# ${adapter}: the same cookie worked again ${recoveryMs} ms after redis-server restarted (app not restarted)`);
        assert.equal(last?.status, 200, `recovered: ${last?.status} ${last?.text}`);
        assert.equal(last?.body.user.id, `outage-${adapter}`);
        assert.ok(recoveryMs < 5000, `recovered within a few seconds (${recoveryMs} ms)`);
        assert.equal((await c.put('/data/after', { value: 3 }, { cookie: `sid=${cookie}` })).status, 204);
        const data = (await c.get('/data', { cookie: `sid=${cookie}` })).body as Record<string, string>;
        assert.equal(data.before, '1', 'data written before the outage survived');
        assert.equal(data.after, '3');
        assert.equal(data.during, undefined, 'the refused write did not happen');
      } finally {
        await app.close();
      }
    });
  });
}

describe('Redis that stops answering (frozen, not dead)', () => {
  it('requests fail closed with 503 after the command timeout instead of hanging, and recover when Redis wakes up', async () => {
    const app = await startTestApp('express', {
      session: {
        secrets: [randomBytes(32).toString('base64url')],
        store: new RedisStore({ url: server.url, prefix: 'frozen:', commandTimeoutMs: 500 }),
        sweepIntervalMs: 0,
      },
    });
    const pid = server.pid!;
    try {
      const c = new AppClient(app.url);
      assert.equal((await c.post('/login', { user: 'frozen' })).status, 200);
      const cookie = c.jar.get('sid')!;
      process.kill(pid, 'SIGSTOP'); // the socket stays open; nothing answers (a network partition)
      const started = Date.now();
      const replies = await Promise.all(Array.from({ length: 5 }, () => c.get('/me', { cookie: `sid=${cookie}` })));
      const took = Date.now() - started;
      for (const [i, r] of replies.entries()) assertUnavailable(r, `request ${i} to a frozen Redis`, cookie);
      assert.ok(took < 3000, `answered within ${took} ms`);
      process.kill(pid, 'SIGCONT');
      let last: Reply | undefined;
      const woke = Date.now();
      while (Date.now() - woke < 10_000) {
        last = await c.get('/me', { cookie: `sid=${cookie}` });
        if (last.status !== 503) break;
        await sleep(25);
      }
      console.log(`# frozen Redis: 503 after ${took} ms; working again ${Date.now() - woke} ms after SIGCONT`);
      assert.equal(last?.status, 200, `${last?.status} ${last?.text}`);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already running or gone
      }
      await app.close();
    }
  });
});
