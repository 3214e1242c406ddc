import 'reflect-metadata';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeywardEvents, RedisStore, SqliteStore, type KeywardModuleOptions, type SecurityEvent, type SessionStore } from '../src/index.js';
import { FlowBrowser } from './support/browser-flow.js';
import { startTestIdp, type TestIdp } from './support/oidc-provider.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { findSecrets, secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

// Issue 25: back-channel logout across 3 app instances (Express, Fastify, Express) sharing one
// store, a real Redis and one SQLite file: a logout token delivered to one instance ends the
// sessions it names for every instance (by sid, by sub, by a sid alone), a replayed token is
// refused on another instance (its jti is a store mark every instance sees), also when the
// same token reaches the three instances at once, and a forged one is refused everywhere.

let redis: RedisServer;
const tmp = redisSuite('kw-oidc-bcl-', (r) => (redis = r));

const STORES: Array<{ name: string; store: (i: number) => SessionStore }> = [
  { name: 'one Redis', store: () => new RedisStore({ url: redis.url, prefix: 'kw:oidc-bcl:' }) },
  { name: 'one SQLite file', store: () => new SqliteStore({ file: join(tmp, 'shared.sqlite') }) },
];

for (const kind of STORES) describe(`back-channel logout on 3 instances sharing ${kind.name}`, () => {
  let idp: TestIdp;
  const apps: RunningApp[] = [];
  const events: SecurityEvent[] = [];
  const clientId = `kw-oidc-scale-${kind.name.split(' ').at(-1)!.toLowerCase()}`;

  before(async () => {
    idp = await startTestIdp();
    const clientSecret = secret();
    const sessionSecret = secret();
    const keys = [vaultKey('k1')];
    for (const [i, adapter] of (['express', 'fastify', 'express'] as const).entries()) {
      const options: KeywardModuleOptions = {
        session: { secrets: [sessionSecret], store: kind.store(i), sweepIntervalMs: 0 },
        vault: { keys },
        oidc: { issuer: idp.issuer, clientId, clientAuth: { secret: clientSecret }, scopes: ['openid', 'profile'], allowHttpToLoopback: true, revokeRetryDelaysMs: [200] },
      };
      const app = await startTestApp(adapter, options);
      app.app.get(KeywardEvents).on((e) => events.push(e));
      apps.push(app);
    }
    idp.addClient({ clientId, clientSecret, redirectUris: apps.map((a) => `${a.url}/api/auth/oidc/callback`), backchannelLogoutUri: `${apps[0]!.url}/api/auth/oidc/backchannel-logout` });
  });
  after(async () => {
    for (const a of apps) await a.close();
    await idp.close();
  });

  /** Signs `user` in through instance `i`; returns the session's Cookie header and its user. */
  async function signIn(i: number, user: string): Promise<{ cookie: string; sid: string; sub: string }> {
    const b = new FlowBrowser(apps[i]!.url);
    const start = await b.request('GET', '/api/auth/oidc/login');
    const isCallback = (u: URL): boolean => u.pathname === '/api/auth/oidc/callback';
    const page = (await b.follow(start.location!, isCallback)).last!;
    const uid = /\/interaction\/([A-Za-z0-9_-]+)$/.exec(page.url)![1]!;
    const submitted = await b.request('POST', `${idp.issuer}/interaction/${uid}/login`, { form: { login: user } });
    const back = await b.follow(submitted.location!, isCallback);
    const done = await b.request('GET', back.stoppedAt!);
    assert.equal(done.status, 302, done.text);
    const cookie = [...b.jars.get(new URL(apps[i]!.url).origin)!].map(([k, v]) => `${k}=${v}`).join('; ');
    const me = await b.request('GET', '/api/auth/user?slide=false');
    return { cookie, sid: me.body.user.sid, sub: me.body.user.sub };
  }

  /** The status of `/api/auth/user` for this cookie on every instance. */
  async function statuses(cookie: string): Promise<number[]> {
    return Promise.all(apps.map(async (a) => (await new FlowBrowser(a.url).request('GET', '/api/auth/user?slide=false', { cookie })).status));
  }

  function deliver(i: number, token: string): Promise<Response> {
    return fetch(`${apps[i]!.url}/api/auth/oidc/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }).toString() });
  }

  it('prompt=none is ignored unless silentReauthentication is on', async () => {
    const start = await new FlowBrowser(apps[0]!.url).request('GET', '/api/auth/oidc/login?prompt=none');
    assert.equal(start.status, 302);
    assert.equal(new URL(start.location!).searchParams.get('prompt'), null);
  });

  it('by sid, by sub, by a sid alone: every named session ends on every instance; replays and forgeries are refused', async () => {
    const a0 = await signIn(0, 'alice');
    const a1 = await signIn(1, 'alice');
    const a2 = await signIn(2, 'alice');
    const bob = await signIn(0, 'bob');
    assert.equal(new Set([a0.sid, a1.sid, a2.sid]).size, 3, 'three provider sessions');
    for (const s of [a0, a1, a2, bob]) assert.deepEqual(await statuses(s.cookie), [200, 200, 200]);

    // sub + sid of the first sign-in, delivered to instance 1: that session ends everywhere.
    const revoked = idp.revocations().length;
    const bySid = await idp.logoutToken(clientId, 'alice', a0.sid);
    const r1 = await deliver(1, bySid);
    assert.equal(r1.status, 200, await r1.text());
    assert.equal(r1.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await statuses(a0.cookie), [401, 401, 401]);
    assert.deepEqual(await statuses(a1.cookie), [200, 200, 200], 'other provider sessions of alice live on');
    assert.ok(idp.revocations().length >= revoked + 2, 'its refresh and access tokens were revoked');
    assert.ok(events.some((e) => e.event === 'session.ended' && e.reason === 'backchannel'));

    // The same token again, on the two other instances: refused (its jti was seen).
    for (const i of [2, 0]) {
      const again = await deliver(i, bySid);
      assert.equal(again.status, 400);
      assert.deepEqual(await again.json(), { error: 'invalid_request', error_description: 'logout_token was already used.' });
    }

    // A forged one (a key the provider does not publish): refused, nothing ends.
    const now = Math.floor(Date.now() / 1000);
    const forged = await idp.signJwt({ iss: idp.issuer, aud: clientId, iat: now, jti: secret(), sub: 'alice', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }, { foreignKey: true });
    assert.equal((await deliver(2, forged)).status, 400);
    assert.deepEqual(await statuses(a1.cookie), [200, 200, 200]);

    // sub alone: every session of alice, on every instance; bob's lives on.
    const bySub = await idp.logoutToken(clientId, 'alice', undefined);
    assert.equal((await deliver(2, bySub)).status, 200);
    assert.deepEqual(await statuses(a1.cookie), [401, 401, 401]);
    assert.deepEqual(await statuses(a2.cookie), [401, 401, 401]);
    assert.deepEqual(await statuses(bob.cookie), [200, 200, 200]);

    // sid alone (a provider may send only sid): found through the sid index in the store.
    const bySidOnly = await idp.signJwt({ iss: idp.issuer, aud: clientId, iat: now, jti: secret(), sid: bob.sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    assert.equal((await deliver(1, bySidOnly)).status, 200);
    assert.deepEqual(await statuses(bob.cookie), [401, 401, 401]);

    const logs = apps.map((a) => a.logger.text).join('\n');
    assert.deepEqual(findSecrets(logs + JSON.stringify(events), idp.issuedSecrets()), []);
  });

  it('one logout token delivered to the 3 instances at once: exactly one accepts it, the two others refuse it as used', async () => {
    const carol = await signIn(1, 'carol');
    const token = await idp.logoutToken(clientId, 'carol', carol.sid);
    const answers = await Promise.all(apps.map(async (_a, i) => {
      const r = await deliver(i, token);
      return { status: r.status, body: await r.text() };
    }));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400, 400], JSON.stringify(answers));
    for (const a of answers.filter((x) => x.status === 400)) assert.deepEqual(JSON.parse(a.body), { error: 'invalid_request', error_description: 'logout_token was already used.' });
    assert.deepEqual(await statuses(carol.cookie), [401, 401, 401]);
    // And later, on each instance in turn: still refused.
    for (const i of [0, 1, 2]) assert.equal((await deliver(i, token)).status, 400);
  });
});
