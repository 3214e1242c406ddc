import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../src/index.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

const SERVER_KEY = `pileup-${secret()}`;

describe('fault: slow and killed upstream, no pile-up', () => {
  let upstream: UpstreamHandle;
  let bff: RunningApp;
  let page: PageClient;

  before(async () => {
    const adminToken = secret();
    upstream = await startUpstream({ serverKeys: [SERVER_KEY], adminToken });
    bff = await startTestApp('express', bffOptions({
      store: new MemoryStore(),
      upstreamUrl: upstream.url,
      serverKeys: [SERVER_KEY],
      issuer: new HttpKeyIssuer(upstream.url, adminToken),
      extraServices: { narrow: upstreamService(upstream.url, 'server', { maxConcurrent: 2, timeoutMs: 1500 }) },
    }));
    page = new PageClient(bff.url);
    assert.equal((await page.post('/login', { user: 'pileup' })).status, 200);
  });
  after(async () => {
    await bff?.close();
    await upstream?.close().catch(() => undefined);
  });

  it('bounded concurrency: beyond 4 x maxConcurrent in flight, calls fail fast with 503 KW_UPSTREAM_BUSY', async () => {
    // One call from each of 30 sessions: the service-wide bound, not the per-session share, refuses them.
    const pages = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const p = new PageClient(bff.url);
      assert.equal((await p.post('/login', { user: `pileup-${i}` })).status, 200);
      return p;
    }));
    const t0 = Date.now();
    const answers = await Promise.all(pages.map(async (p) => {
      const started = Date.now();
      const r = await p.get('/api/proxy/narrow/slow?ms=5000');
      return { status: r.status, code: r.body?.code as string, retryAfter: r.headers.get('retry-after'), ms: Date.now() - started, text: r.text };
    }));
    const busy = answers.filter((a) => a.status === 503);
    const timedOut = answers.filter((a) => a.status === 504);
    console.log(`pile-up: ${answers.length} calls, ${busy.length} refused busy (max ${Math.max(...busy.map((b) => b.ms))} ms), ${timedOut.length} timed out, all done in ${Date.now() - t0} ms`);
    assert.equal(busy.length + timedOut.length, answers.length);
    assert.ok(busy.length >= 30 - 8, `only ${busy.length} refused`);
    for (const b of busy) {
      assert.equal(b.code, 'KW_UPSTREAM_BUSY');
      assert.equal(b.retryAfter, '1');
    }
    for (const a of answers) assert.ok(!a.text.includes(SERVER_KEY));
    assert.ok(Date.now() - t0 < 5000, 'calls piled up behind the slow upstream');
  });

  it('killed upstream: 502 quickly, no key in the error, and the app keeps serving', async () => {
    await upstream.close();
    const t0 = Date.now();
    const r = await page.get('/api/proxy/server/echo');
    assert.equal(r.status, 502);
    assert.equal(r.body.code, 'KW_UPSTREAM_UNAVAILABLE');
    assert.ok(Date.now() - t0 < 2000);
    assert.ok(!r.text.includes(SERVER_KEY));
    assert.equal((await page.get('/me')).status, 200);
  });
});
