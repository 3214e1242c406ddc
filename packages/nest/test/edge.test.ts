import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions } from './support/bff-options.js';
import { PageClient, type Reply } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';

// Keyward's HTTP layer runs at the app's server, ahead of the framework; an app whose
// framework instance is served some other way (serverless adapters) gets the same layer
// as a Nest middleware. Both paths, on both adapters, with a real upstream.

const tmp = mkdtempSync(join(tmpdir(), 'kw-edge-'));
const SERVER_KEY = secret();
const ADMIN = secret();
let upstream: UpstreamHandle;

upstreamSuite({ serverKeys: [{ id: 'server-1', key: SERVER_KEY }], adminToken: ADMIN }, (u) => (upstream = u));
after(() => rmSync(tmp, { recursive: true, force: true }));

function assertKeywardHeaders(r: Reply, what: string): void {
  assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, `${what}: X-Request-Id`);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
  assert.equal(r.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`);
  assert.equal(r.headers.get('x-powered-by'), null, `${what}: X-Powered-By removed`);
  assert.match(r.headers.get('vary') ?? '', /Origin/, `${what}: Vary`);
}

for (const adapter of ADAPTERS) {
  for (const serve of ['listen', 'instance'] as const) {
    describe(`HTTP layer on ${adapter}, app served by ${serve === 'listen' ? 'its own server (edge)' : 'another server (middleware fallback)'}`, () => {
      let bff: RunningApp;
      let issuer: HttpKeyIssuer;
      let page: PageClient;
      /** Requests that reached the app's own middleware (registered with app.use). */
      const seenByApp: string[] = [];

      before(async () => {
        issuer = new HttpKeyIssuer(upstream.url, ADMIN);
        bff = await startTestApp(
          adapter,
          bffOptions({ store: new SqliteStore({ file: join(tmp, `${adapter}-${serve}.sqlite`) }), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer }),
          {
            serve,
            setup: (app) =>
              app.use((req: IncomingMessage & { originalUrl?: string }, _res: ServerResponse, next: () => void) => {
                seenByApp.push(req.originalUrl ?? req.url ?? '');
                next();
              }),
          },
        );
        page = new PageClient(bff.url);
        assert.equal((await page.post('/login', { user: `edge-${adapter}-${serve}` })).status, 200);
      });
      after(async () => {
        await bff?.close();
        await issuer?.close();
      });

      it('a proxied call is forwarded with the key and carries every Keyward header', async () => {
        const body = JSON.stringify({ n: 1 });
        const r = await page.post('/api/proxy/server/echo', body, { headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.keyId, 'server-1');
        assert.equal(r.body.bodyBytes, Buffer.byteLength(body));
        assertKeywardHeaders(r, 'proxied call');
      });

      if (serve === 'listen') {
        it('a listener that answers before the framework (as socket.io long polling does) still gets the layer', async () => {
          const server = bff.app.getHttpServer() as import('node:http').Server;
          const listeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
          server.removeAllListeners('request');
          server.on('request', (req: IncomingMessage, res: ServerResponse) => {
            if (req.url?.startsWith('/side/')) {
              res.end('side');
              return;
            }
            for (const l of listeners) l.call(server, req, res);
          });
          const r = await page.get('/side/poll');
          assert.equal(r.text, 'side');
          assertKeywardHeaders(r, 'side listener');
          const refused = await page.request('OPTIONS', '/side/poll', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
          assert.equal(refused.status, 403, 'a foreign preflight never reaches the side listener');
        });
      }

      it('routes of the app carry the same headers', async () => {
        const r = await page.get('/me');
        assert.equal(r.status, 200, r.text);
        assertKeywardHeaders(r, 'app route');
      });

      it('a cross-site proxied call is refused before anything is forwarded', async () => {
        const r = await page.get('/api/proxy/server/echo', { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
        assert.equal(r.status, 403, r.text);
        assert.equal(r.body.code, 'KW_ORIGIN_REFUSED');
        assertKeywardHeaders(r, 'refusal');
      });

      it('a CORS preflight from a foreign origin is refused', async () => {
        const r = await page.request('OPTIONS', '/api/proxy/server/echo', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
        assert.equal(r.status, 403);
        assert.equal(r.headers.get('access-control-allow-origin'), null);
      });

      // Express: the edge wraps the application's entry, so it sees every request however the
      // app is served. Fastify: requests that bypass the server get the middleware fallback.
      const atEdge = adapter === 'express' || serve === 'listen';
      it(atEdge ? 'proxied calls are answered at the edge: the app\'s own middleware never sees them' : 'without the server, the layer runs as a middleware: the proxy passes the app\'s own middleware', () => {
        const proxied = seenByApp.filter((u) => u.startsWith('/api/proxy/'));
        assert.ok(seenByApp.some((u) => u === '/me'), `app routes reach the app's middleware: ${seenByApp.join(' ')}`);
        if (atEdge) assert.deepEqual(proxied, []);
        else assert.ok(proxied.length >= 2, `seen: ${seenByApp.join(' ')}`);
      });
    });
  }
}
