// Issue 17: every refusal worth reporting becomes one `request.refused` security event with
// its KW_* code, written by the one error writer (edge steps, the proxy route, the Nest
// filter), on both adapters; nothing secret in the event.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KeywardEvents, MemoryStore, type SecurityEvent } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { AppClient, Client } from './support/clients.js';
import { rawGet, rawHttp } from './support/raw-http.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamService } from './support/bff-options.js';
import { ServerKeyProvider } from '../src/index.js';

for (const adapter of ADAPTERS) {
  describe(`request.refused events (${adapter})`, () => {
    let app: RunningApp;
    const events: SecurityEvent[] = [];
    before(async () => {
      app = await startTestApp(adapter, {
        session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
        vault: { keys: [vaultKey('k1')] },
        credentials: { up: new ServerKeyProvider({ keys: [`key-${secret()}`] }) },
        proxy: { services: { up: upstreamService('http://127.0.0.1:9', 'up') } },
      });
      app.app.get(KeywardEvents).on((e) => events.push(e));
    });
    after(() => app?.close());

    const refusedCodes = (): string[] => events.filter((e) => e.event === 'request.refused').map((e) => String((e as { code?: unknown }).code));

    it('a foreign origin, a missing CSRF header, a rebound Host, a path escape and a forged cookie are each reported once, with their code', async () => {
      events.length = 0;
      const c = new AppClient(app.url);
      assert.equal((await c.post('/login', { user: 'ev' })).status, 200);
      const sessionId = c.jar.get('sid')!.split('.')[0]!;
      // Nest route, refused by the guard (answered through the filter).
      const raw = new Client(app.url);
      assert.equal((await raw.request('POST', '/logout', { cookie: c.cookieHeader, headers: { origin: 'https://evil.example', 'x-csrf': '1' } })).status, 403);
      assert.equal((await raw.request('POST', '/logout', { cookie: c.cookieHeader, headers: { origin: app.url } })).status, 403);
      // Edge step: Host allowlist.
      assert.equal((await rawGet(app.port, '/me', { host: 'evil.example' })).status, 421);
      // Proxy route: a path that tries to escape its base.
      const escape = await rawGet(app.port, '/api/proxy/up/..%2f..%2finternal', { cookie: c.cookieHeader, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' });
      assert.equal(escape.status, 400, escape.body);
      // A forged session cookie.
      assert.equal((await c.get('/me', { cookie: 'sid=forged.value' })).status, 401);
      assert.deepEqual(refusedCodes(), ['KW_ORIGIN_REFUSED', 'KW_CSRF_HEADER_MISSING', 'KW_HOST_NOT_ALLOWED', 'KW_PROXY_BAD_PATH', 'KW_SESSION_INVALID']);
      for (const e of events.filter((x) => x.event === 'request.refused')) {
        const line = JSON.stringify(e);
        assert.ok(!line.includes(sessionId), 'no session ID in the event');
        assert.match(String((e as { requestId?: unknown }).requestId), /^[A-Za-z0-9._-]{8,64}$/);
      }
    });

    it('a WebSocket handshake to a rebound host or from a foreign origin is reported too', async () => {
      events.length = 0;
      // A WebSocket gateway stands in: without an 'upgrade' listener Node serves the handshake as a plain request.
      app.app.getHttpServer().on('upgrade', (_req: unknown, socket: import('node:net').Socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
      const upgrade = (host: string, origin: string) =>
        rawHttp(app.port, `GET /ws HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      assert.equal((await upgrade('evil.example', 'http://evil.example')).status, 421);
      assert.equal((await upgrade(`127.0.0.1:${app.port}`, 'https://evil.example')).status, 403);
      assert.deepEqual(refusedCodes(), ['KW_HOST_NOT_ALLOWED', 'KW_ORIGIN_REFUSED']);
    });

    it('an ordinary 401 (no session at all) is not a security event', async () => {
      events.length = 0;
      assert.equal((await new AppClient(app.url).get('/me')).status, 401);
      assert.deepEqual(refusedCodes(), []);
    });
  });
}
