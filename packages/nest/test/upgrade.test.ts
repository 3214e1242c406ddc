import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { MemoryStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

/** Sends a WebSocket handshake and resolves with the status line the server answered, or 'closed'. */
function handshake(url: string, origin: string | undefined, extra: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {
      ...extra,
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };
    if (origin) headers.origin = origin;
    const req = request(`${url}/ws`, { headers });
    req.on('response', (res) => {
      resolve(`HTTP ${res.statusCode}`);
      res.resume();
    });
    req.on('upgrade', (res, socket) => {
      resolve(`HTTP ${res.statusCode}`);
      socket.destroy();
    });
    req.on('error', () => resolve('closed'));
    req.setTimeout(3000, () => {
      req.destroy();
      resolve('timeout');
    });
    req.end();
  });
}

for (const adapter of ADAPTERS) {
  describe(`WebSocket upgrade origin check (${adapter})`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startTestApp(adapter, { session: { secrets: ['w'.repeat(16) + 'x9Qz!kP2#vL7@mN4$rT8'], store: new MemoryStore() } });
      // A gateway stand-in: answers 101 to any handshake that reaches it.
      app.app.getHttpServer().on('upgrade', (_req: unknown, socket: import('node:net').Socket) => {
        socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      });
    });
    after(() => app.close());

    it('refuses a cross-site handshake before any gateway sees it', async () => {
      assert.equal(await handshake(app.url, 'https://evil.example'), 'HTTP 403');
    });

    it('refuses a handshake without Origin and with Origin null', async () => {
      assert.equal(await handshake(app.url, undefined), 'HTTP 403');
      assert.equal(await handshake(app.url, 'null'), 'HTTP 403');
    });

    it('lets a same-origin handshake through to the gateway', async () => {
      assert.equal(await handshake(app.url, app.url), 'HTTP 101');
    });
  });
}

// Issue 23, point 11: WebSocket handshakes skipped transport.requireHttps (a cookie-bearing
// handshake over plain ws:// was let through where every HTTP request is refused).
for (const adapter of ADAPTERS) {
  describe(`WebSocket upgrade where HTTPS is required (${adapter})`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startTestApp(adapter, {
        session: { secrets: ['w'.repeat(16) + 'x9Qz!kP2#vL7@mN4$rT8'], store: new MemoryStore() },
        transport: { requireHttps: true, trustProxy: 'loopback' },
      });
      app.app.getHttpServer().on('upgrade', (_req: unknown, socket: import('node:net').Socket) => {
        socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      });
    });
    after(() => app.close());

    it('refuses a same-origin handshake over plain HTTP (403), lets one through that the trusted proxy says came over HTTPS', async () => {
      const httpsOrigin = app.url.replace('http:', 'https:');
      assert.equal(await handshake(app.url, httpsOrigin), 'HTTP 403');
      assert.equal(await handshake(app.url, httpsOrigin, { 'x-forwarded-proto': 'https' }), 'HTTP 101');
    });
  });
}
