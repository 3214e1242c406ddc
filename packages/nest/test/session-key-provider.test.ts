// SessionKeyProvider: a key the app put into the session with vault.putSession() is what
// the proxy attaches (the read-back the express-session migration guide relies on), on
// both adapters with real Redis and the test upstream (real HTTP).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RedisStore, SessionKeyProvider, liveSecrets } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { nodeRequest } from './support/raw-http.js';
import { type RedisServer, redisSuite } from './support/redis-server.js';
import { findSecrets, secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';

let redis: RedisServer;
redisSuite('kw-session-key-', (server) => (redis = server));
let upstream: UpstreamHandle;
upstreamSuite({ serverKeys: [`srv-${secret()}`], adminToken: secret() }, (u) => (upstream = u));

describe('SessionKeyProvider options', () => {
  it('refuses bad options with a TypeError that says what to pass', () => {
    assert.throws(() => new SessionKeyProvider({ entyr: 'x' } as never), /unknown option "entyr"/);
    assert.throws(() => new SessionKeyProvider({ entry: '' }), /non-empty name/);
    assert.throws(() => new SessionKeyProvider(null as never), /must be an object/);
  });
});

for (const adapter of ADAPTERS) {
  describe(`SessionKeyProvider on ${adapter}`, () => {
    let bff: RunningApp;
    const tokenA = `tok_${randomBytes(24).toString('base64url')}`;
    const tokenB = `tok_${randomBytes(24).toString('base64url')}`;

    before(async () => {
      upstream.addServerKey(tokenA, `sess-a-${adapter}`);
      upstream.addServerKey(tokenB, `sess-b-${adapter}`);
      const options = bffOptions({
        store: new RedisStore({ url: redis.url, prefix: `kw:sk:${adapter}:` }),
        upstreamUrl: upstream.url,
        serverKeys: [`srv-${secret()}`],
        issuer: { mint: async () => ({ id: 'x', key: secret() }), revoke: async () => {} } as never,
        extraServices: {
          partner: upstreamService(upstream.url, 'partner'),
          aliased: upstreamService(upstream.url, 'aliased'),
        },
      });
      options.credentials!.partner = new SessionKeyProvider();
      options.credentials!.aliased = new SessionKeyProvider({ entry: 'partner' });
      bff = await startTestApp(adapter, options);
    });
    after(async () => {
      await bff?.close();
    });

    it('the proxy attaches the key this session stored, never another session\'s, and it dies with the session', async () => {
      const alice = new PageClient(bff.url);
      const bob = new PageClient(bff.url);
      assert.equal((await alice.post('/login', { user: `a-${adapter}` })).status, 200);
      assert.equal((await bob.post('/login', { user: `b-${adapter}` })).status, 200);

      // Before the app stores a key: a clear 409, no upstream call with a key.
      const none = await nodeRequest(bff.url, 'GET', '/api/proxy/partner/echo', { cookie: alice.cookieHeader, 'x-csrf': '1', origin: bff.url });
      assert.equal(none.status, 409, none.body);
      assert.equal(none.json.code, 'KW_CREDENTIAL_MISSING');

      assert.equal((await alice.put('/session-keys/partner', { key: tokenA })).status, 204);
      assert.equal((await bob.put('/session-keys/partner', { key: tokenB })).status, 204);

      for (const service of ['partner', 'aliased']) {
        const a = await nodeRequest(bff.url, 'GET', `/api/proxy/${service}/echo?reflect=1`, { cookie: alice.cookieHeader, 'x-csrf': '1', origin: bff.url });
        assert.equal(a.status, 200, a.body);
        assert.equal(a.json.keyId, `sess-a-${adapter}`, `${service}: Alice's own key was attached`);
        assert.equal(a.json.receivedKey, '[REDACTED]');
        assert.deepEqual(findSecrets(a.body + a.rawHeaders, [tokenA, tokenB]), []);
        const b = await nodeRequest(bff.url, 'GET', `/api/proxy/${service}/echo`, { cookie: bob.cookieHeader, 'x-csrf': '1', origin: bff.url });
        assert.equal(b.json.keyId, `sess-b-${adapter}`, `${service}: Bob's own key was attached`);
      }

      assert.ok(liveSecrets.contains(`x ${tokenA} x`), 'a stored session value is scrubbed while the session lives');
      assert.equal((await alice.post('/logout')).status, 204);
      // Regression (review): session values were grouped by the store key (which changes at every
      // ID rotation) and never released, so ended sessions kept their registry slots.
      assert.ok(!liveSecrets.contains(`x ${tokenA} x`), 'the ended session\'s value left the redaction registry');
      assert.ok(liveSecrets.contains(`x ${tokenB} x`), 'another live session\'s value stays scrubbed');
      const again = new PageClient(bff.url);
      assert.equal((await again.post('/login', { user: `a-${adapter}` })).status, 200);
      const gone = await nodeRequest(bff.url, 'GET', '/api/proxy/partner/echo', { cookie: again.cookieHeader, 'x-csrf': '1', origin: bff.url });
      assert.equal(gone.status, 409, 'a new session of the same user does not inherit the ended session\'s key');
      assert.deepEqual(findSecrets(bff.logger.text, [tokenA, tokenB]), [], 'no key in the logs');
    });
  });
}
