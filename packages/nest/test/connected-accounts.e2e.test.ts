import 'reflect-metadata';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeywardEvents, RedisStore, SqliteStore, type KeywardModuleOptions, type SecurityEvent, type SessionStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { FlowBrowser } from './support/browser-flow.js';
import type { TestIdp } from './support/oidc-provider.js';
import { redisSuite, type RedisServer } from './support/redis-server.js';
import { findSecrets, secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import type { UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';
import { idpSuite } from './support/idp-suite.js';

// Issue 24: connected accounts against a real authorization server (oidc-provider), on both
// adapters and both persistent stores (Redis, SQLite): the full flow played as a browser, every refusal of the callback (a clear 4xx
// with a stable code, nothing stored), the proxied call carrying the access token, refresh
// at expiry with rotation, invalid_grant, the server down, revocation at logout and
// disconnect, and no token in any cookie, body, header, log line or event.

let idp: TestIdp;
let upstream: UpstreamHandle;
let redis: RedisServer;
const tmp = redisSuite('kw-connected-', (r) => (redis = r));
const STORES = ['redis', 'sqlite'] as const;
const openStore = (kind: (typeof STORES)[number], tag: string): SessionStore =>
  kind === 'sqlite' ? new SqliteStore({ file: join(tmp, `${tag}.sqlite`) }) : new RedisStore({ url: redis.url, prefix: `kw:connected:${tag}:` });

idpSuite((i, u) => ((idp = i), (upstream = u)));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const adapter of ADAPTERS) {
  for (const kind of STORES) {
    describe(`connected accounts on ${adapter} + ${kind}`, () => {
      let app: RunningApp;
      const events: SecurityEvent[] = [];
      const clientSecret = secret();
      const clock = { offset: 0, now: () => Date.now() + clock.offset };

      before(async () => {
        const options: KeywardModuleOptions = {
          session: { secrets: [secret()], store: openStore(kind, `${adapter}-${kind}`), sweepIntervalMs: 0, clock },
          vault: { keys: [vaultKey('k1')] },
          oauth: {
            connections: {
              demo: {
                issuer: idp.issuer,
                clientId: `keyward-${adapter}-${kind}`,
                clientAuth: { secret: clientSecret },
                scopes: ['openid', 'profile', 'api:read'],
                allowHttpToLoopback: true,
                refreshSkewMs: 1_000,
                revokeRetryDelaysMs: [200],
              },
            },
          },
          proxy: { services: { api: { baseUrl: `${upstream.url}/v1/`, credential: 'demo', allowHttpToLoopback: true, timeoutMs: 5000 } } },
        };
        app = await startTestApp(adapter, options);
        app.app.get(KeywardEvents).on((e) => events.push(e));
        idp.addClient({ clientId: `keyward-${adapter}-${kind}`, clientSecret, redirectUris: [`${app.url}/api/connect/demo/callback`] });
      });
      after(() => app.close());

      async function signedIn(): Promise<FlowBrowser> {
        const b = new FlowBrowser(app.url);
        const login = await b.request('POST', '/login', { json: { user: 'alice' } });
        assert.equal(login.status, 200, login.text);
        return b;
      }

      async function connected(returnTo = '/done'): Promise<FlowBrowser> {
        const b = await signedIn();
        const cb = await b.untilCallback('demo', { returnTo });
        const back = await b.request('GET', cb);
        assert.equal(back.status, 302, back.text);
        assert.equal(back.location, `${app.url}${returnTo}`);
        return b;
      }

      /** Everything any party could have seen: the browser's transcript and jars, the app's log lines, the events. */
      function leaks(b: FlowBrowser): unknown[] {
        const seen = [b.transcript, JSON.stringify([...b.jars].map(([o, j]) => [o, [...j]])), app.logger.text, JSON.stringify(events)].join('\n');
        return findSecrets(seen, idp.issuedSecrets());
      }

      it('full flow: the start redirects with code + PKCE S256 + state + nonce; the callback seals the tokens; the proxied call carries the access token', async () => {
        const b = await signedIn();
        const start = await b.request('GET', '/api/connect/demo?returnTo=/after?x=1');
        assert.equal(start.status, 302);
        const auth = new URL(start.location!);
        assert.equal(auth.origin, idp.issuer);
        assert.equal(auth.searchParams.get('response_type'), 'code');
        assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
        assert.match(auth.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
        assert.ok(auth.searchParams.get('state') && auth.searchParams.get('nonce'));
        assert.equal(auth.searchParams.get('redirect_uri'), `${app.url}/api/connect/demo/callback`);
        // The browser gets an opaque handle only: HttpOnly, SameSite=Lax, narrow path, short-lived.
        const handle = start.setCookies.find((c) => c.startsWith('kw-oauth-demo='))!;
        assert.match(handle, /HttpOnly/);
        assert.match(handle, /SameSite=Lax/);
        assert.match(handle, /Path=\/api\/connect\/demo\//);
        assert.match(handle, /Max-Age=600/);
        for (const v of [auth.searchParams.get('state')!, auth.searchParams.get('nonce')!]) assert.ok(!handle.includes(v));

        const tokenRequests = idp.tokenRequests('authorization_code');
        const cb = await b.untilCallback('demo', { returnTo: '/after?x=1' });
        const back = await b.request('GET', cb);
        assert.equal(back.status, 302, back.text);
        assert.equal(back.location, `${app.url}/after?x=1`);
        assert.equal(idp.tokenRequests('authorization_code'), tokenRequests + 1);
        assert.ok(back.setCookies.some((c) => c.startsWith('kw-oauth-demo=;') && /Max-Age=0/.test(c)), 'the handle cookie is cleared');

        const list = await b.request('GET', '/api/connections');
        assert.equal(list.status, 200);
        assert.ok(Array.isArray(list.body), 'a JSON array, like GET /api/keys');
        assert.equal(list.body.length, 1);
        const [c] = list.body;
        assert.equal(c.service, 'demo');
        assert.deepEqual([...c.scopes].sort(), ['api:read', 'openid', 'profile']);
        assert.ok(Date.parse(c.expiresAt) > Date.now() && Date.parse(c.connectedAt) <= Date.now());
        assert.deepEqual(Object.keys(c).sort(), ['connectedAt', 'expiresAt', 'scopes', 'service']);

        const before = new Set(upstream.bearersSeen().keys());
        const call = await b.request('GET', '/api/proxy/api/echo?reflect=1');
        assert.equal(call.status, 200, call.text);
        assert.equal(call.body.keyId, 'oauth');
        assert.equal(call.body.receivedKey, '[REDACTED]', 'the upstream echo of the token is scrubbed');
        const used = [...upstream.bearersSeen().keys()].filter((t) => !before.has(t));
        assert.equal(used.length, 1);
        assert.ok(idp.issuedSecrets().includes(used[0]!), 'the upstream got an access token of the authorization server');
        assert.deepEqual(leaks(b), []);
      });

      it('a state that is not the transaction\'s is refused (400 KW_OAUTH_STATE_MISMATCH), nothing stored, the transaction used up', async () => {
        const b = await signedIn();
        const cb = new URL(await b.untilCallback('demo'));
        cb.searchParams.set('state', 'x'.repeat(43));
        const handle = b.jars.get(new URL(app.url).origin)!.get('kw-oauth-demo');
        const r = await b.request('GET', cb.href);
        assert.equal(r.status, 400);
        assert.equal(r.body.code, 'KW_OAUTH_STATE_MISMATCH');
        assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
        // With the real state and the same handle: already used.
        cb.searchParams.delete('state');
        const again = await b.request('GET', cb.href, { cookie: `${b.jars.get(new URL(app.url).origin) ? [...b.jars.get(new URL(app.url).origin)!].map(([k, v]) => `${k}=${v}`).join('; ') : ''}; kw-oauth-demo=${handle}` });
        assert.equal(again.body.code, 'KW_OAUTH_TRANSACTION_MISSING');
        assert.deepEqual(leaks(b), []);
      });

      it('a replayed callback is refused (400 KW_OAUTH_TRANSACTION_MISSING), and the connection it made stays as it was', async () => {
        const b = await signedIn();
        const cb = await b.untilCallback('demo');
        const origin = new URL(app.url).origin;
        const handle = b.jars.get(origin)!.get('kw-oauth-demo')!;
        const first = await b.request('GET', cb);
        assert.equal(first.status, 302);
        const jar = [...b.jars.get(origin)!].map(([k, v]) => `${k}=${v}`).join('; ');
        const replay = await b.request('GET', cb, { cookie: `${jar}; kw-oauth-demo=${handle}` });
        assert.equal(replay.status, 400);
        assert.equal(replay.body.code, 'KW_OAUTH_TRANSACTION_MISSING');
        // Without the handle cookie at all (a callback this browser never started): the same answer.
        const none = await b.request('GET', cb);
        assert.equal(none.body.code, 'KW_OAUTH_TRANSACTION_MISSING');
        // A tampered handle does not open.
        const tampered = await b.request('GET', cb, { cookie: `${jar}; kw-oauth-demo=${handle.slice(0, -4)}AAAA` });
        assert.equal(tampered.body.code, 'KW_OAUTH_TRANSACTION_MISSING');
        assert.equal((await b.request('GET', '/api/connections')).body.length, 1);
        assert.deepEqual(leaks(b), []);
      });

      it('a code redeemed with another transaction\'s PKCE verifier is refused at the token endpoint (400 KW_OAUTH_EXCHANGE_FAILED), nothing stored', async () => {
        const victim = await signedIn();
        const stolen = new URL(await victim.untilCallback('demo'));
        const attacker = await signedIn();
        const own = new URL(await attacker.untilCallback('demo', { user: 'mallory' }));
        // The attacker's own callback (its state, its handle, its verifier), with the victim's code.
        own.searchParams.set('code', stolen.searchParams.get('code')!);
        const r = await attacker.request('GET', own.href);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.body.code, 'KW_OAUTH_EXCHANGE_FAILED');
        assert.deepEqual((await attacker.request('GET', '/api/connections')).body, []);
        assert.deepEqual([...leaks(attacker), ...leaks(victim)], []);
      });

      it('a callback with another session\'s cookie is refused (403 KW_OAUTH_SESSION_MISMATCH)', async () => {
        const a = await signedIn();
        const cb = await a.untilCallback('demo');
        const b = await signedIn();
        const origin = new URL(app.url).origin;
        const sessionOfB = [...b.jars.get(origin)!].map(([k, v]) => `${k}=${v}`).join('; ');
        const r = await a.request('GET', cb, { cookie: `${sessionOfB}; kw-oauth-demo=${a.jars.get(origin)!.get('kw-oauth-demo')}` });
        assert.equal(r.status, 403);
        assert.equal(r.body.code, 'KW_OAUTH_SESSION_MISMATCH');
        assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
        assert.deepEqual((await a.request('GET', '/api/connections')).body, []);
      });

      it('the provider\'s error answer (the user denies) is a clear 400 KW_OAUTH_PROVIDER_ERROR naming access_denied', async () => {
        const b = await signedIn();
        const cb = await b.untilCallback('demo', { deny: true });
        assert.equal(new URL(cb).searchParams.get('error'), 'access_denied');
        const r = await b.request('GET', cb);
        assert.equal(r.status, 400);
        assert.equal(r.body.code, 'KW_OAUTH_PROVIDER_ERROR');
        assert.match(r.body.error, /access_denied/);
        assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
      });

      it('the start needs a session (401), names a configured connection (404), and sends the browser back only to a same-origin path', async () => {
        const anonymous = new FlowBrowser(app.url);
        assert.equal((await anonymous.request('GET', '/api/connect/demo')).status, 401);
        const b = await signedIn();
        const unknown = await b.request('GET', '/api/connect/nope');
        assert.equal(unknown.status, 404);
        assert.equal(unknown.body.code, 'KW_OAUTH_UNKNOWN_CONNECTION');
        for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/ok\r\nSet-Cookie: x=1']) {
          const bb = await signedIn();
          const cb = await bb.untilCallback('demo', { returnTo: evil });
          const back = await bb.request('GET', cb);
          assert.equal(back.status, 302);
          assert.equal(back.location, `${app.url}/`, `returnTo ${JSON.stringify(evil)}`);
        }
      });

      it('refresh at expiry, with refresh-token rotation: each due call refreshes once and uses the rotated refresh token', async () => {
        // 4 s tokens, refreshed 1 s early: due 3 s after issue, so a busy machine's slow connect does not make the first call due already.
        idp.setAccessTokenTtl(4);
        try {
          const b = await connected();
          const refreshes = idp.tokenRequests('refresh_token');
          const first = await b.request('GET', '/api/proxy/api/echo');
          assert.equal(first.status, 200);
          assert.equal(idp.tokenRequests('refresh_token'), refreshes, 'not due yet: no refresh');
          const seen = new Set(upstream.bearersSeen().keys());
          await sleep(3_100);
          // Ten calls at once when due: one refresh (single flight).
          const calls = await Promise.all(Array.from({ length: 10 }, () => b.request('GET', '/api/proxy/api/echo')));
          assert.deepEqual(calls.map((c) => c.status), Array(10).fill(200));
          assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1);
          await sleep(3_100);
          // The second refresh presents the rotated refresh token (the old one would be refused as reuse and the grant revoked).
          const second = await b.request('GET', '/api/proxy/api/echo');
          assert.equal(second.status, 200, second.text);
          assert.equal(idp.tokenRequests('refresh_token'), refreshes + 2);
          const fresh = [...upstream.bearersSeen().keys()].filter((t) => !seen.has(t));
          assert.equal(fresh.length, 2, 'two new access tokens were used');
          assert.deepEqual(leaks(b), []);
        } finally {
          idp.setAccessTokenTtl(3600);
        }
      });

      it('the authorization server down at refresh: 503 KW_OAUTH_UNAVAILABLE and no call without the token', async () => {
        idp.setAccessTokenTtl(2);
        try {
          const b = await connected();
          await sleep(1_100);
          idp.setTokenEndpointDown(true);
          const requests = upstream.stats().requests;
          const r = await b.request('GET', '/api/proxy/api/echo');
          assert.equal(r.status, 503, r.text);
          assert.equal(r.body.code, 'KW_OAUTH_UNAVAILABLE');
          assert.equal(upstream.stats().requests, requests, 'nothing reached the upstream');
          idp.setTokenEndpointDown(false);
          assert.equal((await b.request('GET', '/api/proxy/api/echo')).status, 200, 'the connection survived the outage');
        } finally {
          idp.setTokenEndpointDown(false);
          idp.setAccessTokenTtl(3600);
        }
      });

      it('invalid_grant at refresh removes the connection and answers 401 KW_OAUTH_RECONNECT; then 401 KW_OAUTH_NOT_CONNECTED', async () => {
        idp.setAccessTokenTtl(2);
        try {
          const b = await connected();
          await idp.revokeAllGrants();
          await sleep(1_100);
          const r = await b.request('GET', '/api/proxy/api/echo');
          assert.equal(r.status, 401, r.text);
          assert.equal(r.body.code, 'KW_OAUTH_RECONNECT');
          assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
          const next = await b.request('GET', '/api/proxy/api/echo');
          assert.equal(next.status, 401);
          assert.equal(next.body.code, 'KW_OAUTH_NOT_CONNECTED');
        } finally {
          idp.setAccessTokenTtl(3600);
        }
      });

      it('logout revokes the refresh and access tokens at the server (RFC 7009), reported as credential.revoked', async () => {
        const b = await connected();
        const call = await b.request('GET', '/api/proxy/api/echo');
        assert.equal(call.status, 200);
        const token = [...upstream.bearersSeen().keys()].at(-1)!;
        assert.ok(idp.isActiveAccessToken(token));
        const revocations = idp.revocations().length;
        const revokedEvents = events.filter((e) => e.event === 'credential.revoked').length;
        assert.equal((await b.request('POST', '/logout')).status, 204);
        const log = idp.revocations().slice(revocations);
        assert.deepEqual(log.map((l) => l.hint).sort(), ['access_token', 'refresh_token']);
        assert.ok(log.every((l) => l.status === 200));
        assert.equal(idp.isActiveAccessToken(token), false, 'the access token no longer works upstream');
        assert.equal(events.filter((e) => e.event === 'credential.revoked' && e.credentialName === 'demo').length, revokedEvents + 1);
        assert.deepEqual(leaks(b), []);
      });

      it('disconnect (DELETE /api/connections/demo) answers 204, revokes and removes the connection; the next proxied call is 401 KW_OAUTH_NOT_CONNECTED', async () => {
        const b = await connected();
        const revocations = idp.revocations().length;
        const r = await b.request('DELETE', '/api/connections/demo');
        assert.equal(r.status, 204, r.text);
        assert.equal(idp.revocations().length, revocations + 2);
        assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
        const next = await b.request('GET', '/api/proxy/api/echo');
        assert.equal(next.status, 401);
        assert.equal(next.body.code, 'KW_OAUTH_NOT_CONNECTED');
        // Again: nothing to disconnect, still 204 (idempotent).
        assert.equal((await b.request('DELETE', '/api/connections/demo')).status, 204);
        // The first path stays as an alias.
        const b3 = await connected();
        const alias = await b3.request('DELETE', '/api/connect/demo');
        assert.equal(alias.status, 200);
        assert.deepEqual(alias.body, { disconnected: true });
        assert.deepEqual((await b3.request('GET', '/api/connections')).body, []);
        // A cross-site DELETE is refused by the origin guard like every write.
        const b2 = await connected();
        const foreign = await b2.request('DELETE', '/api/connections/demo', { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
        assert.equal(foreign.status, 403);
        assert.equal((await b2.request('GET', '/api/connections')).body.length, 1);
      });

      it('a transaction older than transactionTtlMs is refused (400 KW_OAUTH_TRANSACTION_EXPIRED), nothing stored', async () => {
        const b = await signedIn();
        const cb = await b.untilCallback('demo');
        clock.offset = 11 * 60_000;
        try {
          const r = await b.request('GET', cb);
          assert.equal(r.status, 400, r.text);
          assert.equal(r.body.code, 'KW_OAUTH_TRANSACTION_EXPIRED');
        } finally {
          clock.offset = 0;
        }
        assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
      });

      it('no token of the authorization server in any log line or event of the whole run', async () => {
        await waitFor(() => true, 10);
        assert.deepEqual(findSecrets(app.logger.text + JSON.stringify(events), idp.issuedSecrets()), []);
        assert.ok(idp.issuedSecrets().length > 10, 'the run issued tokens to search for');
      });
    });
  }
}
