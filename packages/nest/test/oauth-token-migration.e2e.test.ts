import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Vault, type SessionStore, type StoredSession } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { OAUTH_STORES, openOAuthStore, startOAuthApp, type OAuthApp } from './support/oauth-app.js';
import type { TestIdp } from './support/oidc-provider.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import type { UpstreamHandle } from './support/upstream.js';
import { idpSuite } from './support/idp-suite.js';

// Issue 24 (bench row 3o): a connection's tokens are sealed in two vault entries, the access
// slot `oauth-at.<name>` (access token, expiry, generation: all a proxied call opens) and the
// grant `oauth.<name>` (refresh and ID token, scope, connect time). Before that split the whole
// set was sealed in `oauth.<name>`. A connection stored in that shape keeps working as it is
// (calls, the list, refresh, revocation) and is written in the new shape at its next refresh,
// with the rotated refresh token. Both adapters, Redis and SQLite, session- and user-bound.

let idp: TestIdp;
let upstream: UpstreamHandle;
let redis: RedisServer;
const tmp = redisSuite('kw-oauth-migrate-', (r) => (redis = r));
let seq = 0;

idpSuite((i, u) => ((idp = i), (upstream = u)));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type Sealed = Record<string, unknown>;

/** Where one connection's two entries live: a session's record, or the user's entries. */
function slots(vault: Vault, store: SessionStore, bind: 'session' | 'user', user: string) {
  const record = async (): Promise<StoredSession> => {
    const [s] = await store.listByUser(user);
    assert.ok(s, 'the session exists');
    return s;
  };
  return {
    /** The sealed text of an entry as stored (to tell whether a call wrote it). */
    async raw(name: string): Promise<string | undefined> {
      if (bind === 'user') return (await store.getUserEntries(user))[`p:${name}`]?.value;
      return (await record()).data[`kw.c:#${name}`];
    },
    async open(name: string): Promise<Sealed | undefined> {
      const text = bind === 'user' ? await vault.openUserProviderState(user, name) : await vault.openProviderState(await record(), name);
      return text === undefined ? undefined : (JSON.parse(text) as Sealed);
    },
    async put(name: string, value: Sealed): Promise<void> {
      if (bind === 'user') await vault.putUserProviderState(user, name, JSON.stringify(value));
      else await vault.putProviderState(await record(), name, JSON.stringify(value));
    },
    async remove(name: string): Promise<void> {
      if (bind === 'user') await vault.removeUserProviderState(user, name);
      else await vault.removeProviderState(await record(), name);
    },
  };
}

for (const adapter of ADAPTERS) {
  for (const kind of OAUTH_STORES) {
    for (const bind of ['session', 'user'] as const) {
      describe(`a connection sealed before the split, ${bind}-bound, on ${adapter} + ${kind}`, () => {
        let t: OAuthApp;
        let store: SessionStore;

        before(async () => {
          const tag = `${adapter}-${kind}-${bind}`;
          store = openOAuthStore(kind, tmp, redis, tag);
          t = await startOAuthApp(adapter, { idp, upstream, store, clientId: `migrate-${tag}`, bind });
        });
        after(() => t.app.close());

        it('is used as it is (one entry opened, nothing written), listed, refreshed into the two entries with the rotated refresh token, and revoked', async () => {
          const [user, acct] = [`u-${++seq}`, `acct-${seq}`];
          idp.setAccessTokenTtl(3);
          let b;
          try {
            b = await t.connected(user, acct);
          } finally {
            idp.setAccessTokenTtl(3600); // the refreshed token is not due again during the test
          }
          const s = slots(t.app.app.get(Vault), store, bind, user);

          // Written now: the two entries, the grant without the access token.
          const access = await s.open('oauth-at.demo');
          const grant = await s.open('oauth.demo');
          assert.ok(access && grant, 'both entries are sealed');
          assert.deepEqual(Object.keys(access).sort(), ['a', 'e', 'g']);
          assert.equal(grant.a, undefined, 'the grant does not hold the access token');
          assert.equal(typeof grant.r, 'string');
          assert.equal(typeof grant.i, 'string', 'the ID token (scope openid) is in the grant');

          // The shape an earlier version wrote: the whole set in `oauth.<name>`, no access slot.
          const legacy = { a: access.a, c: grant.c, g: grant.g, r: grant.r, e: access.e, s: grant.s, i: grant.i };
          await s.put('oauth.demo', legacy);
          await s.remove('oauth-at.demo');
          const sealedBefore = await s.raw('oauth.demo');

          // Calls work from it, with its access token; a call that is not due writes nothing.
          for (let i = 0; i < 3; i++) {
            const call = await b.request('GET', '/api/proxy/api/echo?reflect=1');
            assert.equal(call.status, 200, call.text);
            assert.equal(call.body.keyId, 'oauth');
            assert.equal(call.body.receivedKey, '[REDACTED]', 'its token is registered with redaction');
          }
          assert.equal([...upstream.bearersSeen().keys()].at(-1), legacy.a, 'the call carried the stored access token');
          assert.equal(await s.raw('oauth.demo'), sealedBefore, 'the sealed entry was not rewritten by a call');
          assert.equal(await s.raw('oauth-at.demo'), undefined);
          const list = await b.request('GET', '/api/connections');
          assert.deepEqual(list.body.map((c: { service: string; scopes: string[] }) => [c.service, c.scopes]), [['demo', String(legacy.s).split(' ')]]);

          // Due (3 s token, refreshed 1 s early): one refresh, written in the new shape.
          await sleep(2_200);
          const refreshes = idp.tokenRequests('refresh_token');
          const due = await b.request('GET', '/api/proxy/api/echo');
          assert.equal(due.status, 200, due.text);
          assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1, 'one token request');
          const after1 = await s.open('oauth-at.demo');
          const grant1 = await s.open('oauth.demo');
          assert.ok(after1 && grant1);
          assert.notEqual(after1.a, legacy.a, 'a new access token in the access slot');
          assert.equal([...upstream.bearersSeen().keys()].at(-1), after1.a, 'the call carried it');
          assert.equal(after1.g, Number(legacy.g) + 1);
          assert.notEqual(grant1.r, legacy.r, 'the rotated refresh token is stored');
          assert.equal(grant1.c, legacy.c, 'connected at is kept');
          assert.equal(typeof grant1.i, 'string', 'the ID token (the one the refresh returned) is in the grant');
          if (bind === 'session') {
            assert.equal(grant1.a, undefined, 'one atomic write of both entries: the grant no longer holds the access token');
          } else {
            // Two writes for a user (grant first): this one keeps the token in the grant too, so a call
            // between them still finds one; the next refresh leaves it out.
            assert.equal(grant1.a, after1.a);
          }
          assert.equal(idp.liveRefreshTokens({ accountId: acct }), 1, 'the rotated refresh token is the one live');

          // Disconnect revokes the migrated grant's (rotated) refresh token at the provider.
          assert.equal((await b.request('DELETE', '/api/connections/demo')).status, 204);
          assert.equal(idp.liveRefreshTokens({ accountId: acct }), 0);
          assert.equal(idp.isActiveAccessToken(String(after1.a)), false);
          assert.equal(await s.raw('oauth.demo'), undefined);
          assert.equal(await s.raw('oauth-at.demo'), undefined);
          assert.deepEqual(t.leaks(b), []);
        });
      });
    }
  }
}
