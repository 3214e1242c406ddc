/**
 * Regression (security review, issue 13, point 10): in production the demo refused
 * `/healthz` over plain HTTP, so a local readiness probe never saw it ready. The demo now
 * lists it in `transport.plainHttpPaths`: GET/HEAD /healthz answer over plain HTTP, with no
 * session and no cookie; everything else still needs HTTPS. Both adapters, real processes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, answers200, cleanEnv, freePort } from './support/processes.js';

for (const adapter of ['express', 'fastify'] as const) {
  describe(`regression: /healthz was refused over plain HTTP in production (demo on ${adapter})`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-probe-${adapter}-`));
    let demo: Child | undefined;
    let base: string;

    before(async () => {
      const [port, upstreamPort] = await Promise.all([freePort(), freePort()]);
      base = `http://127.0.0.1:${port}`;
      const env = cleanEnv({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        UPSTREAM_PORT: String(upstreamPort),
        KEYWARD_ADAPTER: adapter,
        KEYWARD_DATA_DIR: dataDir,
        KEYWARD_SESSION_SECRETS: randomBytes(32).toString('base64url'),
        KEYWARD_VAULT_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        DEMO_UPSTREAM_KEY: randomBytes(32).toString('base64url'),
        DEMO_UPSTREAM_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      });
      // Ready means: a plain-HTTP probe of /healthz answers 200 (before the fix it never did).
      demo = await Child.start('demo', DEMO_MAIN, env, () => answers200(`${base}/healthz`), 40_000);
    });
    after(async () => {
      await demo?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('GET and HEAD /healthz answer 200 over plain HTTP, without a cookie effect', async () => {
      const get = await fetch(`${base}/healthz`, { headers: { cookie: `__Host-sid=${'A'.repeat(43)}.${'B'.repeat(43)}` } });
      assert.equal(get.status, 200);
      assert.deepEqual(await get.json(), { status: 'ok' });
      assert.deepEqual(get.headers.getSetCookie(), []);
      assert.equal((await fetch(`${base}/healthz`, { method: 'HEAD' })).status, 200);
    });

    it('every other request over plain HTTP is still refused (403 KW_HTTPS_REQUIRED)', async () => {
      for (const [method, path] of [['POST', '/healthz'], ['GET', '/api/auth/session'], ['GET', '/'], ['GET', '/api/proxy/demo/echo']] as const) {
        const r = await fetch(`${base}${path}`, { method, headers: { 'x-csrf': '1', origin: base } });
        assert.equal(r.status, 403, `${method} ${path}`);
        assert.equal(((await r.json()) as { code: string }).code, 'KW_HTTPS_REQUIRED', `${method} ${path}`);
      }
    });
  });
}
