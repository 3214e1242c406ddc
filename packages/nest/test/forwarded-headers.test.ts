import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Req } from '@nestjs/common';
import { AllowAnonymous, ClientAddress, MemoryStore, resolveKeywardOptions } from '../src/index.js';
import { clientAddress } from '../src/transport/forwarded.js';
import { ADAPTERS } from './support/adapters.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

// Issue 23, points 13 and 18: apps had no client address by the HTTPS decision's trust rule
// (behind the proxy production requires, everyone was the proxy), and a client's own
// X-Forwarded-Host was believed when the trusted proxy did not overwrite it.

const loopback = resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, transport: { trustProxy: 'loopback' } }, { NODE_ENV: 'development' }).transport.trust;
const none = (): boolean => false;
const req = (peer: string | undefined, xff?: string | string[]) => ({ headers: xff === undefined ? {} : { 'x-forwarded-for': xff }, socket: { remoteAddress: peer } });

describe('clientAddress: the address the last trusted hop saw', () => {
  it('the TCP peer when it is not a trusted proxy, whatever X-Forwarded-For says', () => {
    assert.equal(clientAddress(req('203.0.113.9', '10.0.0.1'), loopback), '203.0.113.9');
    assert.equal(clientAddress(req('127.0.0.1', '10.0.0.1'), none), '127.0.0.1');
    assert.equal(clientAddress(req('::ffff:198.51.100.2'), none), '198.51.100.2');
  });
  it('behind a trusted proxy: the rightmost address no trusted proxy vouched for; a client\'s own entries to its left are ignored', () => {
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.7'), loopback), '198.51.100.7');
    assert.equal(clientAddress(req('127.0.0.1', '6.6.6.6, 198.51.100.7'), loopback), '198.51.100.7');
    assert.equal(clientAddress(req('127.0.0.1', ['6.6.6.6', '198.51.100.7, 127.0.0.2']), loopback), '198.51.100.7', 'two trusted hops');
    assert.equal(clientAddress(req('::1', '2001:db8::5'), loopback), '2001:db8::5');
  });
  it('no or malformed X-Forwarded-For: the last address known', () => {
    assert.equal(clientAddress(req('127.0.0.1'), loopback), '127.0.0.1');
    assert.equal(clientAddress(req('127.0.0.1', 'not-an-ip'), loopback), '127.0.0.1');
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.7, <script>'), loopback), '127.0.0.1');
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.7, 127.0.0.3, junk\r\n'), loopback), '127.0.0.1');
    assert.equal(clientAddress(req(undefined, '198.51.100.7'), loopback), undefined);
  });
});

@Controller()
class AddressController {
  constructor(private readonly clients: ClientAddress) {}
  @Get('whoami')
  @AllowAnonymous()
  whoami(@Req() r: unknown) {
    return { client: this.clients.of(r) ?? null };
  }
}

for (const adapter of ADAPTERS) {
  describe(`ClientAddress and X-Forwarded-Host behind a trusted proxy (${adapter})`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startTestApp(adapter, { session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 }, transport: { trustProxy: 'loopback' } }, { controllers: [AddressController] });
    });
    after(() => app?.close());

    it('ClientAddress gives the address the proxy reports, in a Nest handler', async () => {
      const r = await fetch(`${app.url}/whoami`, { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' } });
      assert.deepEqual(await r.json(), { client: '198.51.100.7' });
    });

    it('a client\'s X-Forwarded-Host does not make a cross-site request same-origin (trustForwardedHost is off by default)', async () => {
      const r = await fetch(`${app.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf': '1', origin: 'http://evil.example', 'x-forwarded-host': 'evil.example' },
        body: JSON.stringify({ user: 'alice' }),
      });
      assert.equal(r.status, 403);
      assert.equal(((await r.json()) as { code: string }).code, 'KW_ORIGIN_REFUSED');
    });
  });
}

describe('trustForwardedHost: true believes the trusted proxy\'s X-Forwarded-Host', () => {
  let app: RunningApp;
  before(async () => {
    app = await startTestApp('express', {
      session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
      transport: { trustProxy: 'loopback', trustForwardedHost: true },
      origin: { allowedHosts: ['app.example.com'] },
    });
  });
  after(() => app?.close());

  it('the host the proxy says the client addressed is the origin the CSRF check compares with', async () => {
    const r = await fetch(`${app.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf': '1', origin: 'http://app.example.com', 'x-forwarded-host': 'app.example.com' },
      body: JSON.stringify({ user: 'alice' }),
    });
    assert.equal(r.status, 200);
  });
});
