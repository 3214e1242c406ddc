// The Host allowlist is enforced again where the key is attached (ProxyService.forward),
// not only at the edge: a caller that reaches the proxy service another way (an app's own
// route calling ProxyService, a future routing path) cannot spend a key for a rebound host.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, ProxyService } from '../src/index.js';
import { bffOptions } from './support/bff-options.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

describe('ProxyService.forward checks the Host allowlist at the point of use', () => {
  let upstream: UpstreamHandle;
  let bff: RunningApp;
  const key = `srv-${secret()}`;
  before(async () => {
    upstream = await startUpstream({ serverKeys: [key], adminToken: secret() });
    bff = await startTestApp('express', bffOptions({ store: new MemoryStore(), upstreamUrl: upstream.url, serverKeys: [key], issuer: { mint: async () => ({ id: 'x', key: secret() }), revoke: async () => {} } }));
  });
  after(async () => {
    await bff?.close();
    await upstream?.close();
  });

  const call = (selfOrigin: string | null) => ({
    service: 'server',
    method: 'GET',
    rest: 'echo',
    headers: { 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
    body: undefined,
    session: { key: 'k', userId: 'u', data: {} } as never,
    selfOrigin,
  });

  it('a rebound host name is refused with KW_HOST_NOT_ALLOWED before any key is taken', async () => {
    const proxy = bff.app.get(ProxyService);
    const before = upstream.stats().requests;
    await assert.rejects(proxy.forward(call('http://evil.example:3000')), (e: { code?: string }) => e.code === 'KW_HOST_NOT_ALLOWED');
    await assert.rejects(proxy.forward(call(null)), (e: { code?: string }) => e.code === 'KW_HOST_NOT_ALLOWED');
    assert.equal(upstream.stats().requests, before, 'the upstream was never called');
  });

  it('the app\'s own loopback address goes on to the next checks', async () => {
    const proxy = bff.app.get(ProxyService);
    const r = await proxy.forward(call(bff.url)).then((x) => ({ ok: true as const, status: x.status }), (e: { code?: string }) => ({ ok: false as const, code: e.code }));
    assert.deepEqual(r, { ok: true, status: 200 }, 'the call with the app\'s own host reaches the upstream');
  });
});
