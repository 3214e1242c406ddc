import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { type IdpHandle, UPSTREAM_SCOPE, WRONG_CREDENTIALS, startIdp } from '../src/index.js';
import { TestBrowser, authorize, clientConfig, formAction, hiddenFields, signIn } from './support/oidc-flow.js';

const ADMIN = 'idp-admin-token-for-tests-0123456789';
const AUDIENCE = 'urn:keyward:demo-upstream';
const APP = 'http://127.0.0.1:9'; // nothing listens: the browser stops at the callback
const SIGNIN = { clientId: 'signin', clientSecret: 'signin-secret-0123456789abcdef0123', redirectUri: `${APP}/api/auth/oidc/callback` };
const CONNECT = { clientId: 'connect', clientSecret: 'connect-secret-0123456789abcdef012', redirectUri: `${APP}/api/connect/demo-oauth/callback` };
const PKJWT_KEY = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
const PKJWT = { clientId: 'pkjwt', privateKey: PKJWT_KEY.privateKey, redirectUri: `${APP}/pk/callback` };
const ALICE = { username: 'alice', password: 'alice-password-for-tests' };
const BOB = { username: 'bob', password: 'bob-password-for-tests' };

/** A node:http receiver standing in for the app's back-channel logout endpoint. */
interface Receiver {
  url: string;
  tokens: string[];
  server: Server;
  waitFor(count: number): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const tokens: string[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      assert.equal(req.method, 'POST');
      assert.match(req.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
      tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/auth/oidc/backchannel-logout`;
  const waitFor = async (count: number): Promise<void> => {
    while (tokens.length < count) await new Promise<void>((r) => waiters.push(r));
  };
  return { url, tokens, server, waitFor };
}

describe('demo identity provider', () => {
  let idp: IdpHandle;
  let receiver: Receiver;
  const logs: string[] = [];
  const seenSecrets = new Set<string>([ALICE.password, BOB.password, SIGNIN.clientSecret, CONNECT.clientSecret, ADMIN]);
  const admin = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${idp.issuer}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}` } });

  before(async () => {
    receiver = await startReceiver();
    idp = await startIdp({
      users: new Map([[ALICE.username, ALICE.password], [BOB.username, BOB.password]]),
      adminToken: ADMIN,
      upstreamAudience: AUDIENCE,
      upstreamClients: [CONNECT.clientId],
      clients: [
        { ...SIGNIN, redirectUris: [SIGNIN.redirectUri], postLogoutRedirectUris: [`${APP}/`], backchannelLogoutUri: receiver.url },
        { ...CONNECT, redirectUris: [CONNECT.redirectUri] },
        { clientId: PKJWT.clientId, authMethod: 'private_key_jwt', jwks: { keys: [{ ...(await webcrypto.subtle.exportKey('jwk', PKJWT_KEY.publicKey)), alg: 'ES256' }] }, redirectUris: [PKJWT.redirectUri] },
      ],
      log: (line) => logs.push(JSON.stringify(line)),
    });
  });
  after(async () => {
    await idp.close();
    receiver.server.closeAllConnections();
    await new Promise((r) => receiver.server.close(r));
    // No log line carries a password, secret, token or code seen in these tests.
    const leaked = [...seenSecrets].filter((s) => s.length >= 8 && logs.some((l) => l.includes(s)));
    assert.deepEqual(leaked.map((s) => s.slice(0, 6)), [], 'a secret reached the logs');
  });
  const remember = (...values: (string | undefined)[]): void => values.forEach((v) => v !== undefined && seenSecrets.add(v));

  it('publishes its discovery document: S256 only, revocation, end-session, back-channel logout', async () => {
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc['issuer'], idp.issuer);
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(doc['code_challenge_methods_supported'], ['S256']);
    assert.deepEqual(doc['response_types_supported'], ['code']);
    assert.equal(doc['revocation_endpoint'], `${idp.issuer}/token/revocation`);
    assert.equal(doc['end_session_endpoint'], `${idp.issuer}/session/end`);
    assert.equal(doc['backchannel_logout_supported'], true);
    assert.equal(doc['backchannel_logout_session_supported'], true);
    for (const m of ['client_secret_basic', 'private_key_jwt']) assert.ok((doc['token_endpoint_auth_methods_supported'] as string[]).includes(m));
    for (const c of ['sub', 'name', 'email', 'sid']) assert.ok((doc['claims_supported'] as string[]).includes(c), c);
    const jwks = (await (await fetch(doc['jwks_uri'] as string)).json()) as { keys: Record<string, unknown>[] };
    assert.deepEqual(jwks.keys.map((k) => k['alg']).sort(), ['ES256', 'RS256']);
    assert.ok(jwks.keys.every((k) => !('d' in k) && !('p' in k)), 'only public keys are served');
  });

  it('signs in with code + PKCE through its own form; openid-client validates the ID token (sub, name, email, sid)', async () => {
    const config = await clientConfig(idp.issuer, SIGNIN);
    const browser = new TestBrowser();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: SIGNIN.redirectUri, scope: 'openid profile email', state: 's', nonce: 'n',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const page = await browser.walk(url, { stopAt: SIGNIN.redirectUri });
    assert.equal(page.response.status, 200);
    assert.match(page.response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.body, /<form method="post" action="\/interaction\/[^"]+\/login"/);
    assert.match(page.body, /name="username"/);
    assert.match(page.body, /name="password" type="password"/);

    const { tokens } = await signIn(idp.issuer, SIGNIN, { ...ALICE, scope: 'openid profile email' });
    remember(tokens.access_token, tokens.id_token, tokens.refresh_token);
    const claims = tokens.claims()!;
    assert.equal(claims.sub, 'alice');
    assert.equal(claims['name'], 'Alice');
    assert.equal(claims['email'], 'alice@demo.keyward.invalid');
    assert.equal(claims.iss, idp.issuer);
    assert.equal(claims.aud, SIGNIN.clientId);
    assert.equal(typeof claims['sid'], 'string');
    assert.equal(tokens.refresh_token, undefined, 'no offline_access asked, no refresh token');
  });

  it('a wrong password or an unknown user shows the form again with one message, and no redirect', async () => {
    const config = await clientConfig(idp.issuer, SIGNIN);
    for (const attempt of [{ username: 'alice', password: 'wrong' }, { username: 'mallory', password: ALICE.password }]) {
      const browser = new TestBrowser();
      await assert.rejects(authorize(config, browser, { redirectUri: SIGNIN.redirectUri, ...attempt }), /did not redirect back: 200 .*Wrong username or password/s);
    }
    const browser = new TestBrowser();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: SIGNIN.redirectUri, scope: 'openid', state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const form = await browser.walk(url);
    const wrong = await browser.walk(formAction(form.body, form.url), { form: { username: 'alice', password: 'nope' } });
    assert.equal(wrong.response.status, 200);
    assert.ok(wrong.body.includes(WRONG_CREDENTIALS));
    assert.match(wrong.body, /name="password" type="password"/);
    assert.ok(!wrong.body.includes('nope'), 'the password is not echoed');
    const right = await browser.walk(formAction(wrong.body, wrong.url), { form: ALICE, stopAt: SIGNIN.redirectUri });
    assert.ok(right.stoppedAt?.searchParams.get('code'), 'the same form then works');
  });

  it('refuses an authorization request without PKCE or with the plain method', async () => {
    const config = await clientConfig(idp.issuer, SIGNIN);
    const base = { redirect_uri: SIGNIN.redirectUri, scope: 'openid', state: 'st' };
    for (const extra of [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }] as Record<string, string>[]) {
      const step = await new TestBrowser().walk(oidc.buildAuthorizationUrl(config, { ...base, ...extra }), { stopAt: SIGNIN.redirectUri });
      assert.equal(step.stoppedAt?.searchParams.get('error'), 'invalid_request', JSON.stringify(extra));
      assert.equal(step.stoppedAt?.searchParams.get('code'), null);
    }
  });

  it('issues JWT access tokens for the upstream audience, rotates refresh tokens and refuses a used one', async () => {
    const { config, tokens } = await signIn(idp.issuer, CONNECT, {
      ...BOB, scope: `openid offline_access ${UPSTREAM_SCOPE}`, parameters: { prompt: 'consent' },
    });
    remember(tokens.access_token, tokens.refresh_token, tokens.id_token);
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: idp.issuer, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['ES256'] });
    assert.equal(payload.sub, 'bob');
    assert.equal(payload['client_id'], CONNECT.clientId);
    assert.equal(payload['scope'], UPSTREAM_SCOPE);
    assert.equal(protectedHeader.alg, 'ES256');
    assert.ok(payload.exp! - payload.iat! <= 300);
    const first = tokens.refresh_token!;
    assert.ok(first);

    const refreshed = await oidc.refreshTokenGrant(config, first);
    remember(refreshed.access_token, refreshed.refresh_token);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== first, 'a new refresh token');
    assert.equal(decodeJwt(refreshed.access_token).aud, AUDIENCE);
    await assert.rejects(oidc.refreshTokenGrant(config, first), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    // Reusing a rotated token ends the whole grant (oidc-provider's reuse detection).
    await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
  });

  it('revokes a refresh token (RFC 7009): refresh then fails, the grant ends, /admin/revocations lists it without the token', async () => {
    const { config, tokens } = await signIn(idp.issuer, CONNECT, {
      ...ALICE, scope: `openid offline_access ${UPSTREAM_SCOPE}`, parameters: { prompt: 'consent' },
    });
    remember(tokens.access_token, tokens.refresh_token);
    const before = (await (await admin(`/admin/grants/alice?client_id=${CONNECT.clientId}`)).json()) as { active: number };
    assert.equal(before.active, 1);
    await oidc.tokenRevocation(config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    const afterRevoke = (await (await admin(`/admin/grants/alice?client_id=${CONNECT.clientId}`)).json()) as { active: number };
    assert.equal(afterRevoke.active, 0);
    const res = await admin('/admin/revocations');
    assert.equal(res.status, 200);
    const text = await res.text();
    const list = JSON.parse(text) as { tokenType: string; clientId: string; accountId: string }[];
    assert.ok(list.some((r) => r.tokenType === 'RefreshToken' && r.clientId === CONNECT.clientId && r.accountId === 'alice'), text);
    assert.ok(!text.includes(tokens.refresh_token!) && !text.includes(tokens.access_token));
  });

  it('counts live grants per user and signs in a private_key_jwt client', async () => {
    const count = async (user: string): Promise<number> => ((await (await admin(`/admin/grants/${user}`)).json()) as { active: number }).active;
    const carolBefore = await count('carol');
    assert.equal(carolBefore, 0);
    const before = await count('bob');
    const { tokens } = await signIn(idp.issuer, PKJWT, { ...BOB });
    remember(tokens.access_token, tokens.id_token);
    assert.equal(tokens.claims()!.aud, PKJWT.clientId);
    assert.equal(await count('bob'), before + 1);
  });

  it('POST /admin/logout/:username ends her sessions and sends a back-channel logout token (iss, aud, events, sid, sub, no nonce)', async () => {
    const { tokens, browser, config } = await signIn(idp.issuer, SIGNIN, { ...ALICE });
    remember(tokens.access_token, tokens.id_token);
    const sid = tokens.claims()!['sid'];
    const seen = receiver.tokens.length;
    const res = await admin('/admin/logout/alice', { method: 'POST' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { sessions: number; backchannel: number };
    assert.ok(body.sessions >= 1 && body.backchannel >= 1, JSON.stringify(body));
    await receiver.waitFor(seen + 1);
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const verified = await Promise.all(receiver.tokens.slice(seen).map((t) => jwtVerify(t, jwks, { issuer: idp.issuer, audience: SIGNIN.clientId, typ: 'logout+jwt' })));
    const mine = verified.find((v) => v.payload['sid'] === sid);
    assert.ok(mine, 'a logout token names the session of the ID token');
    assert.equal(mine.payload.sub, 'alice');
    assert.deepEqual(mine.payload['events'], { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(mine.payload['nonce'], undefined);
    assert.ok(mine.payload.jti && mine.payload.iat);
    assert.equal((await (await admin(`/admin/grants/alice?client_id=${SIGNIN.clientId}`)).json() as { active: number }).active, 0);
    // Her provider session is gone: the same browser is asked to sign in again.
    await assert.rejects(authorize(config, browser, { redirectUri: SIGNIN.redirectUri, username: 'alice', password: 'wrong' }), /Wrong username or password/);
  });

  it('RP-initiated logout: confirmation form, then back to post_logout_redirect_uri with state, and a back-channel logout', async () => {
    const { tokens, browser, config } = await signIn(idp.issuer, SIGNIN, { ...BOB });
    remember(tokens.id_token, tokens.access_token);
    const seen = receiver.tokens.length;
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${APP}/`, state: 'after-logout' });
    const confirm = await browser.walk(end, { stopAt: `${APP}/` });
    assert.equal(confirm.response.status, 200);
    assert.match(confirm.body, /<form[^>]*id="op\.logoutForm"/);
    const fields = hiddenFields(confirm.body);
    assert.ok(fields['xsrf'], 'the form carries its xsrf field');
    const done = await browser.walk(formAction(confirm.body, confirm.url), { form: { ...fields, logout: 'yes' }, stopAt: `${APP}/` });
    assert.equal(done.stoppedAt?.origin + done.stoppedAt!.pathname, `${APP}/`);
    assert.equal(done.stoppedAt?.searchParams.get('state'), 'after-logout');
    await receiver.waitFor(seen + 1);
    assert.equal(decodeJwt(receiver.tokens.at(-1)!).sid, tokens.claims()!['sid']);
  });

  it('admin routes need the admin token (401 before 404) and never answer another method', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${ADMIN}x` }] as Record<string, string>[]) {
      assert.equal((await fetch(`${idp.issuer}/admin/grants/alice`, { headers })).status, 401);
      assert.equal((await fetch(`${idp.issuer}/admin/nothing`, { headers })).status, 401);
    }
    assert.equal((await admin('/admin/nothing')).status, 404);
    assert.equal((await admin('/admin/logout/alice')).status, 405);
    assert.equal((await admin('/admin/grants/%E0%A4%A')).status, 400);
  });
});
