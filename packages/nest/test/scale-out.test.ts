import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore, SessionService, type KeywardModuleOptions } from '../src/index.js';
import type { AdapterName } from './support/adapters.js';
import { Client } from './support/clients.js';
import { FakeClock } from './support/fake-clock.js';
import { RedisCluster } from './support/redis-cluster.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const SECRET = 'scale-out-secret-0123456789-abcdefghij-KLMN';
const headers = (app: RunningApp) => ({ 'x-csrf': '1', origin: app.url });

describe('scale-out: three app instances (Express and Fastify) on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  const apps: RunningApp[] = [];
  const clock = new FakeClock(Date.now());
  const stores: RedisStore[] = [];

  before(async () => {
    cluster = await RedisCluster.launch(3);
    const adapters: AdapterName[] = ['express', 'fastify', 'express'];
    for (const adapter of adapters) {
      const store = new RedisStore({ cluster: cluster.nodes, prefix: 'kw:scale:' });
      stores.push(store);
      const options: KeywardModuleOptions = { session: { secrets: [SECRET], store, clock, sweepIntervalMs: 0, idleTimeoutMs: 60_000, touchIntervalMs: 1000 } };
      apps.push(await startTestApp(adapter, options));
    }
  });

  after(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await cluster?.destroy();
  });

  async function loginAt(app: RunningApp, user: string): Promise<Client> {
    const c = new Client(app.url);
    const r = await c.post('/login', { user }, { headers: headers(app) });
    assert.equal(r.status, 200);
    return c;
  }

  function at(client: Client, app: RunningApp): Client {
    const moved = new Client(app.url);
    for (const [k, v] of client.jar) moved.jar.set(k, v);
    return moved;
  }

  it('a session created on one instance works on every other', async () => {
    const c = await loginAt(apps[0]!, 'ann');
    for (const app of apps) {
      const r = await at(c, app).get('/me');
      assert.equal(r.status, 200);
      assert.equal(r.body.user.id, 'ann');
    }
  });

  it('concurrent field writes through different instances all land', async () => {
    const c = await loginAt(apps[1]!, 'bea');
    await Promise.all(Array.from({ length: 30 }, (_, i) => at(c, apps[i % 3]!).request('PUT', `/data/f${i}`, { body: { value: i }, headers: headers(apps[i % 3]!) })));
    const data = (await at(c, apps[2]!).get('/data')).body as Record<string, string>;
    for (let i = 0; i < 30; i++) assert.equal(data[`f${i}`], String(i));
  });

  it('revoke on one instance takes effect on the next request at another', async () => {
    const first = await loginAt(apps[0]!, 'cal');
    const second = await loginAt(apps[1]!, 'cal');
    const list = (await at(first, apps[2]!).get('/sessions')).body as Array<{ id: string; current: boolean }>;
    assert.equal(list.length, 2);
    const other = list.find((s) => !s.current)!;
    assert.equal((await at(first, apps[2]!).request('DELETE', `/sessions/${other.id}`, { headers: headers(apps[2]!) })).status, 204);
    assert.equal((await at(second, apps[0]!).get('/me')).status, 401);
    assert.equal((await at(first, apps[1]!).get('/me')).status, 200);
  });

  it('logout-all on one instance ends the sessions seen by the others', async () => {
    const a = await loginAt(apps[0]!, 'dee');
    const b = await loginAt(apps[2]!, 'dee');
    assert.equal((await at(b, apps[1]!).post('/logout-all', undefined, { headers: headers(apps[1]!) })).status, 204);
    assert.equal((await at(a, apps[2]!).get('/me')).status, 401);
    assert.equal((await at(b, apps[0]!).get('/me')).status, 401);
  });

  it('the expiry sweep runs once across instances (store lease)', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, (_, i) => loginAt(apps[i % 3]!, `sweep${i}`)));
    clock.advance(61_000);
    const ended = await Promise.all(apps.map((a) => a.app.get(SessionService).sweep()));
    const total = ended.reduce((x, y) => x + y, 0);
    assert.ok(total >= 12, `swept ${total}`);
    assert.equal(ended.filter((n) => n > 0).length, 1, `more than one instance swept: ${ended.join(',')}`);
    for (const c of clients) assert.equal((await at(c, apps[1]!).get('/me')).status, 401);
  });

  it('session records are spread over the masters and every key carries a hash tag', async () => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => loginAt(apps[i % 3]!, `scan${i}`)));
    let keys = 0;
    for await (const batch of stores[0]!.scanSessionKeys()) keys += batch.length;
    assert.ok(keys >= 5, `found ${keys} session keys across masters`);
    const cluster = stores[0]!.redis as import('ioredis').Cluster;
    const all = (await Promise.all(cluster.nodes('master').map((n) => n.keys('kw:scale:*')))).flat();
    const perMaster = await Promise.all(cluster.nodes('master').map((n) => n.dbsize()));
    assert.ok(perMaster.filter((n) => n > 0).length >= 2, `keys on ${perMaster.join('/')} masters`);
    for (const k of all) {
      if (k === 'kw:scale:exp' || k.startsWith('kw:scale:lease:')) continue;
      assert.match(k, /^kw:scale:(s|u|uc|ue):\{[^{}]+\}$/, k);
    }
  });
});
