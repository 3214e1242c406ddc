/**
 * Issue 23 (low, development): a trial key (`POST /api/demo/trial-key`: minted at the demo
 * upstream, stored as the user's `demo-byok` key) outlived the session that minted it, so
 * each logout/login cycle left one more live upstream key for 24 hours. Against the real
 * demo and upstream processes, on both adapters: logout, logout-all and expiry revoke the
 * session's trial key (`GET /admin/keys/:id` answers `active:false`), and the dead key is
 * not left behind as the user's stored key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';

const IDLE_MS = 3000;
const CYCLES = 5;

interface Reply {
  status: number;
  body: any;
  text: string;
}

/** One browser tab of the demo: keeps its cookie, sends `X-CSRF: 1` and the app's own Origin. */
class Page {
  cookie = '';
  constructor(readonly base: string) {}
  async send(method: string, path: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { 'x-csrf': '1', origin: this.base };
    if (this.cookie) headers.cookie = this.cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    for (const sc of res.headers.getSetCookie()) {
      const pair = sc.split(';')[0]!;
      this.cookie = /=\s*$/.test(pair) || /max-age=0/i.test(sc) ? '' : pair;
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  }
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo trial keys end with their session (${adapter}, real demo + upstream processes)`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-trial-${adapter}-`));
    const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
    let upstream: Child;
    let demo: Child;
    let upstreamUrl: string;
    let base: string;

    const active = async (id: string): Promise<boolean> => {
      const res = await fetch(`${upstreamUrl}/admin/keys/${id}`, { headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(res.status, 200, `GET /admin/keys/${id}`);
      return ((await res.json()) as { active: boolean }).active;
    };
    const waitFor = async (cond: () => Promise<boolean>): Promise<boolean> => {
      for (let i = 0; i < 50; i++) {
        if (await cond()) return true;
        await sleep(100);
      }
      return cond();
    };
    const login = async (username = 'alice'): Promise<Page> => {
      const page = new Page(base);
      const r = await page.send('POST', '/api/auth/login', { username, password: `${username}-password` });
      assert.equal(r.status, 200, r.text);
      return page;
    };
    /** Mints a trial key in this session; its id, as the upstream reports it on a call made with it. */
    const trial = async (page: Page): Promise<string> => {
      const r = await page.send('POST', '/api/demo/trial-key');
      assert.equal(r.status, 204, r.text);
      const echo = await page.send('GET', '/api/proxy/demo-byok/echo');
      assert.equal(echo.status, 200, echo.text);
      assert.match(echo.body.keyId, /^mk_/);
      return echo.body.keyId as string;
    };

    before(async () => {
      const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
      upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
      base = `http://127.0.0.1:${port}`;
      const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: `trial_${randomBytes(24).toString('base64url')}`, DEMO_UPSTREAM_ADMIN_TOKEN: adminToken };
      upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`${upstreamUrl}/internal/none`));
      demo = await Child.start(
        'demo',
        DEMO_MAIN,
        cleanEnv({
          ...env,
          PORT: String(port),
          KEYWARD_DATA_DIR: dataDir,
          KEYWARD_ADAPTER: adapter,
          KEYWARD_IDLE_TIMEOUT_MS: String(IDLE_MS),
          KEYWARD_SWEEP_INTERVAL_MS: '250',
          KEYWARD_DEMO_TEST_PASSWORD_HASH: '1',
        }),
        () => answers200(`${base}/healthz`),
        40_000,
      );
    });
    after(async () => {
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(`regression 23: ${CYCLES} login / trial key / logout cycles leave no live trial key, and no dead key stored for the user`, async () => {
      const ids: string[] = [];
      for (let i = 0; i < CYCLES; i++) {
        const page = await login();
        ids.push(await trial(page));
        assert.equal((await page.send('POST', '/api/auth/logout')).status, 204);
      }
      assert.equal(new Set(ids).size, CYCLES);
      const live = async () => (await Promise.all(ids.map(active))).filter(Boolean).length;
      assert.ok(await waitFor(async () => (await live()) === 0), `${await live()} of ${CYCLES} trial keys still active at the upstream after their sessions logged out`);
      // A session in progress holds at most one: the trial key it replaces is revoked.
      const page = await login();
      assert.deepEqual((await page.send('GET', '/api/keys')).body, [], 'a revoked trial key is not left stored as the user\'s key');
      const first = await trial(page);
      const second = await trial(page);
      assert.equal(await waitFor(async () => !(await active(first))), true, 'the replaced trial key was revoked');
      assert.equal(await active(second), true, 'the current trial key works');
      assert.equal((await page.send('POST', '/api/auth/logout')).status, 204);
      assert.ok(await waitFor(async () => !(await active(second))));
    });

    it('regression 23: logout-all from another session revokes the trial key; a key the user stored over it is kept', async () => {
      const a = await login('bob');
      const b = await login('bob');
      const id = await trial(a);
      const own = `sk_own_${randomBytes(18).toString('base64url')}`;
      const c = await login('alice');
      const replaced = await trial(c);
      assert.equal((await c.send('PUT', '/api/keys/demo-byok', { key: own })).status, 204);
      assert.equal((await b.send('POST', '/api/auth/logout-all')).status, 204);
      assert.ok(await waitFor(async () => !(await active(id))), 'logout-all left the trial key active');
      assert.equal((await a.send('GET', '/api/auth/session')).status, 401);
      assert.deepEqual((await (await login('bob')).send('GET', '/api/keys')).body, []);
      // alice stored a key of her own over the trial key: logging out revokes the trial key, keeps hers.
      assert.equal((await c.send('POST', '/api/auth/logout')).status, 204);
      assert.ok(await waitFor(async () => !(await active(replaced))), 'the trial key replaced by the user\'s own key is still active');
      const next = await login('alice');
      const keys = (await next.send('GET', '/api/keys')).body as Array<{ service: string; masked: string }>;
      assert.deepEqual(keys.map((k) => k.service), ['demo-byok'], 'the user\'s own key was removed');
      assert.ok(own.endsWith(keys[0]!.masked.slice(-4)));
      assert.equal((await next.send('DELETE', '/api/keys/demo-byok')).status, 204);
      assert.equal((await next.send('POST', '/api/auth/logout')).status, 204);
    });

    it('regression 23: an idle session\'s expiry revokes its trial key (the sweeper ends it)', async () => {
      const page = await login();
      const id = await trial(page);
      assert.equal(await active(id), true);
      await sleep(IDLE_MS + 500);
      assert.ok(await waitFor(async () => !(await active(id))), 'the expired session\'s trial key is still active');
      assert.equal((await page.send('GET', '/api/auth/session')).status, 401);
    });
  });
}
