import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { OAUTH_STORES, openOAuthStore, startOAuthApp, type OAuthApp } from './support/oauth-app.js';
import type { TestIdp } from './support/oidc-provider.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { findSecrets, secret } from './support/secrets.js';
import type { UpstreamHandle } from './support/upstream.js';
import { idpSuite } from './support/idp-suite.js';

// Issue 24, point 2: `bind: 'user'`. The tokens are kept for the user, sealed in the vault's
// user scope: every session of the user lists and uses the connection; the logout of one
// device leaves them; "log out everywhere" and disconnect revoke them at the provider
// (RFC 7009, the provider's own evidence); refresh is one per user across sessions.
// Both adapters, Redis and SQLite.

let idp: TestIdp;
let upstream: UpstreamHandle;
let redis: RedisServer;
const tmp = redisSuite('kw-oauth-user-', (r) => (redis = r));
let seq = 0;

idpSuite((i, u) => ((idp = i), (upstream = u)));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const adapter of ADAPTERS) {
  for (const kind of OAUTH_STORES) {
    describe(`bind: 'user' on ${adapter} + ${kind}`, () => {
      let t: OAuthApp;
      let store: SessionStore;
      const name = (what: string): string => `${what}-${adapter}-${kind}-${++seq}`;

      before(async () => {
        const tag = `${adapter}-${kind}`;
        store = openOAuthStore(kind, tmp, redis, tag);
        t = await startOAuthApp(adapter, { idp, upstream, store, clientId: `user-${tag}`, bind: 'user' });
      });
      after(() => t.app.close());

      it('connected on one device, listed and used from every session of the user; sealed in the user scope, never in a session', async () => {
        const [user, acct] = [name('u'), name('acct')];
        const laptop = await t.connected(user, acct);
        const phone = await t.signedIn(user);
        for (const b of [laptop, phone]) {
          const list = await b.request('GET', '/api/connections');
          assert.equal(list.status, 200);
          assert.deepEqual(list.body.map((c: { service: string }) => c.service), ['demo']);
          const call = await b.request('GET', '/api/proxy/api/echo?reflect=1');
          assert.equal(call.status, 200, call.text);
          assert.equal(call.body.keyId, 'oauth');
          assert.equal(call.body.receivedKey, '[REDACTED]', 'the token is registered with redaction: its echo is scrubbed');
        }
        // Custody: two sealed user entries (the access slot a call opens, the grant with the refresh
        // and ID token), nothing in the sessions' records, no token in plain text anywhere in the store.
        const entries = await store.getUserEntries(user);
        assert.deepEqual(Object.keys(entries).filter((k) => k !== 'kw.dek').sort(), ['p:oauth-at.demo', 'p:oauth.demo']);
        const sessions = await store.listByUser(user);
        assert.equal(sessions.length, 2);
        for (const s of sessions) assert.ok(!Object.keys(s.data).some((k) => k.startsWith('kw.c:#oauth.')), 'no tokens sealed in a session');
        assert.deepEqual(findSecrets(JSON.stringify([entries, sessions]), idp.issuedSecrets()), []);
        // Another user sees nothing of it.
        const other = await t.signedIn(name('other'));
        assert.deepEqual((await other.request('GET', '/api/connections')).body, []);
        assert.equal((await other.request('GET', '/api/proxy/api/echo')).body.code, 'KW_OAUTH_NOT_CONNECTED');
        assert.deepEqual(t.leaks(laptop, phone, other), []);
      });

      it('the logout of one device leaves the tokens to the others (not revoked); a new session of the user finds them', async () => {
        const [user, acct] = [name('u'), name('acct')];
        const laptop = await t.connected(user, acct);
        const phone = await t.signedIn(user);
        const revocations = idp.revocations().length;
        assert.equal((await laptop.request('POST', '/logout')).status, 204);
        assert.equal(idp.revocations().length, revocations, 'nothing revoked at the provider');
        assert.equal(idp.liveRefreshTokens({ accountId: acct }), 1);
        assert.equal((await phone.request('GET', '/api/proxy/api/echo')).status, 200);
        const later = await t.signedIn(user);
        assert.equal((await later.request('GET', '/api/connections')).body.length, 1);
        assert.equal((await later.request('GET', '/api/proxy/api/echo')).status, 200);
      });

      it('"log out everywhere" revokes them at the provider once (credential.revoked, reason logout-all); the next login is not connected', async () => {
        const [user, acct] = [name('u'), name('acct')];
        const laptop = await t.connected(user, acct);
        const phone = await t.signedIn(user);
        assert.equal((await phone.request('GET', '/api/proxy/api/echo')).status, 200);
        const token = [...upstream.bearersSeen().keys()].at(-1)!;
        const from = t.events.length;
        assert.equal((await phone.request('POST', '/logout-all')).status, 204);
        assert.equal(idp.liveRefreshTokens({ accountId: acct }), 0, 'the refresh token no longer works at the provider');
        assert.equal(idp.isActiveAccessToken(token), false);
        const revoked = t.events.slice(from).filter((e) => e.event === 'credential.revoked');
        assert.equal(revoked.length, 1, 'two sessions ended; the tokens were revoked once');
        assert.equal(revoked[0]!.reason, 'logout-all');
        assert.ok(revoked[0]!.userRef && !revoked[0]!.sessionRef);
        assert.equal((await laptop.request('GET', '/me')).status, 401);
        const again = await t.signedIn(user);
        assert.deepEqual((await again.request('GET', '/api/connections')).body, []);
        assert.deepEqual(Object.keys(await store.getUserEntries(user)).filter((k) => k.startsWith('p:')), []);
      });

      it('disconnect from any session revokes them for every session', async () => {
        const [user, acct] = [name('u'), name('acct')];
        const laptop = await t.connected(user, acct);
        const phone = await t.signedIn(user);
        const from = t.events.length;
        assert.equal((await phone.request('DELETE', '/api/connections/demo')).status, 204);
        assert.equal(idp.liveRefreshTokens({ accountId: acct }), 0);
        assert.deepEqual(t.events.slice(from).filter((e) => e.event === 'credential.revoked').map((e) => e.reason), ['disconnect']);
        assert.deepEqual((await laptop.request('GET', '/api/connections')).body, []);
        assert.equal((await laptop.request('GET', '/api/proxy/api/echo')).body.code, 'KW_OAUTH_NOT_CONNECTED');
      });

      it('refresh at expiry is one per user: 20 due calls from two sessions, one token request, the rotated token stored for both', async () => {
        idp.setAccessTokenTtl(3);
        try {
          const [user, acct] = [name('u'), name('acct')];
          const laptop = await t.connected(user, acct);
          const phone = await t.signedIn(user);
          idp.setAccessTokenTtl(3600); // the refreshed token is not due again during the calls
          await sleep(2_100);
          const refreshes = idp.tokenRequests('refresh_token');
          const calls = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? laptop : phone).request('GET', '/api/proxy/api/echo')));
          assert.deepEqual(calls.map((c) => c.status), Array(20).fill(200));
          assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1);
          assert.equal(idp.liveRefreshTokens({ accountId: acct }), 1, 'the rotated refresh token is the one live');
          assert.deepEqual(t.leaks(laptop, phone), []);
        } finally {
          idp.setAccessTokenTtl(3600);
        }
      });
    });
  }
}
