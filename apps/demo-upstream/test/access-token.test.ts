import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type IdpHandle, UPSTREAM_SCOPE, generateSigningKeys, startIdp } from '@keyward/demo-idp';
import { signIn } from '@keyward/demo-idp/testing';
import { SignJWT, base64url, importJWK } from 'jose';
import { DEFAULT_UPSTREAM_AUDIENCE, type UpstreamHandle, startUpstream } from '../src/index.js';

const SERVER_KEY = 'sk_test_bearer_0123456789abcdef';
const ADMIN = 'admin-token-for-bearer-tests-0123';
const APP = 'http://127.0.0.1:9';
const CONNECT = { clientId: 'demo-oauth', clientSecret: 'demo-oauth-secret-0123456789abcdef', redirectUri: `${APP}/api/connect/demo-oauth/callback` };

describe('the demo upstream accepts the demo identity provider\'s JWT access tokens', () => {
  const signingKeys = generateSigningKeys();
  let idp: IdpHandle;
  let upstream: UpstreamHandle;
  let otherAudience: UpstreamHandle;
  let realToken: string;

  /** A token signed with the provider's own ES256 key: valid unless a test changes a claim. */
  async function minted(claims: Record<string, unknown> = {}, key = signingKeys[0]!): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: idp.issuer, aud: DEFAULT_UPSTREAM_AUDIENCE, sub: 'alice', client_id: CONNECT.clientId, iat: now, exp: now + 60, jti: 'j1', ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key['kid'] as string })
      .sign(await importJWK(key as Parameters<typeof importJWK>[0], 'ES256'));
  }
  const echo = (base: string, token: string, query = ''): Promise<Response> =>
    fetch(`${base}/v1/echo${query}`, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    idp = await startIdp({
      users: new Map([['alice', 'alice-password-for-tests']]),
      adminToken: ADMIN,
      clients: [{ ...CONNECT, redirectUris: [CONNECT.redirectUri] }],
      upstreamAudience: DEFAULT_UPSTREAM_AUDIENCE,
      upstreamClients: [CONNECT.clientId],
      signingKeys,
      log: () => {},
    });
    upstream = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: ADMIN, accessTokens: { issuer: idp.issuer, audience: DEFAULT_UPSTREAM_AUDIENCE } });
    otherAudience = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: ADMIN, accessTokens: { issuer: idp.issuer, audience: 'urn:keyward:another-api' } });
    const { tokens } = await signIn(idp.issuer, CONNECT, { username: 'alice', password: 'alice-password-for-tests', scope: `openid ${UPSTREAM_SCOPE}` });
    realToken = tokens.access_token;
  });
  after(async () => {
    await Promise.all([upstream.close(), otherAudience.close(), idp.close()]);
  });

  it('accepts a real access token from the provider: auth "bearer" and its sub, never the token', async () => {
    const res = await echo(upstream.url, realToken, '?reflect=1');
    assert.equal(res.status, 200);
    const text = await res.text();
    const body = JSON.parse(text) as Record<string, unknown>;
    assert.equal(body['auth'], 'bearer');
    assert.equal(body['sub'], 'alice');
    assert.equal(body['clientId'], CONNECT.clientId);
    assert.equal(body['scope'], UPSTREAM_SCOPE);
    assert.equal(body['keyId'], null);
    assert.ok(!text.includes(realToken) && !text.includes(realToken.split('.')[2]!), 'the token is never echoed');
    assert.equal(res.headers.get('x-received-key'), null);
  });

  it('still accepts keys, now reporting auth "key"', async () => {
    const res = await fetch(`${upstream.url}/v1/echo`, { headers: { 'x-api-key': SERVER_KEY } });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200);
    assert.equal(body['auth'], 'key');
    assert.equal(body['keyId'], 'server-1');
  });

  it('accepts a token signed with the provider\'s key (the minting helper is sound)', async () => {
    assert.equal((await echo(upstream.url, await minted())).status, 200);
  });

  it('refuses a real token on an upstream with another audience', async () => {
    const res = await echo(otherAudience.url, realToken);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.deepEqual(await res.json(), { error: 'invalid access token' });
  });

  it('refuses wrong audience, wrong issuer, expired, unsigned, forged, tampered and non-access tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const valid = await minted();
    const [header, payload] = valid.split('.') as [string, string, string];
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${payload}.`;
    const tamperedPayload = base64url.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))), sub: 'mallory' }));
    const cases: Record<string, string> = {
      'wrong audience': await minted({ aud: 'urn:keyward:another-api' }),
      'wrong issuer': await minted({ iss: 'http://127.0.0.1:1' }),
      expired: await minted({ iat: now - 120, exp: now - 60 }),
      'no sub': await minted({ sub: undefined }),
      unsigned,
      forged: await minted({}, { ...stranger, kid: signingKeys[0]!['kid'] }),
      tampered: `${header}.${tamperedPayload}.${valid.split('.')[2]}`,
      'an ID token (typ JWT)': await new SignJWT({ iss: idp.issuer, aud: DEFAULT_UPSTREAM_AUDIENCE, sub: 'alice', iat: now, exp: now + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: signingKeys[0]!['kid'] as string })
        .sign(await importJWK(signingKeys[0] as Parameters<typeof importJWK>[0], 'ES256')),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await echo(upstream.url, token);
      assert.equal(res.status, 401, name);
      assert.deepEqual(await res.json(), { error: 'invalid access token' }, name);
    }
  });

  it('treats a JWT-shaped bearer as a key when the upstream accepts no access tokens', async () => {
    const keysOnly = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: ADMIN });
    try {
      const res = await echo(keysOnly.url, realToken);
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { error: 'invalid or missing api key' });
    } finally {
      await keysOnly.close();
    }
  });
});
