// Issue 23.1 (clients that never read pin memory): proxied answers (up to 10 MiB) were
// buffered whole and the concurrency slots released before the client had the bytes, with
// no write timeout: one session with 48 such connections added ~330 MB. Now a call keeps
// its slots and its bytes until the answer has left the process, the bytes are bounded per
// session and per process, and a write that makes no progress closes the connection.
//
// Issue 23.3 (the per-session share bypassed by opening several sessions): one user with
// 10 sessions held 160 slots. Now a user's sessions share `maxConcurrentPerUser`.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, ProxyService, type ProxyOptions, type ProxyServiceOptions } from '../src/index.js';
import { resolveProxyOptions } from '../src/proxy/proxy-options.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

const MIB = 1024 * 1024;
/** Larger than what the kernel's socket buffers take from a client that does not read (measured: 1 MiB fits, 4 MiB does not). */
const BIG = 8 * MIB;
const SERVER_KEY = `slow-${secret()}`;
const ADMIN = secret();

/** A client that sends one request, reads the status line, then stops reading (its socket paused). */
interface StalledClient {
  status: number;
  socket: Socket;
  /** Reads the rest until the server closes the connection; the bytes received after the head. */
  drain(): Promise<number>;
}

async function stalledCall(bff: RunningApp, page: PageClient, path: string): Promise<StalledClient> {
  const socket = connect(bff.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${bff.port}\r\nCookie: ${page.cookieHeader}\r\nX-CSRF: 1\r\nOrigin: ${bff.url}\r\nSec-Fetch-Site: same-origin\r\n\r\n`);
  const first: Buffer = await new Promise((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('close', () => reject(new Error('closed before answering')));
  });
  socket.pause();
  const head = first.toString('latin1');
  const bodyStart = head.indexOf('\r\n\r\n') + 4;
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
    socket,
    drain: () =>
      new Promise((resolve) => {
        let got = first.length - bodyStart;
        socket.on('data', (d: Buffer) => (got += d.length));
        socket.once('close', () => resolve(got));
        socket.resume();
      }),
  };
}

const login = async (bff: RunningApp, user: string): Promise<PageClient> => {
  const page = new PageClient(bff.url);
  assert.equal((await page.post('/login', { user })).status, 200);
  return page;
};

function app(adapter: (typeof ADAPTERS)[number], upstream: UpstreamHandle, proxy: Omit<ProxyOptions, 'services'>, big: Partial<ProxyServiceOptions>): Promise<RunningApp> {
  const options = bffOptions({ store: new MemoryStore(), upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer: new HttpKeyIssuer(upstream.url, ADMIN) });
  options.proxy = { ...proxy, services: { big: upstreamService(upstream.url, 'server', { timeoutMs: 20_000, ...big }) } };
  return startTestApp(adapter, options);
}

describe('proxy options: writeTimeoutMs, buffer bounds, maxConcurrentPerUser', () => {
  const svc = (extra: Record<string, unknown> = {}) => ({ baseUrl: 'https://api.example/', credential: 'k', ...extra });
  const resolve = (raw: unknown) => {
    const problems: string[] = [];
    const out = resolveProxyOptions(raw, new Set(['k']), 'x-csrf', problems);
    return { out, problems };
  };

  it('defaults: 30 s, 32 MiB per session (or the largest answer), 256 MiB in all, twice the session share per user', () => {
    const { out, problems } = resolve({ services: { a: svc(), b: svc({ maxResponseBytes: 40 * MIB, maxConcurrent: 10 }) } });
    assert.deepEqual(problems, []);
    assert.deepEqual(out.get('a')!.answers, { writeTimeoutMs: 30_000, maxBufferedBytesPerSession: 40 * MIB, maxBufferedBytes: 256 * MIB });
    assert.equal(out.get('a')!.answers, out.get('b')!.answers, 'one object for every service');
    assert.equal(out.get('a')!.maxConcurrentPerUser, 32);
    assert.equal(out.get('b')!.maxConcurrentPerUser, 4);
    // A user share below the default session share takes the session share down with it.
    const low = resolve({ services: { a: svc({ maxConcurrentPerUser: 3 }) } }).out.get('a')!;
    assert.deepEqual([low.maxConcurrentPerSession, low.maxConcurrentPerUser], [3, 3]);
  });

  it('every wrong value is reported at once, with the path and a fix', () => {
    const { problems } = resolve({
      writeTimeoutMs: 0,
      maxBufferedBytesPerSession: 5 * MIB, // below the service's 10 MiB answers
      maxBufferedBytes: Number.NaN,
      services: { a: svc({ maxConcurrentPerSession: 8, maxConcurrentPerUser: 4 }), b: svc({ maxConcurrent: 4, maxConcurrentPerUser: 5 }) },
    });
    const expect = [
      /proxy\.writeTimeoutMs: expected an integer number of milliseconds between 100 and 600000, got 0/,
      /proxy\.maxBufferedBytesPerSession: 5242880 is less than the largest maxResponseBytes \(10485760\)/,
      /proxy\.maxBufferedBytes: expected a whole number of bytes .* got NaN/,
      /proxy\.services\.a\.maxConcurrentPerUser: 4 is less than maxConcurrentPerSession \(8\)/,
      /proxy\.services\.b\.maxConcurrentPerUser: expected a whole number of calls between 1 \(maxConcurrentPerSession\) and 4 \(maxConcurrent\), got 5/,
    ];
    for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `${re}\n${problems.join('\n')}`);
    const total = resolve({ maxBufferedBytesPerSession: 64 * MIB, maxBufferedBytes: 32 * MIB, services: { a: svc() } }).problems;
    assert.ok(total.some((p) => /proxy\.maxBufferedBytes: 33554432 is less than maxBufferedBytesPerSession \(67108864\)/.test(p)), total.join('\n'));
  });
});

let upstream: UpstreamHandle;
before(async () => {
  upstream = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: ADMIN });
});
after(() => upstream?.close());

for (const adapter of ADAPTERS) {
  describe(`proxy: clients that stop reading (${adapter})`, () => {
    let bff: RunningApp;
    const stalled: StalledClient[] = [];
    before(async () => {
      // Only options that existed before the fix: the session's share of the slots.
      bff = await app(adapter, upstream, {}, { maxConcurrentPerSession: 2 });
    });
    after(async () => {
      for (const s of stalled) s.socket.destroy();
      await bff?.close();
    });

    it('regression: the slots were given back before the client had the answer; they are held until it takes it, and its bytes are counted', async () => {
      const page = await login(bff, `stall-${adapter}`);
      for (let i = 0; i < 2; i++) {
        const s = await stalledCall(bff, page, `/api/proxy/big/big?bytes=${BIG}`);
        stalled.push(s);
        assert.equal(s.status, 200, 'the answer is being written');
      }
      // Both answers are being written to clients that do not read: the session's two slots are still taken.
      const probe = await page.get('/api/proxy/big/echo');
      assert.equal(probe.status, 429, `a third call of the session was served: ${probe.text.slice(0, 100)}`);
      assert.equal(probe.body.code, 'KW_PROXY_SESSION_BUSY');
      assert.equal(probe.headers.get('retry-after'), '1');
      const stats = bff.app.get(ProxyService).stats();
      assert.equal(stats.callsInFlight, 2);
      assert.equal(stats.bufferedBytes, 2 * BIG);
      // Another session is not held up.
      const other = await login(bff, `other-${adapter}`);
      assert.equal((await other.get('/api/proxy/big/echo')).status, 200);
      // The client reads after all: it gets every byte, and the slots and bytes come back.
      assert.equal(await stalled.shift()!.drain(), BIG);
      await waitFor(() => bff.app.get(ProxyService).stats().callsInFlight === 1, 10_000, () => 'the slot back');
      assert.equal(bff.app.get(ProxyService).stats().bufferedBytes, BIG);
      assert.equal((await page.get('/api/proxy/big/echo')).status, 200);
    });
  });

  describe(`proxy: buffer bounds and the write timeout (${adapter})`, () => {
    let bff: RunningApp;
    const stalled: StalledClient[] = [];
    const bounds = { maxBufferedBytesPerSession: 20 * MIB, maxBufferedBytes: 28 * MIB, writeTimeoutMs: 4000 };
    before(async () => {
      bff = await app(adapter, upstream, bounds, { maxConcurrentPerSession: 8 });
    });
    after(async () => {
      for (const s of stalled) s.socket.destroy();
      await bff?.close();
    });
    const stats = () => bff.app.get(ProxyService).stats();

    it('bytes held for clients that do not read are bounded per session (429) and per process (503), with Retry-After; small calls and other sessions still pass', async () => {
      const a = await login(bff, `bytes-a-${adapter}`);
      for (let i = 0; i < 2; i++) stalled.push(await stalledCall(bff, a, `/api/proxy/big/big?bytes=${BIG}`));
      assert.equal(stats().bufferedBytes, 2 * BIG);
      // 16 MiB held + 8 MiB > 20 MiB for this session.
      const over = await a.get(`/api/proxy/big/big?bytes=${BIG}`);
      assert.equal(over.status, 429, over.text.slice(0, 100));
      assert.equal(over.body.code, 'KW_PROXY_SESSION_BUFFER_FULL');
      assert.equal(over.headers.get('retry-after'), '1');
      assert.equal((await a.get('/api/proxy/big/echo')).status, 200, 'a small answer still fits');
      const b = await login(bff, `bytes-b-${adapter}`);
      stalled.push(await stalledCall(bff, b, `/api/proxy/big/big?bytes=${BIG}`));
      assert.equal(stats().bufferedBytes, 3 * BIG);
      // This session has room (8 + 8 <= 20 MiB), the process does not (24 + 8 > 28 MiB).
      const full = await b.get(`/api/proxy/big/big?bytes=${BIG}`);
      assert.equal(full.status, 503, full.text.slice(0, 100));
      assert.equal(full.body.code, 'KW_PROXY_BUFFER_FULL');
      assert.equal(full.headers.get('retry-after'), '1');
      const c = await login(bff, `bytes-c-${adapter}`);
      assert.equal((await c.get('/api/proxy/big/echo')).status, 200, 'another session\'s small call is served');
      assert.ok(stats().bufferedBytes <= bounds.maxBufferedBytes);
    });

    it('a write that makes no progress for writeTimeoutMs closes the connection: slots and bytes come back, the client gets a cut answer', async () => {
      const held = stalled.length;
      assert.ok(held >= 3);
      // Slots and bytes come back on each connection's 'close', which may follow its timeout by a turn or more on a busy machine.
      await waitFor(() => stats().writesTimedOut >= held && stats().callsInFlight === 0, 30_000, () => `${held} stalled writes closed and released (${JSON.stringify(stats())})`);
      assert.deepEqual({ calls: stats().callsInFlight, bytes: stats().bufferedBytes, sessions: stats().sessionsBuffering }, { calls: 0, bytes: 0, sessions: 0 });
      for (const s of stalled.splice(0)) assert.ok((await s.drain()) < BIG, 'the answer was cut');
      const a = await login(bff, `bytes-a2-${adapter}`);
      const r = await a.get(`/api/proxy/big/big?bytes=${BIG}`);
      assert.equal(r.status, 200, 'a client that reads gets the whole answer');
      assert.equal(r.text.length, BIG);
    });
  });

  describe(`proxy: one user's share over all their sessions (${adapter})`, () => {
    let bff: RunningApp;
    before(async () => {
      // Only options that existed before the fix: the per-user share is its default (twice the session's: 2).
      bff = await app(adapter, upstream, {}, { maxConcurrentPerSession: 1 });
    });
    after(() => bff?.close());

    it('regression: one user with many sessions held a slot per session; they hold at most maxConcurrentPerUser, and another user is served', async () => {
      const sessions = await Promise.all(Array.from({ length: 5 }, () => login(bff, `many-${adapter}`)));
      const other = await login(bff, `someone-else-${adapter}`);
      const before = upstream.stats().requests;
      let refused = 0;
      const calls = sessions.map((p) =>
        p.get('/api/proxy/big/slow?ms=1500').then((r) => {
          if (r.status !== 200) refused++;
          return r;
        }),
      );
      await waitFor(() => refused >= 3, 1000).catch(() => undefined);
      const theOther = await other.get('/api/proxy/big/echo');
      const replies = await Promise.all(calls);
      assert.equal(replies.filter((r) => r.status === 200).length, 2, `served: ${replies.map((r) => r.status).join(', ')}`);
      for (const r of replies.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 429);
        assert.equal(r.body.code, 'KW_PROXY_USER_BUSY');
        assert.equal(r.headers.get('retry-after'), '1');
      }
      assert.equal(theOther.status, 200, 'another user is served while the first holds its share');
      assert.equal(upstream.stats().requests - before, 3, 'the refused calls never reached the upstream');
    });
  });
}
