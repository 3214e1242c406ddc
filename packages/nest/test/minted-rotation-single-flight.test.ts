import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../src/index.js';
import { bffOptions } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

// Regression: the minted key's rotation lease was owned by the process, not by the attempt.
// Several app instances in one process (as in these tests, or a worker that hosts two apps)
// all "held" it at once, and each minted a key at the same rotation: one session, several
// new keys, all but one orphaned until the session ended. The lease is now owned by the
// attempt, and the holder reads the current key again before minting (another holder may
// have rotated and let the lease lapse in between).

let redis: RedisServer;
redisSuite('kw-minted-rotation-', (r) => (redis = r));

const ROTATE_MS = 1_000;

describe('minted key rotation is single-flight across instances in one process', () => {
  const ADMIN = secret();
  let upstream: UpstreamHandle;
  let issuer: HttpKeyIssuer;
  const apps: RunningApp[] = [];

  before(async () => {
    upstream = await startUpstream({ serverKeys: [secret()], adminToken: ADMIN });
    issuer = new HttpKeyIssuer(upstream.url, ADMIN);
    const sessionSecret = secret();
    const keys = [vaultKey('k1')];
    for (const adapter of ['express', 'fastify', 'express'] as const) {
      const options = bffOptions({
        store: new RedisStore({ url: redis.url, prefix: 'kw:minted-rotation:' }),
        upstreamUrl: upstream.url,
        serverKeys: [secret()],
        issuer,
        rotateEveryMs: ROTATE_MS,
        graceMs: 60_000,
        vaultKeys: keys,
        session: { secrets: [sessionSecret] },
        extraServices: {},
      });
      for (const s of Object.values(options.proxy!.services!)) Object.assign(s, { maxConcurrent: 256, maxConcurrentPerSession: 256 });
      apps.push(await startTestApp(adapter, options));
    }
  });
  after(async () => {
    for (const a of apps) await a.close();
    await issuer?.close();
    await upstream?.close();
  });

  it('120 calls of one session at rotation time on 3 instances: exactly one new key', async () => {
    const first = new PageClient(apps[0]!.url);
    const login = await first.post('/login', { user: 'rotating-user' });
    assert.equal(login.status, 200, login.text);
    const warm = await first.get('/api/proxy/minted/echo');
    assert.equal(warm.status, 200, warm.text);
    const handle = login.body.handle as string;
    const mintedBefore = issuer.idsFor(handle).length;
    assert.equal(mintedBefore, 1, 'one key minted at login');

    await new Promise((r) => setTimeout(r, ROTATE_MS + 200));
    const cookie = first.cookieHeader;
    const clients = apps.map((a) => new PageClient(a.url));
    const calls = await Promise.all(Array.from({ length: 120 }, (_, i) => clients[i % 3]!.get('/api/proxy/minted/echo', { cookie })));
    const statuses = new Map<number, number>();
    for (const c of calls) statuses.set(c.status, (statuses.get(c.status) ?? 0) + 1);
    assert.deepEqual([...statuses], [[200, 120]], calls.find((c) => c.status !== 200)?.text);
    const minted = issuer.idsFor(handle);
    assert.equal(minted.length - mintedBefore, 1, `exactly one rotation; minted ${minted.length - mintedBefore}`);
    // Every call used either the key from before the rotation (still valid in its grace) or the new one.
    const used = new Set(calls.map((c) => c.body.keyId as string));
    assert.ok([...used].every((id) => minted.includes(id)), 'only this session\'s keys were used');
  });
});
