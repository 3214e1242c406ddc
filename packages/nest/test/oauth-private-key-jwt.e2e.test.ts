import 'reflect-metadata';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KeywardEvents, MemoryStore, liveSecrets, type KeywardModuleOptions, type SecurityEvent } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { FlowBrowser } from './support/browser-flow.js';
import type { TestIdp } from './support/oidc-provider.js';
import { findSecrets, secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import type { UpstreamHandle } from './support/upstream.js';
import { idpSuite } from './support/idp-suite.js';

// Issues 24 and 25: `private_key_jwt` client authentication (RFC 7523 client assertions,
// made by openid-client) against the real oidc-provider, for the OpenID Connect sign-in
// and for a connected account, on both adapters: the provider registers only the public
// JWKS of each client (no secret), so every code exchange, refresh and RFC 7009 revocation
// that succeeds was authenticated with the app's private key. A key the provider does not
// know is refused with a stable code; the private key's parts are in the redaction
// registry and in no log line, event, body, header or cookie.

const PRIVATE_PARTS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

/** A private JWK of `kind` with its public JWKS, as a provider registers it. */
function keyPair(kind: 'rsa' | 'ec', kid: string | undefined, alg: string): { jwk: JsonWebKey & { kid?: string; alg: string }; jwks: { keys: object[] } } {
  const { privateKey, publicKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), ...(kid ? { kid } : {}), alg };
  return { jwk, jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), ...(kid ? { kid } : {}), alg, use: 'sig' }] } };
}

const privateParts = (jwk: JsonWebKey): string[] => PRIVATE_PARTS.map((p) => jwk[p]).filter((v): v is string => typeof v === 'string');

let idp: TestIdp;
let upstream: UpstreamHandle;
idpSuite((i, u) => ((idp = i), (upstream = u)));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const adapter of ADAPTERS) {
  describe(`private_key_jwt against the real provider on ${adapter}`, () => {
    let app: RunningApp;
    const events: SecurityEvent[] = [];
    // The sign-in holds an RSA key named by kid; the connection an EC P-256 key without a kid.
    const signIn = keyPair('rsa', `kw-signin-${adapter}`, 'RS256');
    const connect = keyPair('ec', undefined, 'ES256');
    // A key of the right shape that the provider never registered.
    const stranger = keyPair('ec', 'stranger', 'ES256');
    const signInClient = `kw-pkjwt-signin-${adapter}`;
    const connectClient = `kw-pkjwt-connect-${adapter}`;
    const strangerClient = `kw-pkjwt-stranger-${adapter}`;

    before(async () => {
      const options: KeywardModuleOptions = {
        session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
        vault: { keys: [vaultKey('k1')] },
        oidc: { issuer: idp.issuer, clientId: signInClient, clientAuth: { privateKeyJwt: signIn.jwk }, scopes: ['openid', 'profile'], allowHttpToLoopback: true, revokeRetryDelaysMs: [200] },
        oauth: {
          connections: {
            demo: { issuer: idp.issuer, clientId: connectClient, clientAuth: { privateKeyJwt: connect.jwk }, scopes: ['openid', 'api:read'], allowHttpToLoopback: true, refreshSkewMs: 1_500, revokeRetryDelaysMs: [200] },
            stranger: { issuer: idp.issuer, clientId: strangerClient, clientAuth: { privateKeyJwt: stranger.jwk }, scopes: ['api:read'], allowHttpToLoopback: true },
          },
        },
        proxy: {
          services: {
            api: { baseUrl: `${upstream.url}/v1/`, credential: 'demo', allowHttpToLoopback: true, timeoutMs: 5000 },
            me: { baseUrl: `${upstream.url}/v1/`, credential: 'oidc', allowHttpToLoopback: true, timeoutMs: 5000 },
          },
        },
      };
      app = await startTestApp(adapter, options);
      app.app.get(KeywardEvents).on((e) => events.push(e));
      idp.addClient({ clientId: signInClient, jwks: signIn.jwks, redirectUris: [`${app.url}/api/auth/oidc/callback`] });
      idp.addClient({ clientId: connectClient, jwks: connect.jwks, redirectUris: [`${app.url}/api/connect/demo/callback`] });
      // Registered with a key of its own, not the one the app signs with.
      idp.addClient({ clientId: strangerClient, jwks: keyPair('ec', 'stranger', 'ES256').jwks, redirectUris: [`${app.url}/api/connect/stranger/callback`] });
    });
    after(() => app.close());

    /** Every private key part the app holds, none of which may appear anywhere a party could see. */
    const keyParts = (): string[] => [...privateParts(signIn.jwk), ...privateParts(connect.jwk), ...privateParts(stranger.jwk)];
    function leaks(b: FlowBrowser, allowed: string[] = []): unknown[] {
      const seen = [allowed.reduce((t, a) => t.split(a).join('«allowed»'), b.transcript), JSON.stringify([...b.jars].map(([o, j]) => [o, [...j]])), app.logger.text, JSON.stringify(events)].join('\n');
      return [...findSecrets(seen, keyParts()), ...findSecrets(seen, idp.issuedSecrets())];
    }

    it('the private keys are in the redaction registry: every private part is scrubbed from any text, the JWK as JSON too', () => {
      for (const jwk of [signIn.jwk, connect.jwk, stranger.jwk]) {
        const text = `options ${JSON.stringify(jwk)} d=${Buffer.from(jwk.d!, 'base64url').toString('base64')}`;
        const scrubbed = liveSecrets.scrub(text);
        assert.deepEqual(findSecrets(scrubbed, privateParts(jwk)), [], 'a private part survived scrubbing');
        assert.ok(scrubbed.includes(jwk.kty!), 'public members are left alone');
      }
    });

    it('sign-in: the code is redeemed with a client assertion; the sign-in tokens reach the proxy; logout revokes them with the same key', async () => {
      const authBefore = idp.clientAuthentications('private_key_jwt');
      const b = new FlowBrowser(app.url);
      const start = await b.request('GET', '/api/auth/oidc/login?returnTo=/home');
      assert.equal(start.status, 302, start.text);
      const isCallback = (u: URL): boolean => u.pathname === '/api/auth/oidc/callback';
      const page = (await b.follow(start.location!, isCallback)).last!;
      const uid = /\/interaction\/([A-Za-z0-9_-]+)$/.exec(page.url)![1]!;
      const submitted = await b.request('POST', `${idp.issuer}/interaction/${uid}/login`, { form: { login: 'alice' } });
      const back = await b.follow(submitted.location!, isCallback);
      const done = await b.request('GET', back.stoppedAt!);
      assert.equal(done.status, 302, done.text);
      assert.equal(done.location, `${app.url}/home`);
      assert.equal(idp.clientAuthentications('private_key_jwt'), authBefore + 1, 'the code exchange authenticated with private_key_jwt');
      assert.equal((await b.request('GET', '/api/auth/user?slide=false')).body.user.sub, 'alice');

      const call = await b.request('GET', '/api/proxy/me/echo');
      assert.equal(call.status, 200, call.text);
      assert.equal(call.body.keyId, 'oauth', 'the sign-in access token was attached');

      const revocations = idp.revocations().length;
      const out = await b.request('POST', '/api/auth/oidc/logout');
      assert.equal(out.status, 200, out.text);
      // The one place a token leaves the server, as RP-initiated logout requires (docs/oidc-sign-in.md): the ID token as id_token_hint.
      const hint = new URL(out.body.redirectTo).searchParams.get('id_token_hint')!;
      assert.ok(idp.issuedSecrets().includes(hint));
      const log = idp.revocations().slice(revocations);
      assert.deepEqual(log.map((l) => l.hint).sort(), ['access_token', 'refresh_token']);
      assert.ok(log.every((l) => l.status === 200), JSON.stringify(log));
      assert.equal(idp.clientAuthentications('private_key_jwt'), authBefore + 3, 'both revocations authenticated with private_key_jwt');
      assert.deepEqual(leaks(b, [out.body.redirectTo, JSON.stringify(out.body.redirectTo).slice(1, -1)]), []);
    });

    it('connected account: exchange, refresh with rotation and disconnect (RFC 7009) all authenticate with the EC key', async () => {
      idp.setAccessTokenTtl(3);
      try {
        const b = new FlowBrowser(app.url);
        assert.equal((await b.request('POST', '/login', { json: { user: 'alice' } })).status, 200);
        const authBefore = idp.clientAuthentications('private_key_jwt');
        const cb = await b.untilCallback('demo', { returnTo: '/done' });
        const back = await b.request('GET', cb);
        assert.equal(back.status, 302, back.text);
        assert.equal(idp.clientAuthentications('private_key_jwt'), authBefore + 1);

        const refreshes = idp.tokenRequests('refresh_token');
        assert.equal((await b.request('GET', '/api/proxy/api/echo')).status, 200);
        // 3 s tokens refreshed 1.5 s early: due after 1.5 s.
        await sleep(1_700);
        const calls = await Promise.all(Array.from({ length: 5 }, () => b.request('GET', '/api/proxy/api/echo')));
        assert.deepEqual(calls.map((c) => c.status), Array(5).fill(200), calls.map((c) => c.text).join('\n'));
        assert.equal(idp.tokenRequests('refresh_token'), refreshes + 1, 'one refresh');
        assert.equal(idp.clientAuthentications('private_key_jwt'), authBefore + 2, 'the refresh authenticated with private_key_jwt');

        const revocations = idp.revocations().length;
        assert.equal((await b.request('DELETE', '/api/connections/demo')).status, 204);
        assert.deepEqual(idp.revocations().slice(revocations).map((l) => l.status), [200, 200]);
        assert.equal(idp.clientAuthentications('private_key_jwt'), authBefore + 4);
        assert.deepEqual(leaks(b), []);
      } finally {
        idp.setAccessTokenTtl(3600);
      }
    });

    it('a key the provider did not register: the callback is refused with KW_OAUTH_EXCHANGE_FAILED, nothing is stored, the key is in no answer or log line', async () => {
      const b = new FlowBrowser(app.url);
      assert.equal((await b.request('POST', '/login', { json: { user: 'bob' } })).status, 200);
      const cb = await b.untilCallback('stranger', { user: 'bob' });
      const back = await b.request('GET', cb);
      assert.equal(back.status, 400, back.text);
      assert.equal(back.body.code, 'KW_OAUTH_EXCHANGE_FAILED');
      assert.match(back.body.error, /invalid_client/);
      assert.deepEqual((await b.request('GET', '/api/connections')).body, []);
      assert.deepEqual(leaks(b), []);
    });
  });
}
