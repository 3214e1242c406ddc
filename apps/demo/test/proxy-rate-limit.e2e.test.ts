/**
 * KEYWARD_PROXY_CALLS_PER_MINUTE (issue 22): proxied calls one session may make per minute,
 * over all services, before 429 with Retry-After and KW_PROXY_RATE_LIMITED. The real demo
 * and the real demo upstream as child processes (DEMO-CONTRACT), on both adapters: the
 * upstream sees no call beyond the limit. A wrong value stops the demo at startup.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, cleanEnv, freePort, responds } from './support/processes.js';

/** A page of the demo: keeps its cookie, sends `X-CSRF: 1` and the app's own Origin. */
class Page {
  cookie = '';
  constructor(readonly base: string) {}
  async send(method: string, path: string, json?: unknown): Promise<{ status: number; headers: Headers; body: any; text: string }> {
    const headers: Record<string, string> = { 'x-csrf': '1', origin: this.base };
    if (this.cookie) headers.cookie = this.cookie;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    const text = await res.text();
    for (const sc of res.headers.getSetCookie()) this.cookie = sc.split(';')[0]!;
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body, text };
  }
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo proxy call limit (${adapter}, KEYWARD_PROXY_CALLS_PER_MINUTE=3)`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-limit-${adapter}-`));
    const serverKey = `demo_srv_${randomBytes(24).toString('base64url')}`;
    const adminToken = `demo_admin_${randomBytes(24).toString('base64url')}`;
    let upstream: Child;
    let demo: Child;
    let upstreamUrl: string;
    let demoUrl: string;

    /** Requests the upstream received so far (GET /admin/stats counts itself too). */
    const upstreamRequests = async (): Promise<number> => {
      const res = await fetch(`${upstreamUrl}/admin/stats`, { headers: { authorization: `Bearer ${adminToken}` } });
      return ((await res.json()) as { requests: number }).requests;
    };

    before(async () => {
      const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
      upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
      demoUrl = `http://127.0.0.1:${port}`;
      const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: serverKey, DEMO_UPSTREAM_ADMIN_TOKEN: adminToken };
      upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`${upstreamUrl}/internal/none`));
      demo = await Child.start(
        'demo',
        DEMO_MAIN,
        cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter, KEYWARD_PROXY_CALLS_PER_MINUTE: '3' }),
        () => responds(`${demoUrl}/healthz`),
        40_000,
      );
    });
    after(async () => {
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('3 calls over two services pass; the 4th of either gets 429, Retry-After and the code; the upstream saw only 3', async () => {
      const page = new Page(demoUrl);
      const login = await page.send('POST', '/api/auth/login', { username: 'alice', password: 'alice-password' });
      assert.equal(login.status, 200, login.text);
      const before = await upstreamRequests();
      assert.equal((await page.send('GET', '/api/proxy/demo/echo?n=1')).status, 200);
      assert.equal((await page.send('GET', '/api/proxy/demo-session/echo?n=2')).status, 200);
      assert.equal((await page.send('GET', '/api/proxy/demo/echo?n=3')).status, 200);
      for (const service of ['demo', 'demo-session', 'demo']) {
        const r = await page.send('GET', `/api/proxy/${service}/echo`);
        assert.equal(r.status, 429, r.text);
        assert.equal(r.body.code, 'KW_PROXY_RATE_LIMITED');
        const retry = Number(r.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${r.headers.get('retry-after')}`);
        assert.ok(!r.text.includes(serverKey) && !r.text.includes(page.cookie.split('=')[1]!), 'no key or cookie in the answer');
      }
      // 3 proxied calls, plus the second stats request itself.
      assert.equal((await upstreamRequests()) - before, 3 + 1, 'no call beyond the limit reached the upstream');
      // Another session (bob) has its own allowance.
      const bob = new Page(demoUrl);
      assert.equal((await bob.send('POST', '/api/auth/login', { username: 'bob', password: 'bob-password' })).status, 200);
      assert.equal((await bob.send('GET', '/api/proxy/demo/echo')).status, 200);
    });
  });
}

describe('demo: KEYWARD_PROXY_CALLS_PER_MINUTE is checked at startup', () => {
  for (const bad of ['0', 'ten', '1.5', '-3', '99999999']) {
    it(`refuses ${JSON.stringify(bad)} with a clear error and does not start`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-limit-bad-'));
      try {
        const port = await freePort();
        const start = Child.start('demo', DEMO_MAIN, cleanEnv({ HOST: '127.0.0.1', PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_PROXY_CALLS_PER_MINUTE: bad }), () => responds(`http://127.0.0.1:${port}/healthz`), 20_000);
        await assert.rejects(start, (e: Error) => {
          assert.match(e.message, /exited during start/);
          assert.match(e.message, /KEYWARD_PROXY_CALLS_PER_MINUTE: expected a whole number between 1 and 1000000 \(proxied calls one session may make per minute; unset for 600\)/);
          return true;
        });
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
