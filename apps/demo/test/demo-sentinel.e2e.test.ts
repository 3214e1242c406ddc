/**
 * The demo on a Sentinel-managed Redis (REDIS_SENTINELS + REDIS_SENTINEL_MASTER, issue 27):
 * real redis-server processes (a master, a replica, a Sentinel) and the real demo and
 * upstream processes. A logout is confirmed by the replica; with the replica frozen it is
 * refused with 503 KW_STORE_NOT_DURABLE and the cookie is not cleared. A half-given
 * configuration stops the demo at start with the problem named.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';

const REPLICAS_SUPPORT = new URL('../../../../packages/nest/dist/test/support/redis-replicas.js', import.meta.url).href;

interface ServerHandle {
  port: number;
  pid: number | undefined;
}
interface ReplicasHandle {
  servers: ServerHandle[];
  sentinelAddresses: string[];
  pause(s: ServerHandle): void;
  resume(s: ServerHandle): void;
  destroy(): Promise<void>;
}

describe('demo on Redis Sentinel (real demo, upstream, master, replica, Sentinel)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-sentinel-'));
  let set: ReplicasHandle;
  let upstream: Child;
  let demo: Child;
  let base: string;
  let env: Record<string, string>;

  before(async () => {
    const mod = (await import(REPLICAS_SUPPORT)) as { RedisReplicas: { launch(o: { replicas: number; sentinels: number }): Promise<ReplicasHandle> } };
    set = await mod.RedisReplicas.launch({ replicas: 1, sentinels: 1 });
    const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
    base = `http://127.0.0.1:${port}`;
    env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: `sen_${randomBytes(24).toString('base64url')}`, DEMO_UPSTREAM_ADMIN_TOKEN: `adm_${randomBytes(24).toString('base64url')}` };
    upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`http://127.0.0.1:${upstreamPort}/internal/none`));
    demo = await Child.start(
      'demo',
      DEMO_MAIN,
      cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_DEMO_TEST_PASSWORD_HASH: '1', REDIS_SENTINELS: set.sentinelAddresses.join(','), REDIS_SENTINEL_MASTER: 'mymaster' }),
      () => answers200(`${base}/healthz`),
      40_000,
    );
  });
  after(async () => {
    await demo?.stop();
    await upstream?.stop();
    await set?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, cookie?: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers; cookie: string | undefined }> => {
    const res = await fetch(base + path, {
      method,
      headers: { 'x-csrf': '1', origin: base, ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const set = res.headers.getSetCookie()[0]?.split(';')[0];
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers, cookie: set };
  };

  it('says which store it uses, confirms a logout on the replica, and refuses one the replica cannot confirm (503, cookie kept)', async () => {
    assert.match(demo.output, /Redis Sentinel store/);
    const first = await call('POST', '/api/auth/login', undefined, { username: 'alice', password: 'alice-password' });
    assert.equal(first.status, 200);
    assert.equal((await call('GET', '/api/auth/session', first.cookie)).status, 200);
    assert.equal((await call('POST', '/api/auth/logout', first.cookie)).status, 204);
    assert.equal((await call('GET', '/api/auth/session', first.cookie)).status, 401, 'the old cookie never works again');

    const second = await call('POST', '/api/auth/login', undefined, { username: 'bob', password: 'bob-password' });
    assert.equal(second.status, 200);
    const replica = set.servers[1]!;
    set.pause(replica);
    try {
      const refused = await call('POST', '/api/auth/logout', second.cookie);
      assert.equal(refused.status, 503);
      assert.equal(refused.body.code, 'KW_STORE_NOT_DURABLE');
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(refused.cookie, undefined, 'the cookie is not cleared');
    } finally {
      set.resume(replica);
    }
    assert.equal((await call('POST', '/api/auth/logout', second.cookie)).status, 204, 'the retry is confirmed');
    assert.equal((await call('GET', '/api/auth/session', second.cookie)).status, 401);
  });

  it('stops at start when REDIS_SENTINELS comes without REDIS_SENTINEL_MASTER, naming the fix', async () => {
    const port = await freePort();
    const failed = await Child.start('demo-bad', DEMO_MAIN, cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, REDIS_SENTINELS: set.sentinelAddresses.join(',') }), () => answers200(`http://127.0.0.1:${port}/healthz`), 20_000).then(
      (c) => c.stop().then(() => 'started'),
      (e: unknown) => String(e),
    );
    assert.match(failed, /REDIS_SENTINELS: needs REDIS_SENTINEL_MASTER/);
  });
});
