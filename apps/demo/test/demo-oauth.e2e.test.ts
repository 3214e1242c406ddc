/**
 * The demo's connected account `demo-oauth` end to end (DEMO-CONTRACT: /api/connect,
 * /api/connections, /api/proxy/demo-oauth/*): the real demo app, the real demo upstream and
 * the real demo identity provider as child processes, started with the environment
 * scripts/start.mjs passes, driven over HTTP like a browser, on both adapters.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, IDP_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';
import { JWT, OAuthBrowser, formActionOf } from './support/oauth-browser.js';

const CONNECT_CLIENT = 'keyward-demo-oauth';

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo-oauth connected account (${adapter}, real demo + upstream + identity provider processes)`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-oauth-${adapter}-`));
    const adminToken = randomBytes(32).toString('base64url');
    const connectSecret = randomBytes(32).toString('base64url');
    const secrets = { adminToken, connectSecret, signinSecret: randomBytes(32).toString('base64url'), serverKey: `dk_server_${randomBytes(24).toString('base64url')}` };
    let idp: Child;
    let upstream: Child;
    let demo: Child;
    let idpUrl: string;
    let app: string;
    let browser: OAuthBrowser;
    let revokedBefore = 0;
    let grantsBefore = 0;

    const idpAdmin = async (path: string): Promise<any> => {
      const res = await fetch(idpUrl + path, { headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(res.status, 200, `${path}: ${res.status}`);
      return res.json();
    };

    before(async () => {
      const [upstreamPort, idpPort, port] = await Promise.all([freePort(), freePort(), freePort()]);
      idpUrl = `http://127.0.0.1:${idpPort}`;
      app = `http://127.0.0.1:${port}`;
      // What scripts/start.mjs hands every process.
      const env = {
        HOST: '127.0.0.1',
        PORT: String(port),
        UPSTREAM_PORT: String(upstreamPort),
        DEMO_IDP_PORT: String(idpPort),
        DEMO_UPSTREAM_KEY: secrets.serverKey,
        DEMO_UPSTREAM_ADMIN_TOKEN: adminToken,
        DEMO_IDP_SIGNIN_CLIENT_ID: 'keyward-demo',
        DEMO_IDP_SIGNIN_CLIENT_SECRET: secrets.signinSecret,
        DEMO_IDP_CONNECT_CLIENT_ID: CONNECT_CLIENT,
        DEMO_IDP_CONNECT_CLIENT_SECRET: connectSecret,
      };
      [idp, upstream] = await Promise.all([
        Child.start('demo-idp', IDP_MAIN, cleanEnv(env), () => answers200(`${idpUrl}/.well-known/openid-configuration`)),
        Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`http://127.0.0.1:${upstreamPort}/internal/none`)),
      ]);
      demo = await Child.start('demo', DEMO_MAIN, cleanEnv({ ...env, KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter }), () => responds(`${app}/healthz`), 40_000);
      browser = new OAuthBrowser(app);
    });
    after(async () => {
      await demo?.stop();
      await Promise.all([upstream?.stop(), idp?.stop()]);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('the page is told the connection is configured; without a connection the proxied call is 401 KW_OAUTH_NOT_CONNECTED and the session lives on', async () => {
      assert.equal((await browser.api('GET', '/api/demo/info')).json().oauthConnection, true);
      const login = await browser.api('POST', '/api/auth/login', { username: 'alice', password: 'alice-password' });
      assert.equal(login.status, 200, login.body);
      assert.deepEqual((await browser.api('GET', '/api/connections')).json(), []);
      const call = await browser.api('GET', '/api/proxy/demo-oauth/echo');
      assert.equal(call.status, 401, call.body);
      assert.equal(call.json().code, 'KW_OAUTH_NOT_CONNECTED');
      assert.equal((await browser.api('GET', '/api/auth/session')).status, 200, 'not a session end');
    });

    it('Connect: the provider\'s sign-in form, then back to returnTo; GET /api/connections lists it without a token', async () => {
      const start = await browser.request('/api/connect/demo-oauth?returnTo=/');
      assert.equal(start.status, 302, start.body);
      const authorize = new URL(start.headers.get('location')!);
      assert.equal(authorize.origin, idpUrl);
      assert.equal(authorize.searchParams.get('client_id'), CONNECT_CLIENT);
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(authorize.searchParams.get('state'));
      assert.equal(authorize.searchParams.get('redirect_uri'), `${app}/api/connect/demo-oauth/callback`);
      assert.deepEqual(authorize.searchParams.get('scope')!.split(' ').sort(), ['demo.api', 'offline_access']);

      const form = await browser.navigate(authorize);
      assert.equal(form.status, 200);
      assert.match(form.body, /name="password"/);
      const back = await browser.navigate(formActionOf(form.body, form.url), { username: 'alice', password: 'alice-password' });
      assert.equal(back.url, `${app}/`, 'back on the page (returnTo)');
      assert.equal(back.status, 200);

      const list = await browser.api('GET', '/api/connections');
      assert.equal(list.status, 200);
      const [c, ...rest] = list.json();
      assert.deepEqual(rest, []);
      assert.deepEqual(Object.keys(c).sort(), ['connectedAt', 'expiresAt', 'scopes', 'service']);
      assert.equal(c.service, 'demo-oauth');
      assert.ok(c.scopes.includes('demo.api'), JSON.stringify(c.scopes));
      assert.ok(Date.parse(c.expiresAt) > Date.now());
    });

    it('the proxied call carries the access token: the upstream reports auth "bearer" and sub "alice"', async () => {
      const call = await browser.api('GET', '/api/proxy/demo-oauth/echo');
      assert.equal(call.status, 200, call.body);
      const echo = call.json();
      assert.equal(echo.auth, 'bearer');
      assert.equal(echo.sub, 'alice');
      assert.equal(echo.clientId, CONNECT_CLIENT);
      assert.ok(echo.headerNames.includes('authorization'));
      // Outside /v1/ stays unreachable through the connection too.
      assert.notEqual((await browser.api('GET', '/api/proxy/demo-oauth/../internal/marker')).json()?.internal, 'reached');
    });

    it('no token in any body, header or cookie the browser received, nor in the app\'s log', async () => {
      const everything = browser.transcript.join('\n\n');
      assert.equal(JWT.exec(everything)?.[0].slice(0, 16), undefined, 'a JWT reached the browser');
      const appAnswers = browser.transcript.filter((t) => t.includes(` ${app}/`)).join('\n');
      for (const field of ['access_token', 'refresh_token', 'id_token', 'accessToken', 'refreshToken']) assert.ok(!appAnswers.includes(field), field);
      for (const sc of browser.setCookies) assert.doesNotMatch(sc, JWT);
      for (const [name, value] of Object.entries(secrets)) assert.ok(!everything.includes(value), name);
      assert.equal(JWT.exec(demo.output)?.[0].slice(0, 16), undefined, 'a JWT in the app\'s log');
      // The app's cookies: the session, and the connection's short-lived handle (cleared at the callback).
      const appCookies = browser.cookies().map((c) => c.name).filter((n) => !n.startsWith('_'));
      assert.ok(!appCookies.some((n) => n.startsWith('kw-oauth-')), `handle cookie cleared: ${appCookies.join(',')}`);
    });

    it('Disconnect: DELETE /api/connections/demo-oauth answers 204 and asks the provider to revoke; the connection is gone and the next call is 401 KW_OAUTH_NOT_CONNECTED', async () => {
      revokedBefore = (await idpAdmin('/admin/revocations')).length;
      grantsBefore = (await idpAdmin(`/admin/grants/alice?client_id=${CONNECT_CLIENT}`)).active;
      assert.ok(grantsBefore >= 1, `a live grant: ${grantsBefore}`);
      const d = await browser.api('DELETE', '/api/connections/demo-oauth');
      assert.equal(d.status, 204, d.body);
      // The app did call the provider's revocation endpoint for this client and user.
      assert.match(idp.output, /"event":"revocation\.[a-z]+","client":"keyward-demo-oauth"/);
      assert.deepEqual((await browser.api('GET', '/api/connections')).json(), []);
      const call = await browser.api('GET', '/api/proxy/demo-oauth/echo');
      assert.equal(call.status, 401, call.body);
      assert.equal(call.json().code, 'KW_OAUTH_NOT_CONNECTED');
      assert.equal((await browser.api('GET', '/api/auth/session')).status, 200);
    });

    // The demo provider issues a refresh token only for offline_access with prompt=consent
    // (apps/demo-idp/README.md): the demo's connection asks for it (the connection's `prompt`
    // option), so disconnect revokes the refresh token and the grant ends at the provider.
    it('the revocation shows at the provider: its revocation log lists the connection, its grant ends', async () => {
      const revocations = (await idpAdmin('/admin/revocations')).slice(revokedBefore);
      assert.ok(revocations.length >= 1, 'the provider revoked something');
      assert.ok(revocations.every((r: any) => r.clientId === CONNECT_CLIENT && r.accountId === 'alice'), JSON.stringify(revocations));
      assert.equal((await idpAdmin(`/admin/grants/alice?client_id=${CONNECT_CLIENT}`)).active, grantsBefore - 1, 'the grant ended');
    });
  });
}

describe('demo without an identity provider (no DEMO_IDP_CONNECT_CLIENT_ID): it starts, the page is told there is no connection', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-no-idp-'));
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

  it('oauthConnection is false; /api/proxy/demo-oauth/* is not a service', async () => {
    const browser = new OAuthBrowser(app);
    assert.equal((await browser.api('GET', '/api/demo/info')).json().oauthConnection, false);
    assert.equal((await browser.api('POST', '/api/auth/login', { username: 'alice', password: 'alice-password' })).status, 200);
    const call = await browser.api('GET', '/api/proxy/demo-oauth/echo');
    assert.equal(call.status, 404, call.body);
    const start = await browser.request('/api/connect/demo-oauth?returnTo=/');
    assert.ok(start.status === 404, `${start.status} ${start.body}`);
  });
});
