import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADAPTERS } from './support/adapters.js';
import { OAUTH_STORES, openOAuthStore, startOAuthApp, type OAuthApp } from './support/oauth-app.js';
import { startTestIdp, type TestIdp } from './support/oidc-provider.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

// Issue 24, point 3: "refresh ... once on an upstream 401". The test upstream stops trusting an
// access token the provider still holds active (as an API does after a key rotation or a
// revoked session on its side): the proxy refreshes once (single-flight, the expiry refresh's
// lease) and sends the call again, the same buffered body, with the new token; a second 401
// goes to the client (502 KW_UPSTREAM_AUTH_FAILED). A 403 is never retried. Both adapters,
// Redis and SQLite.

let idp: TestIdp;
let upstream: UpstreamHandle;
let redis: RedisServer;
const tmp = redisSuite('kw-oauth-401-', (r) => (redis = r));
/** Access tokens the upstream no longer accepts (still active at the provider). */
const distrusted = new Set<string>();
let seq = 0;

before(async () => {
  idp = await startTestIdp();
  upstream = await startUpstream({ serverKeys: [secret()], adminToken: secret() });
  upstream.acceptBearer((t) => idp.isActiveAccessToken(t) && !distrusted.has(t));
});
after(async () => {
  await upstream.close();
  await idp.close();
});

for (const adapter of ADAPTERS) {
  for (const kind of OAUTH_STORES) {
    describe(`refresh once on an upstream 401: ${adapter} + ${kind}`, () => {
      let t: OAuthApp;
      const account = (): string => `acct-401-${adapter}-${kind}-${++seq}`;

      before(async () => {
        const tag = `${adapter}-${kind}`;
        t = await startOAuthApp(adapter, { idp, upstream, store: openOAuthStore(kind, tmp, redis, tag), clientId: `u401-${tag}` });
      });
      after(() => t.app.close());

      /** A connected browser, and the access token its first call carried. */
      async function connected(): Promise<{ b: Awaited<ReturnType<OAuthApp['connected']>>; token: string }> {
        const b = await t.connected(`user-${++seq}`, account());
        assert.equal((await b.request('GET', '/api/proxy/api/echo')).status, 200);
        return { b, token: [...upstream.bearersSeen().keys()].at(-1)! };
      }

      it('a 401 to the token: one refresh, the call sent again with the new token and the same body; the client sees only the 200', async () => {
        const { b, token } = await connected();
        distrusted.add(token);
        const refreshes = idp.tokenRequests('refresh_token');
        const requests = upstream.stats().requests;
        const body = { order: 42, note: 'replayed byte for byte' };
        const r = await b.request('POST', '/api/proxy/api/echo', { json: body });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.keyId, 'oauth');
        assert.equal(r.body.bodyBytes, Buffer.byteLength(JSON.stringify(body)), 'the retry carried the whole body');
        assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1);
        assert.equal(upstream.stats().requests, requests + 2, 'the refused call and its one retry');
        const fresh = [...upstream.bearersSeen().keys()].at(-1)!;
        assert.notEqual(fresh, token);
        assert.ok(idp.isActiveAccessToken(fresh));
        // The next call uses the stored new token at once: no further refresh.
        assert.equal((await b.request('GET', '/api/proxy/api/echo')).status, 200);
        assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1);
        assert.deepEqual(t.leaks(b), []);
      });

      it('12 concurrent calls refused with the same token: one refresh (single flight), every call answered 200', async () => {
        const { b, token } = await connected();
        distrusted.add(token);
        const refreshes = idp.tokenRequests('refresh_token');
        const calls = await Promise.all(Array.from({ length: 12 }, () => b.request('GET', '/api/proxy/api/echo')));
        assert.deepEqual(calls.map((c) => c.status), Array(12).fill(200), calls.find((c) => c.status !== 200)?.text);
        assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1);
      });

      it('a second 401 goes to the client (502 KW_UPSTREAM_AUTH_FAILED) after exactly one refresh and one retry', async () => {
        const { b } = await connected();
        const refreshes = idp.tokenRequests('refresh_token');
        const requests = upstream.stats().requests;
        const r = await b.request('GET', '/api/proxy/api/status/401');
        assert.equal(r.status, 502, r.text);
        assert.equal(r.body.code, 'KW_UPSTREAM_AUTH_FAILED');
        assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1);
        assert.equal(upstream.stats().requests, requests + 2);
        assert.equal((await b.request('GET', '/api/proxy/api/echo')).status, 200, 'the connection works on');
      });

      it('a 403 is not retried and refreshes nothing', async () => {
        const { b } = await connected();
        const refreshes = idp.tokenRequests('refresh_token');
        const requests = upstream.stats().requests;
        const r = await b.request('GET', '/api/proxy/api/status/403');
        assert.equal(r.body.code, 'KW_UPSTREAM_AUTH_FAILED');
        assert.equal(idp.tokenRequests('refresh_token'), refreshes);
        assert.equal(upstream.stats().requests, requests + 1);
      });

      it('the grant gone at the provider: the 401 refresh answers invalid_grant, 401 KW_OAUTH_RECONNECT, the connection removed', async () => {
        const { b, token } = await connected();
        distrusted.add(token);
        await idp.revokeAllGrants();
        const r = await b.request('GET', '/api/proxy/api/echo');
        assert.equal(r.status, 401, r.text);
        assert.equal(r.body.code, 'KW_OAUTH_RECONNECT');
        assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
        assert.deepEqual(t.leaks(b), []);
      });
    });
  }
}
