/**
 * Every route of the demo app refuses cross-site use: the demo started in-process on both
 * adapters, its StartupReport walked, every unsafe-method and proxy route attacked with
 * cross-site signals. (Moved from packages/nest/test/origin.test.ts: the library's tests
 * do not use the demo.)
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { StartupReport, type RouteReport } from '@keyward/nest';
import type { UpstreamHandle, UpstreamOptions } from '../../demo-upstream/dist/src/index.js';
import { DemoUsers } from '../src/auth/demo-users.service.js';
import { loadDemoConfig } from '../src/config/demo-config.js';
import { DemoModule } from '../src/demo.module.js';
import { PageClient, nodeRequest, type RawReply } from './support/library-clients.js';

type AdapterName = 'express' | 'fastify';
const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];
// As seen from the compiled file (apps/demo/dist/test/).
const UPSTREAM_INDEX = new URL('../../../demo-upstream/dist/src/index.js', import.meta.url).href;

const secret = (): string => randomBytes(32).toString('base64url');
const tmp = mkdtempSync(join(tmpdir(), 'kw-demo-origin-'));
const SERVER_KEY = `srv_${secret()}`;
const ADMIN = secret();
let upstream: UpstreamHandle;
before(async () => {
  const { startUpstream } = (await import(UPSTREAM_INDEX)) as { startUpstream(o: UpstreamOptions): Promise<UpstreamHandle> };
  upstream = await startUpstream({ port: 0, host: '127.0.0.1', serverKeys: [SERVER_KEY], adminToken: ADMIN });
});
after(async () => {
  await upstream?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function startDemo(adapter: AdapterName, dataDir: string): Promise<{ app: INestApplication; url: string; routes: readonly RouteReport[]; services: string[] }> {
  const config = loadDemoConfig({
    KEYWARD_DATA_DIR: dataDir,
    UPSTREAM_PORT: String(upstream.port),
    DEMO_UPSTREAM_KEY: SERVER_KEY,
    DEMO_UPSTREAM_ADMIN_TOKEN: ADMIN,
    KEYWARD_DEMO_USERS: 'alice:alice-password,bob:bob-password',
  });
  const users = await DemoUsers.create(config.demoUsers);
  const module = DemoModule.register(config, users);
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { rawBody: true, logger: false })
      : await NestFactory.create(module, { rawBody: true, logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const report = app.get(StartupReport);
  return { app, url: `http://127.0.0.1:${port}`, routes: report.routes, services: ['demo', 'demo-session', 'demo-byok'] };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'ALL']);

for (const adapter of ADAPTERS) {
  describe(`every route of the demo app refuses cross-site use (${adapter})`, () => {
    let demo: Awaited<ReturnType<typeof startDemo>>;
    before(async () => {
      demo = await startDemo(adapter, join(tmp, `demo-${adapter}`));
    });
    after(async () => {
      await demo?.app.close();
    });

    it('the StartupReport lists every proxy route (usesCredentials), so route walks and audits see them', () => {
      const proxied = demo.routes.filter((r) => r.usesCredentials);
      const listed = proxied.map((r) => r.path);
      for (const service of demo.services) {
        assert.ok(listed.some((p) => p.startsWith(`/api/proxy/${service}/`)), `no route for /api/proxy/${service}/* in StartupReport.routes: ${JSON.stringify(demo.routes.map((r) => `${r.method} ${r.path}`))}`);
      }
    });

    it('every unsafe-method route and every proxy route answers a cross-site request with 403 (unless listed as skipped)', async () => {
      const page = new PageClient(demo.url);
      const login = await page.post('/api/auth/login', { username: 'alice', password: 'alice-password' });
      assert.equal(login.status, 200, login.text);
      const byok = upstream.mint();
      assert.equal((await page.put('/api/keys/demo-byok', { key: byok.key })).status, 204);
      const handle = (await page.get('/api/auth/sessions')).body[0].id as string;
      const cookie = page.cookieHeader;

      const targets: Array<{ method: string; path: string; skipped: string | null }> = [];
      for (const r of demo.routes) {
        if (!UNSAFE.has(r.method) && !r.usesCredentials) continue;
        const path = r.path.replace(':id', encodeURIComponent(handle)).replace(':service', 'demo-byok').replace(/\{?\*[A-Za-z]+\}?|\*$/, 'echo');
        for (const method of r.method === 'ALL' ? ['GET', 'POST'] : [r.method]) targets.push({ method, path, skipped: r.originCheckSkipped });
      }
      // The proxy routes, whether or not the report lists them.
      for (const service of demo.services) for (const method of ['GET', 'POST', 'PUT', 'DELETE']) targets.push({ method, path: `/api/proxy/${service}/echo`, skipped: null });
      const attacks: Array<[string, Record<string, string>]> = [
        ['cross-site', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', 'x-csrf': '1' }],
        ['foreign Origin', { origin: 'https://evil.example', 'x-csrf': '1' }],
        ['null Origin', { origin: 'null', 'x-csrf': '1' }],
        ['foreign Referer', { referer: 'https://evil.example/x', 'x-csrf': '1' }],
        ['no origin signal', { 'x-csrf': '1' }],
        ['same-origin, no x-csrf', { 'sec-fetch-site': 'same-origin', origin: demo.url }],
      ];
      const before = upstream.stats().requests;
      const failures: string[] = [];
      let sent = 0;
      for (const t of targets) {
        for (const [name, headers] of attacks) {
          const body = t.method === 'GET' || t.method === 'DELETE' ? undefined : JSON.stringify({ key: 'attacker-key-0123456789', username: 'bob', password: 'bob-password' });
          const r: RawReply = await nodeRequest(demo.url, t.method, t.path, { cookie, ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, body);
          sent++;
          const expected = t.skipped ? 'not 403' : 403;
          if (t.skipped ? r.status === 403 : r.status !== 403) failures.push(`${t.method} ${t.path} (${name}): ${r.status}, expected ${expected}: ${r.body.slice(0, 100)}`);
        }
      }
      console.log(`# ${adapter}: ${demo.routes.length} routes in the StartupReport, ${targets.length} guarded route/method pairs walked x ${attacks.length} attacks = ${sent} requests`);
      assert.deepEqual(failures, []);
      assert.equal(upstream.stats().requests, before, 'a refused proxy call reached the upstream');
      // Nothing happened: still logged in as alice, the session was not revoked, the key was not replaced.
      const me = await page.get('/api/auth/session');
      assert.equal(me.status, 200);
      assert.equal(me.body.user.name, 'alice');
      assert.equal((await page.get('/api/proxy/demo-byok/echo')).body.keyId, byok.id);
      await page.post('/api/auth/logout');
    });
  });
}
