import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SecurityEvent } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import type { FlowBrowser } from './support/browser-flow.js';
import { FakeClock } from './support/fake-clock.js';
import { OAUTH_STORES, appCookies, openOAuthStore, startOAuthApp, type OAuthApp } from './support/oauth-app.js';
import type { TestIdp } from './support/oidc-provider.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import type { UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';
import { idpSuite } from './support/idp-suite.js';

// Issue 24, point 4: a session-bound connection's tokens are revoked at the provider (RFC 7009)
// at every kind of session end: logout, logout-all, the per-user cap, ID reuse, idle expiry (the
// sweeper), absolute expiry (the next request), disconnect; reported as credential.* events with
// the reason; retried when the provider is briefly down. The evidence is the provider's own: the
// refresh tokens it would still redeem for the account (0 after), its access token inactive.
// Both adapters, Redis and SQLite.

const MIN = 60_000;
const ROTATE = 15 * MIN;
const GRACE = 60_000;

let idp: TestIdp;
let upstream: UpstreamHandle;
let redis: RedisServer;
const tmp = redisSuite('kw-oauth-end-', (r) => (redis = r));
let seq = 0;

idpSuite((i, u) => ((idp = i), (upstream = u)));

for (const adapter of ADAPTERS) {
  for (const kind of OAUTH_STORES) {
    describe(`OAuth tokens revoked at every session end: ${adapter} + ${kind}`, () => {
      const clock = new FakeClock(Date.now());
      let t: OAuthApp;
      const account = (what: string): string => `acct-${what}-${adapter}-${kind}-${++seq}`;
      const user = (what: string): string => `user-${what}-${++seq}`;

      before(async () => {
        clock.t = Date.now(); // the session clock starts level with the store's
        const tag = `${adapter}-${kind}`;
        t = await startOAuthApp(adapter, {
          idp,
          upstream,
          store: openOAuthStore(kind, tmp, redis, tag),
          clientId: `end-${tag}`,
          clock,
          session: { maxPerUser: 2, idleTimeoutMs: 30 * MIN, absoluteTimeoutMs: 60 * MIN, rotateEveryMs: ROTATE, rotateGraceMs: GRACE },
        });
      });
      after(() => t.app.close());

      /** A connected browser whose proxied call works, and the access token it carried. */
      async function connectedAndUsed(u: string, acct: string): Promise<{ b: FlowBrowser; token: string }> {
        const b = await t.connected(u, acct);
        const call = await b.request('GET', '/api/proxy/api/echo');
        assert.equal(call.status, 200, call.text);
        assert.equal(idp.liveRefreshTokens({ accountId: acct }), 1, 'the provider holds one live refresh token for the account');
        return { b, token: [...upstream.bearersSeen().keys()].at(-1)! };
      }

      /** The provider's evidence and the event: nothing of the account's grant works any more. */
      function assertRevoked(acct: string, token: string, reason: string, from: number): void {
        assert.equal(idp.liveRefreshTokens({ accountId: acct }), 0, 'the refresh token no longer works at the provider');
        assert.equal(idp.isActiveAccessToken(token), false, 'the access token no longer works upstream');
        const revoked = t.events.slice(from).filter((e: SecurityEvent) => e.event === 'credential.revoked' && e.credentialName === 'demo');
        assert.deepEqual(revoked.map((e) => e.reason), [reason]);
        assert.ok(revoked[0]!.sessionRef && revoked[0]!.keyRef);
      }

      it('logout', async () => {
        const acct = account('logout');
        const { b, token } = await connectedAndUsed(user('logout'), acct);
        const from = t.events.length;
        assert.equal((await b.request('POST', '/logout')).status, 204);
        assertRevoked(acct, token, 'logout', from);
        assert.deepEqual(t.leaks(b), []);
      });

      it('logout-all: every session of the user, each with its own connection', async () => {
        const u = user('all');
        const [a1, a2] = [account('all-1'), account('all-2')];
        const first = await connectedAndUsed(u, a1);
        const second = await connectedAndUsed(u, a2);
        const from = t.events.length;
        assert.equal((await second.b.request('POST', '/logout-all')).status, 204);
        assert.equal(idp.liveRefreshTokens({ accountId: a1 }) + idp.liveRefreshTokens({ accountId: a2 }), 0);
        assert.equal(idp.isActiveAccessToken(first.token) || idp.isActiveAccessToken(second.token), false);
        const reasons = t.events.slice(from).filter((e) => e.event === 'credential.revoked').map((e) => e.reason);
        assert.deepEqual(reasons, ['logout-all', 'logout-all']);
        assert.equal((await first.b.request('GET', '/me')).status, 401);
      });

      it('per-user cap: a login past maxPerUser ends the oldest session, and its tokens', async () => {
        const u = user('cap');
        const acct = account('cap');
        const { b: oldest, token } = await connectedAndUsed(u, acct);
        clock.advance(1_000);
        await t.signedIn(u);
        clock.advance(1_000);
        const from = t.events.length;
        await t.signedIn(u); // the third: the oldest goes
        assertRevoked(acct, token, 'cap', from);
        assert.equal((await oldest.request('GET', '/me')).status, 401);
      });

      it('disconnect', async () => {
        const acct = account('disconnect');
        const { b, token } = await connectedAndUsed(user('disconnect'), acct);
        const from = t.events.length;
        assert.equal((await b.request('DELETE', '/api/connections/demo')).status, 204);
        assertRevoked(acct, token, 'disconnect', from);
        assert.equal((await b.request('GET', '/me')).status, 200, 'the session goes on');
      });

      it('the provider briefly down at logout: credential.revoke-failed, then revoked by a retry (credential.revoked)', async () => {
        const acct = account('outage');
        const { b, token } = await connectedAndUsed(user('outage'), acct);
        const from = t.events.length;
        idp.setRevocationEndpointDown(true);
        try {
          assert.equal((await b.request('POST', '/logout')).status, 204, 'the logout itself never waits for the provider');
          assert.ok(t.events.slice(from).some((e) => e.event === 'credential.revoke-failed' && e.reason === 'logout'));
          assert.equal(idp.liveRefreshTokens({ accountId: acct }), 1, 'not revoked yet');
        } finally {
          idp.setRevocationEndpointDown(false);
        }
        await waitFor(() => idp.liveRefreshTokens({ accountId: acct }) === 0, 10_000, () => 'the retried revocation');
        await waitFor(() => t.events.slice(from).some((e) => e.event === 'credential.revoked'), 5_000, () => 'the credential.revoked event');
        assertRevoked(acct, token, 'logout', from);
        assert.deepEqual(t.leaks(b), []);
      });

      // The tests below move the session clock far ahead; the provider's tokens live in real time, so they connect first.
      it('reuse detection: a rotated-out cookie replayed after the grace ends the session, and its tokens', async () => {
        const acct = account('reuse');
        const { b, token } = await connectedAndUsed(user('reuse'), acct);
        const stolen = appCookies(b);
        clock.advance(ROTATE);
        assert.equal((await b.request('GET', '/me')).status, 200);
        assert.notEqual(appCookies(b), stolen, 'the ID rotated');
        clock.advance(GRACE + 1_000);
        assert.equal((await b.request('GET', '/me')).status, 200, 'the real user goes on with the new ID');
        const from = t.events.length;
        const replay = await b.request('GET', '/me', { cookie: stolen });
        assert.equal(replay.status, 401);
        assert.ok(t.events.slice(from).some((e) => e.event === 'session.ended' && e.reason === 'reuse'));
        assertRevoked(acct, token, 'reuse', from);
        assert.equal((await b.request('GET', '/api/proxy/api/echo')).status, 401, 'the real user is signed out too');
      });

      it('idle expiry, ended by the sweeper', async () => {
        const acct = account('idle');
        const { token } = await connectedAndUsed(user('idle'), acct);
        clock.advance(31 * MIN);
        const from = t.events.length;
        assert.ok((await t.app.sessions.sweep()) >= 1);
        assert.ok(t.events.slice(from).some((e) => e.event === 'session.ended' && e.reason === 'idle'));
        assertRevoked(acct, token, 'expired', from);
      });

      it('absolute expiry, ended by the next request', async () => {
        const acct = account('absolute');
        const { b, token } = await connectedAndUsed(user('absolute'), acct);
        // Active all along (idle never passes), until the absolute deadline does.
        for (let i = 0; i < 2; i++) {
          clock.advance(20 * MIN);
          assert.equal((await b.request('GET', '/me')).status, 200);
        }
        clock.advance(21 * MIN);
        const from = t.events.length;
        assert.equal((await b.request('GET', '/me')).status, 401);
        assert.ok(t.events.slice(from).some((e) => e.event === 'session.ended' && e.reason === 'absolute'));
        assertRevoked(acct, token, 'expired', from);
      });

      it('no token of the provider in any log line or event of the run', () => {
        assert.deepEqual(t.leaks(), []);
      });
    });
  }
}
