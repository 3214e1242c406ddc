import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KeywardEvents, MemoryStore, type KeywardModuleOptions, type SecurityEvent } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { FlowBrowser, type Hop } from './support/browser-flow.js';
import type { TestIdp } from './support/oidc-provider.js';
import { findSecrets, secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import type { UpstreamHandle } from './support/upstream.js';
import { idpSuite } from './support/idp-suite.js';

// Issue 25: sign in with OpenID Connect against a real provider (oidc-provider), on both
// adapters: the flow played as a browser, ID tokens that must not validate (wrong aud, iss,
// nonce, expired, an unknown key), open redirects, RP-initiated logout round trip,
// back-channel logout tokens that must be refused, the user endpoint with slide=false, and
// no token in any cookie, body, log line or event.

let idp: TestIdp;
let upstream: UpstreamHandle;

idpSuite((i, u) => ((idp = i), (upstream = u)));

/** Starts a sign-in at the app and plays the user at the provider: the login hop and the callback URL, not yet visited. */
async function untilSignInCallback(b: FlowBrowser, opts: { returnTo?: string; user?: string } = {}): Promise<{ start: Hop; callback: string }> {
  const start = await b.request('GET', `/api/auth/oidc/login${opts.returnTo !== undefined ? `?returnTo=${encodeURIComponent(opts.returnTo)}` : ''}`);
  if (start.status !== 302 || !start.location) throw new Error(`login answered ${start.status}: ${start.text}`);
  const isCallback = (u: URL): boolean => u.pathname === '/api/auth/oidc/callback';
  const page = (await b.follow(start.location, isCallback)).last!;
  const uid = /\/interaction\/([A-Za-z0-9_-]+)$/.exec(page.url)?.[1];
  if (!uid) throw new Error(`no login page: ${page.status} ${page.url}`);
  const submitted = await b.request('POST', `${new URL(page.url).origin}/interaction/${uid}/login`, { form: { login: opts.user ?? 'alice' } });
  if (!submitted.location) throw new Error(`login answered ${submitted.status}: ${submitted.text}`);
  if (isCallback(new URL(submitted.location))) return { start, callback: submitted.location };
  const back = await b.follow(submitted.location, isCallback);
  if (!back.stoppedAt) throw new Error(`the provider did not send the browser back: ${back.last?.status} ${back.last?.text}`);
  return { start, callback: back.stoppedAt };
}

for (const adapter of ADAPTERS) {
  describe(`sign-in with OpenID Connect on ${adapter}`, () => {
    let app: RunningApp;
    const events: SecurityEvent[] = [];
    const clientSecret = secret();
    const clientId = `kw-oidc-${adapter}`;
    const clock = { offset: 0, now: () => Date.now() + clock.offset };
    let postLogout: string;
    const store = new MemoryStore();

    before(async () => {
      app = await startTestApp(adapter, {
        session: { secrets: [secret()], store, sweepIntervalMs: 0, clock, idleTimeoutMs: 30 * 60_000 },
        vault: { keys: [vaultKey('k1')] },
        oidc: {
          issuer: idp.issuer,
          clientId,
          clientAuth: { secret: clientSecret },
          scopes: ['openid', 'profile'],
          allowHttpToLoopback: true,
          postLogoutRedirectUri: 'http://127.0.0.1:1/signed-out',
          revokeRetryDelaysMs: [200],
          silentReauthentication: true,
        },
        proxy: { services: { api: { baseUrl: `${upstream.url}/v1/`, credential: 'oidc', allowHttpToLoopback: true, timeoutMs: 5000 } } },
      } satisfies KeywardModuleOptions);
      app.app.get(KeywardEvents).on((e) => events.push(e));
      postLogout = 'http://127.0.0.1:1/signed-out';
      idp.addClient({ clientId, clientSecret, redirectUris: [`${app.url}/api/auth/oidc/callback`], postLogoutRedirectUris: [postLogout], backchannelLogoutUri: `${app.url}/api/auth/oidc/backchannel-logout` });
    });
    after(() => app.close());

    async function signedIn(returnTo = '/inbox'): Promise<FlowBrowser> {
      const b = new FlowBrowser(app.url);
      const { callback } = await untilSignInCallback(b, { returnTo });
      const back = await b.request('GET', callback);
      assert.equal(back.status, 302, back.text);
      assert.equal(back.location, `${app.url}${returnTo}`);
      return b;
    }

    const created = (): number => events.filter((e) => e.event === 'session.created').length;

    it('signs in end to end: code + PKCE S256 + state + nonce, a new session with safe claims, tokens usable by the proxy', async () => {
      const b = new FlowBrowser(app.url);
      const before = created();
      const { start, callback } = await untilSignInCallback(b, { returnTo: '/inbox?tab=1' });
      const auth = new URL(start.location!);
      assert.equal(auth.origin + auth.pathname, `${idp.issuer}/auth`);
      assert.equal(auth.searchParams.get('response_type'), 'code');
      assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
      for (const p of ['state', 'nonce', 'code_challenge']) assert.ok((auth.searchParams.get(p) ?? '').length >= 32, p);
      assert.equal(auth.searchParams.get('prompt'), null, 'interactive unless asked');
      const handle = start.setCookies.find((c) => c.startsWith('kw-oidc='))!;
      assert.match(handle, /; Path=\/api\/auth\/oidc\/callback; Max-Age=600; HttpOnly; SameSite=Lax$/);
      for (const p of ['state', 'nonce']) assert.ok(!handle.includes(auth.searchParams.get(p)!), `the cookie does not hold the ${p}`);
      assert.equal(start.setCookies.length, 1, 'no session before the callback');

      const back = await b.request('GET', callback);
      assert.equal(back.status, 302, back.text);
      assert.equal(back.location, `${app.url}/inbox?tab=1`);
      assert.ok(back.setCookies.some((c) => /^kw-oidc=; .*Max-Age=0/.test(c)), 'the sign-in cookie is cleared');
      assert.ok(back.setCookies.some((c) => /SameSite=Strict/.test(c) && !c.startsWith('kw-oidc=')), 'a session cookie is set');
      assert.equal(created(), before + 1, 'one session.created');

      const me = await b.request('GET', '/api/auth/user');
      assert.equal(me.status, 200, me.text);
      assert.deepEqual(Object.keys(me.body).sort(), ['expiresIn', 'logoutUrl', 'user']);
      assert.match(me.body.user.id, /^oidc:[A-Za-z0-9_-]{12}:alice$/);
      assert.equal(me.body.user.sub, 'alice');
      assert.equal(me.body.user.name, 'alice');
      assert.equal(typeof me.body.user.sid, 'string');
      assert.equal(me.body.logoutUrl, '/api/auth/oidc/logout');
      assert.ok(me.body.expiresIn > 1700 && me.body.expiresIn <= 1800, String(me.body.expiresIn));

      const call = await b.request('GET', '/api/proxy/api/echo');
      assert.equal(call.status, 200, call.text);
      assert.equal(call.body.keyId, 'oauth', 'the proxy attached the sign-in access token');

      const password = new FlowBrowser(app.url);
      assert.equal((await password.request('POST', '/login', { json: { user: 'bob' } })).status, 200, 'password login works beside it');
      assert.equal((await password.request('GET', '/api/auth/user')).body.user.id, 'bob');
    });

    it('a replayed callback (same cookie, same URL) is refused: no second session', async () => {
      const b = new FlowBrowser(app.url);
      const { callback } = await untilSignInCallback(b);
      const cookie = [...b.jars.get(new URL(app.url).origin)!].map(([k, v]) => `${k}=${v}`).join('; ');
      assert.equal((await b.request('GET', callback)).status, 302);
      const before = created();
      const again = await b.request('GET', callback, { cookie });
      assert.equal(again.status, 400, again.text);
      assert.equal(again.body.code, 'KW_OAUTH_TRANSACTION_MISSING');
      assert.equal(created(), before);
    });

    it('a wrong state, a missing cookie or a forged cookie: 400, no session', async () => {
      const b = new FlowBrowser(app.url);
      const { callback } = await untilSignInCallback(b);
      const before = created();
      const forgedState = new URL(callback);
      forgedState.searchParams.set('state', 'x'.repeat(43));
      const r1 = await b.request('GET', forgedState.href);
      assert.equal(r1.body.code, 'KW_OAUTH_STATE_MISMATCH');
      const r2 = await b.request('GET', callback, { cookie: 'kw-oidc=' + 'A'.repeat(120) });
      assert.equal(r2.body.code, 'KW_OAUTH_TRANSACTION_MISSING');
      const r3 = await new FlowBrowser(app.url).request('GET', callback);
      assert.equal(r3.body.code, 'KW_OAUTH_TRANSACTION_MISSING');
      assert.equal(created(), before);
      assert.ok(![r1, r2, r3].some((r) => r.setCookies.some((c) => /SameSite=Strict/.test(c) && !/Max-Age=0/.test(c))));
    });

    const bad: Array<[string, { edit?: (c: Record<string, unknown>) => Record<string, unknown>; foreignKey?: boolean }]> = [
      ['a wrong aud', { edit: (c) => ({ ...c, aud: 'someone-else' }) }],
      ['a wrong iss', { edit: (c) => ({ ...c, iss: 'http://127.0.0.1:1' }) }],
      ['a wrong nonce', { edit: (c) => ({ ...c, nonce: 'not-the-nonce-of-this-sign-in' }) }],
      ['an expired ID token', { edit: (c) => ({ ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }) }],
      ['an unknown signing key', { foreignKey: true }],
    ];
    for (const [what, tamper] of bad) {
      it(`an ID token with ${what} is refused: 400 KW_OAUTH_EXCHANGE_FAILED, no session`, async () => {
        const b = new FlowBrowser(app.url);
        const { callback } = await untilSignInCallback(b);
        const before = created();
        idp.tamperIdTokens(tamper);
        try {
          const r = await b.request('GET', callback);
          assert.equal(r.status, 400, r.text);
          assert.equal(r.body.code, 'KW_OAUTH_EXCHANGE_FAILED');
          assert.ok(!r.setCookies.some((c) => /SameSite=Strict/.test(c) && !/Max-Age=0/.test(c)), 'no session cookie');
        } finally {
          idp.tamperIdTokens(undefined);
        }
        assert.equal(created(), before);
        assert.equal((await b.request('GET', '/api/auth/user')).status, 401);
      });
    }

    for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/%0d%0aSet-Cookie:x=1', 'http:/evil.example']) {
      it(`returnTo ${JSON.stringify(evil)} is not followed: 302 to /`, async () => {
        const b = new FlowBrowser(app.url);
        const { callback } = await untilSignInCallback(b, { returnTo: evil });
        const back = await b.request('GET', callback);
        assert.equal(back.status, 302);
        const to = new URL(back.location!);
        assert.equal(to.origin, app.url);
        if (evil.startsWith('/%0d')) assert.equal(to.pathname, '/%0d%0aSet-Cookie:x=1');
        else assert.equal(to.pathname, '/');
      });
    }

    it('RP-initiated logout: CSRF-checked, ends the session, revokes its tokens, and the provider round trip ends at post_logout_redirect_uri with the state', async () => {
      const b = await signedIn();
      const refused = await b.request('POST', '/api/auth/oidc/logout', { headers: { 'x-csrf': '', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
      assert.equal(refused.status, 403, refused.text);
      assert.equal((await b.request('GET', '/api/auth/user')).status, 200, 'still signed in');

      const revokedBefore = idp.revocations().length;
      const out = await b.request('POST', '/api/auth/oidc/logout');
      assert.equal(out.status, 200, out.text);
      const to = new URL(out.body.redirectTo);
      assert.equal(to.origin + to.pathname, `${idp.issuer}/session/end`);
      assert.ok(idp.issuedSecrets().includes(to.searchParams.get('id_token_hint')!), 'id_token_hint is the ID token of the sign-in');
      assert.equal(to.searchParams.get('post_logout_redirect_uri'), postLogout);
      const state = to.searchParams.get('state')!;
      assert.ok(state.length >= 20);
      assert.ok(out.setCookies.some((c) => /Max-Age=0/.test(c)), 'the session cookie is cleared');
      assert.equal((await b.request('GET', '/api/auth/user')).status, 401);
      assert.ok(idp.revocations().length >= revokedBefore + 2, 'refresh and access tokens revoked');
      assert.ok(events.some((e) => e.event === 'session.ended' && e.reason === 'logout'));

      // At the provider: its logout page, confirmed, sends the browser to post_logout_redirect_uri with the state.
      const page = await b.request('GET', out.body.redirectTo);
      assert.equal(page.status, 200, page.text);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.text)?.[1];
      const action = /action="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(xsrf && action, 'the provider shows its logout form');
      const confirmed = await b.request('POST', new URL(action!, idp.issuer).href, { form: { xsrf: xsrf!, logout: 'yes' } });
      assert.ok(confirmed.status === 302 || confirmed.status === 303, `${confirmed.status} ${confirmed.text}`);
      const landed = new URL(confirmed.location!);
      assert.equal(landed.origin + landed.pathname, postLogout);
      assert.equal(landed.searchParams.get('state'), state);
    });

    it('logout without a session: 401; from a password session: 200 to the post-logout URI (no ID token to hint)', async () => {
      assert.equal((await new FlowBrowser(app.url).request('POST', '/api/auth/oidc/logout')).status, 401);
      const p = new FlowBrowser(app.url);
      await p.request('POST', '/login', { json: { user: 'carol' } });
      const out = await p.request('POST', '/api/auth/oidc/logout');
      assert.equal(out.status, 200);
      assert.deepEqual(out.body, { redirectTo: postLogout });
    });

    it('the user endpoint with slide=false does not extend the session; without it, it does', async () => {
      const b = await signedIn();
      const first = (await b.request('GET', '/api/auth/user?slide=false')).body.expiresIn as number;
      clock.offset += 10 * 60_000;
      try {
        const polled = await b.request('GET', '/api/auth/user?slide=false');
        assert.equal(polled.status, 200);
        assert.ok(Math.abs(polled.body.expiresIn - (first - 600)) <= 2, `idle deadline unchanged: ${first} -> ${polled.body.expiresIn}`);
        const again = await b.request('GET', '/api/auth/user?slide=false');
        assert.ok(Math.abs(again.body.expiresIn - (first - 600)) <= 2, 'still unchanged');
        const slid = await b.request('GET', '/api/auth/user');
        assert.ok(slid.body.expiresIn > first - 60, `a normal read slides it: ${slid.body.expiresIn}`);
      } finally {
        clock.offset -= 10 * 60_000;
      }
      assert.equal((await new FlowBrowser(app.url).request('GET', '/api/auth/user?slide=false')).status, 401);
    });

    it('back-channel logout refuses bad tokens with 400 invalid_request and no-store; the session lives on', async () => {
      const b = await signedIn();
      const me = (await b.request('GET', '/api/auth/user')).body.user;
      const now = Math.floor(Date.now() / 1000);
      const good = { iss: idp.issuer, aud: clientId, iat: now, jti: secret(), sub: 'alice', sid: me.sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } };
      const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`;
      const cases: Array<[string, string | undefined]> = [
        ['missing', undefined],
        ['garbage', 'not-a-jwt'],
        ['unsigned (alg none)', unsigned],
        ['signed with a key the provider does not publish', await idp.signJwt({ ...good, jti: secret() }, { foreignKey: true })],
        ['wrong aud', await idp.signJwt({ ...good, jti: secret(), aud: 'another-client' })],
        ['wrong iss', await idp.signJwt({ ...good, jti: secret(), iss: 'http://127.0.0.1:1' })],
        ['no events claim', await idp.signJwt({ ...good, jti: secret(), events: undefined })],
        ['a nonce', await idp.signJwt({ ...good, jti: secret(), nonce: 'n' })],
        ['iat too old', await idp.signJwt({ ...good, jti: secret(), iat: now - 3600 })],
        ['iat in the future', await idp.signJwt({ ...good, jti: secret(), iat: now + 3600 })],
        ['no jti', await idp.signJwt({ ...good, jti: undefined })],
        ['neither sub nor sid', await idp.signJwt({ ...good, jti: secret(), sub: undefined, sid: undefined })],
      ];
      for (const [what, token] of cases) {
        const r = await fetch(`${app.url}/api/auth/oidc/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: token === undefined ? '' : new URLSearchParams({ logout_token: token }).toString() });
        const body = (await r.json()) as { error: string; error_description: string };
        assert.equal(r.status, 400, `${what}: ${JSON.stringify(body)}`);
        assert.equal(r.headers.get('cache-control'), 'no-store', what);
        assert.equal(body.error, 'invalid_request', what);
        assert.equal(typeof body.error_description, 'string', what);
        if (token) assert.ok(!body.error_description.includes(token.slice(0, 20)), 'the token is not quoted');
      }
      assert.equal((await b.request('GET', '/api/auth/user')).status, 200, 'the session was not ended by any of them');
    });

    it('a back-channel logout token made by the provider ends the session it names (reason backchannel)', async () => {
      const b = await signedIn();
      const other = await signedIn();
      const me = (await b.request('GET', '/api/auth/user')).body.user;
      const token = await idp.logoutToken(clientId, 'alice', me.sid);
      const r = await fetch(`${app.url}/api/auth/oidc/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }).toString() });
      assert.equal(r.status, 200, await r.text());
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal((await b.request('GET', '/api/auth/user')).status, 401);
      assert.equal((await other.request('GET', '/api/auth/user')).status, 200, 'another provider session (another sid) of the same user lives on');
      assert.ok(events.some((e) => e.event === 'session.ended' && e.reason === 'backchannel'));
    });

    it('the sid index (for logout tokens naming only a sid) holds an entry per live provider session, removed when it ends', async () => {
      const sidEntries = async (): Promise<number> => {
        let n = 0;
        for await (const ids of store.scanUserIds()) {
          for (const id of ids.filter((i) => i.startsWith('kw.oidc-sid:'))) if ((await store.getUserEntries(id)).u) n++;
        }
        return n;
      };
      const before = await sidEntries();
      const b = await signedIn();
      assert.equal(await sidEntries(), before + 1);
      assert.equal((await b.request('POST', '/api/auth/oidc/logout')).status, 200);
      assert.equal(await sidEntries(), before);
    });

    it('silent re-authentication (prompt=none, opted in): a new session while the provider session lives; back to the page with kw_oidc_error otherwise', async () => {
      // A provider whose consent outlives the tokens Keyward revokes at the session's end.
      idp.setRevokeGrants(false);
      const b = await signedIn();
      try {
        assert.equal((await b.request('POST', '/api/auth/oidc/logout')).status, 200, 'the Keyward session ends; the provider session is left alive');
      } finally {
        idp.setRevokeGrants(true);
      }
      assert.equal((await b.request('GET', '/api/auth/user')).status, 401);
      const before = created();
      const start = await b.request('GET', '/api/auth/oidc/login?prompt=none&returnTo=/back');
      assert.equal(new URL(start.location!).searchParams.get('prompt'), 'none');
      const isCallback = (u: URL): boolean => u.pathname === '/api/auth/oidc/callback';
      const silent = await b.follow(start.location!, isCallback);
      assert.ok(silent.stoppedAt, `no page shown at the provider: ${silent.last?.status} ${silent.last?.url}`);
      const back = await b.request('GET', silent.stoppedAt!);
      assert.equal(back.status, 302, back.text);
      assert.equal(back.location, `${app.url}/back`);
      assert.equal(created(), before + 1);
      assert.equal((await b.request('GET', '/api/auth/user')).body.user.sub, 'alice');

      const stranger = new FlowBrowser(app.url);
      const s2 = await stranger.request('GET', '/api/auth/oidc/login?prompt=none&returnTo=/back');
      const r2 = await stranger.follow(s2.location!, isCallback);
      const cb = await stranger.request('GET', r2.stoppedAt!);
      assert.equal(cb.status, 302, cb.text);
      assert.equal(cb.location, `${app.url}/back?kw_oidc_error=login_required`);
      assert.equal((await stranger.request('GET', '/api/auth/user')).status, 401);
      assert.equal(created(), before + 1, 'no session for the stranger');
    });

    it('no token in any cookie, body, log line or event (the logout redirect carries only the ID token hint the spec asks for)', async () => {
      const b = await signedIn();
      await b.request('GET', '/api/auth/user');
      await b.request('GET', '/api/proxy/api/echo');
      const seen = [b.transcript, JSON.stringify([...b.jars].map(([o, j]) => [o, [...j]])), app.logger.text, JSON.stringify(events)].join('\n');
      assert.deepEqual(findSecrets(seen, idp.issuedSecrets()), []);
    });
  });
}
