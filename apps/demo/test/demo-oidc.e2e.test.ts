/**
 * The demo's "Sign in with the demo identity provider" end to end (DEMO-CONTRACT:
 * /api/auth/oidc/*, /api/auth/user?slide=false; issue 25): the real demo app, demo upstream
 * and demo identity provider as child processes, started with the environment
 * scripts/start.mjs passes, driven over HTTP like a browser, on both adapters. The browser
 * (and the provider's back-channel) reach the app through a relay that keeps the logout
 * tokens the provider sends, so one can be replayed.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, IDP_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';
import { JWT, OAuthBrowser, formActionOf } from './support/oauth-browser.js';
import { RecordingRelay } from './support/recording-relay.js';

const SIGNIN_CLIENT = 'keyward-demo';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A logout token signed with a key the provider never published. */
function forgedLogoutToken(issuer: string): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', typ: 'logout+jwt', kid: 'forged' })}.${b64({
    iss: issuer, aud: SIGNIN_CLIENT, sub: 'alice', iat: now, jti: randomUUID(), events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo OIDC sign-in (${adapter}, real demo + upstream + identity provider processes)`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-oidc-${adapter}-`));
    const adminToken = randomBytes(32).toString('base64url');
    const secrets = { adminToken, signinSecret: randomBytes(32).toString('base64url'), connectSecret: randomBytes(32).toString('base64url') };
    let idp: Child;
    let upstream: Child;
    let demo: Child;
    let relay: RecordingRelay;
    let idpUrl: string;
    let app: string;
    let browser: OAuthBrowser;

    const signIn = async (b: OAuthBrowser) => {
      const start = await b.request('/api/auth/oidc/login?returnTo=/');
      assert.equal(start.status, 302, start.body);
      const authorize = new URL(start.headers.get('location')!);
      const form = await b.navigate(authorize);
      assert.equal(form.status, 200);
      assert.match(form.body, /name="password"/);
      const back = await b.navigate(formActionOf(form.body, form.url), { username: 'alice', password: 'alice-password' });
      return { authorize, back };
    };
    const sessionEndedLines = () => demo.output.split('\n').filter((l) => l.includes('"session.ended"'));

    before(async () => {
      const [upstreamPort, idpPort, port, relayPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
      idpUrl = `http://127.0.0.1:${idpPort}`;
      relay = await RecordingRelay.start(relayPort, () => port);
      app = relay.origin;
      // What scripts/start.mjs hands every process; the provider knows the app by the relay's origin.
      const env = {
        HOST: '127.0.0.1',
        PORT: String(port),
        UPSTREAM_PORT: String(upstreamPort),
        DEMO_IDP_PORT: String(idpPort),
        DEMO_IDP_APP_URL: app,
        DEMO_UPSTREAM_ADMIN_TOKEN: adminToken,
        DEMO_IDP_SIGNIN_CLIENT_ID: SIGNIN_CLIENT,
        DEMO_IDP_SIGNIN_CLIENT_SECRET: secrets.signinSecret,
        DEMO_IDP_CONNECT_CLIENT_ID: 'keyward-demo-oauth',
        DEMO_IDP_CONNECT_CLIENT_SECRET: secrets.connectSecret,
      };
      [idp, upstream] = await Promise.all([
        Child.start('demo-idp', IDP_MAIN, cleanEnv(env), () => answers200(`${idpUrl}/.well-known/openid-configuration`)),
        Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`http://127.0.0.1:${upstreamPort}/internal/none`)),
      ]);
      demo = await Child.start('demo', DEMO_MAIN, cleanEnv({ ...env, KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter, KEYWARD_IDLE_TIMEOUT_MS: '20000' }), () => responds(`${app}/healthz`), 40_000);
      browser = new OAuthBrowser(app);
    });
    after(async () => {
      await demo?.stop();
      await Promise.all([upstream?.stop(), idp?.stop(), relay?.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('the page is told sign-in is configured; the page loads its OIDC module under the strict CSP', async () => {
      assert.equal((await browser.api('GET', '/api/demo/info')).json().oidcSignIn, true);
      const page = await browser.request('/');
      assert.match(page.body, /data-testid="oidc-login"/);
      const mod = await browser.request('/oidc-panel.js');
      assert.equal(mod.status, 200);
      assert.match(mod.headers.get('content-type')!, /^text\/javascript/);
      assert.match(mod.body, /\/api\/auth\/oidc\/login\?returnTo=\//);
    });

    it('sign-in through the provider\'s login form: a session cookie, GET /api/auth/user shows the claims', async () => {
      const { authorize, back } = await signIn(browser);
      assert.equal(authorize.origin, idpUrl);
      assert.equal(authorize.searchParams.get('client_id'), SIGNIN_CLIENT);
      assert.equal(authorize.searchParams.get('response_type'), 'code');
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
      assert.equal(authorize.searchParams.get('redirect_uri'), `${app}/api/auth/oidc/callback`);
      assert.deepEqual(authorize.searchParams.get('scope')!.split(' ').sort(), ['email', 'openid', 'profile']);
      assert.equal(back.url, `${app}/`, 'back on the page (returnTo)');
      assert.equal(back.status, 200);
      // The callback's answer set the session cookie (HttpOnly), besides clearing the sign-in cookie.
      const callback = browser.transcript.find((t) => t.startsWith(`GET ${app}/api/auth/oidc/callback`))!;
      assert.match(callback, /^GET \S+ -> 302/);
      const sessionCookie = callback.split('\n').filter((l) => /^set-cookie: /i.test(l) && !/kw-oidc/.test(l));
      assert.equal(sessionCookie.length, 1, callback.split('\n\n')[0]);
      assert.match(sessionCookie[0]!, /HttpOnly/i);
      assert.match(sessionCookie[0]!, /SameSite=Strict/i);

      const user = await browser.api('GET', '/api/auth/user');
      assert.equal(user.status, 200, user.body);
      const body = user.json();
      assert.equal(body.user.sub, 'alice');
      assert.match(body.user.id, /^oidc:[^:]+:alice$/);
      assert.equal(typeof body.user.name, 'string');
      assert.match(body.user.email, /@/);
      assert.equal(body.logoutUrl, '/api/auth/oidc/logout');
      assert.ok(body.expiresIn > 0);
      assert.equal((await browser.api('GET', '/api/auth/session')).status, 200);
      assert.match(demo.output, /"session\.created"/);
    });

    it('no token anywhere the browser received (bodies, headers, cookies), nor in the app\'s log', () => {
      const everything = browser.transcript.join('\n\n');
      assert.equal(JWT.exec(everything)?.[0].slice(0, 16), undefined, 'a JWT reached the browser');
      const appAnswers = browser.transcript.filter((t) => t.includes(` ${app}/`)).join('\n');
      for (const field of ['access_token', 'refresh_token', 'id_token', 'accessToken', 'refreshToken', 'idToken']) assert.ok(!appAnswers.includes(field), field);
      for (const sc of browser.setCookies) assert.doesNotMatch(sc, JWT);
      for (const [name, value] of Object.entries(secrets)) assert.ok(!everything.includes(value), name);
      assert.equal(JWT.exec(demo.output)?.[0].slice(0, 16), undefined, 'a JWT in the app\'s log');
      assert.ok(!browser.cookies().some((c) => c.name.includes('kw-oidc')), 'the sign-in cookie is cleared at the callback');
    });

    it('GET /api/auth/user?slide=false twice does not move the idle deadline; GET /api/auth/user does', async () => {
      const expiresAt = async () => (await browser.api('GET', '/api/auth/session?slide=false')).json().expiresAt as string;
      const first = await expiresAt();
      // Past the touch interval (a tenth of KEYWARD_IDLE_TIMEOUT_MS): any sliding read would now move the deadline.
      await new Promise((r) => setTimeout(r, 2200));
      for (let i = 0; i < 2; i++) assert.equal((await browser.api('GET', '/api/auth/user?slide=false')).status, 200);
      assert.equal(await expiresAt(), first, 'slide=false left the deadline where it was');
      assert.equal((await browser.api('GET', '/api/auth/user')).status, 200);
      assert.ok(Date.parse(await expiresAt()) > Date.parse(first), 'a sliding read moves it (the comparison can fail)');
    });

    it('RP-initiated logout: redirectTo is the provider\'s end-session URL with id_token_hint, post_logout_redirect_uri and state; both sessions end', async () => {
      const discovery = await (await fetch(`${idpUrl}/.well-known/openid-configuration`)).json() as { end_session_endpoint: string };
      const res = await browser.api('POST', '/api/auth/oidc/logout');
      assert.equal(res.status, 200, res.body);
      const to = new URL(res.json().redirectTo);
      assert.equal(`${to.origin}${to.pathname}`, discovery.end_session_endpoint);
      assert.match(to.searchParams.get('id_token_hint')!, JWT);
      assert.equal(to.searchParams.get('post_logout_redirect_uri'), `${app}/`);
      assert.ok(to.searchParams.get('state'));
      assert.equal((await browser.api('GET', '/api/auth/session')).status, 401, 'the demo session is gone');
      assert.equal((await browser.api('GET', '/api/auth/user')).status, 401);
      assert.ok(sessionEndedLines().some((l) => l.includes('"reason":"logout"')), sessionEndedLines().join('\n'));

      // At the provider: its confirmation form, then back to the app's page with the state.
      const confirm = await browser.navigate(to);
      assert.equal(confirm.status, 200);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
      assert.ok(xsrf, 'the provider\'s logout form');
      const done = await browser.navigate(formActionOf(confirm.body, confirm.url), { xsrf, logout: 'yes' });
      assert.equal(`${new URL(done.url).origin}${new URL(done.url).pathname}`, `${app}/`);
      assert.equal(new URL(done.url).searchParams.get('state'), to.searchParams.get('state'));
      // The provider's session ended too: a new sign-in shows its login form again.
      const again = await browser.navigate(new URL((await browser.request('/api/auth/oidc/login?returnTo=/')).headers.get('location')!));
      assert.match(again.body, /name="password"/);
    });

    it('back-channel: POST /admin/logout/alice at the provider ends the demo session (401, session.ended reason backchannel)', async () => {
      const b = new OAuthBrowser(app);
      await signIn(b);
      assert.equal((await b.api('GET', '/api/auth/session')).status, 200);
      const before = relay.backchannelBodies.length;
      const admin = await fetch(`${idpUrl}/admin/logout/alice`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(admin.status, 200, await admin.text());
      for (let i = 0; i < 50 && (await b.api('GET', '/api/auth/session')).status !== 401; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await b.api('GET', '/api/auth/session')).status, 401);
      assert.ok(relay.backchannelBodies.length > before, 'the provider called the back-channel route');
      assert.ok(sessionEndedLines().some((l) => l.includes('"reason":"backchannel"')), sessionEndedLines().join('\n'));
    });

    it('a replayed or a forged logout_token answers 400 invalid_request', async () => {
      const post = (body: string) => fetch(`${app}/api/auth/oidc/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      const replayed = relay.backchannelBodies.at(-1)!;
      assert.match(replayed, /^logout_token=/);
      const forged = `logout_token=${forgedLogoutToken(idpUrl)}`;
      for (const [what, body] of [['replayed', replayed], ['forged', forged]] as const) {
        const res = await post(body);
        const text = await res.text();
        assert.equal(res.status, 400, `${what}: ${text}`);
        assert.equal(JSON.parse(text).error, 'invalid_request', what);
      }
    });
  });
}

describe('demo without a sign-in client (no DEMO_IDP_SIGNIN_CLIENT_ID): it starts with the password login only', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-no-oidc-'));
  let demo: Child;
  let app: string;
  before(async () => {
    const port = await freePort();
    app = `http://127.0.0.1:${port}`;
    demo = await Child.start('demo', DEMO_MAIN, cleanEnv({ HOST: '127.0.0.1', PORT: String(port), UPSTREAM_PORT: String(await freePort()), KEYWARD_DATA_DIR: dataDir }), () => responds(`${app}/healthz`), 40_000);
  });
  after(async () => {
    await demo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('oidcSignIn is false, the oidc routes answer 404 KW_OIDC_NOT_CONFIGURED, the password login works and /api/auth/user has no logoutUrl', async () => {
    const browser = new OAuthBrowser(app);
    assert.equal((await browser.api('GET', '/api/demo/info')).json().oidcSignIn, false);
    const start = await browser.request('/api/auth/oidc/login?returnTo=/');
    assert.equal(start.status, 404, start.body);
    assert.equal(start.json().code, 'KW_OIDC_NOT_CONFIGURED');
    assert.equal((await browser.api('POST', '/api/auth/login', { username: 'alice', password: 'alice-password' })).status, 200);
    const user = (await browser.api('GET', '/api/auth/user?slide=false')).json();
    assert.equal(user.logoutUrl, null);
    assert.equal(user.user.name, 'alice');
  });
});
