import 'reflect-metadata';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MemoryStore, OAuthTokenProvider, ServerKeyProvider, resolveKeywardOptions } from '../src/index.js';
import { configError, problemAt } from './support/config-errors.js';
import { vaultKey } from './support/secrets.js';

// Issue 24: `oauth.connections` validated once with every other option: every problem at
// once, each with its path, the bad value (never a client secret or a private key) and the fix.

const DEV: NodeJS.ProcessEnv = {};
const secret = (): string => randomBytes(32).toString('base64url');
const options = (oauth: unknown, top: Record<string, unknown> = {}): unknown => ({
  session: { secrets: [secret()], store: new MemoryStore() },
  vault: { keys: [vaultKey('k1')] },
  oauth,
  ...top,
});
const good = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  issuer: 'https://accounts.example.com',
  clientId: 'my-app',
  clientAuth: { secret: secret() },
  scopes: ['openid', 'api:read'],
  ...extra,
});

describe('oauth options', () => {
  it('a valid connection is a credential the proxy can name, with the defaults filled in', () => {
    const o = resolveKeywardOptions(options({ connections: { example: good() } }, { proxy: { services: { api: { baseUrl: 'https://api.example.com/', credential: 'example' } } } }), DEV);
    assert.ok(o.credentials.get('example') instanceof OAuthTokenProvider);
    const c = o.oauth.connections.get('example')!;
    assert.equal(c.refreshSkewMs, 60_000);
    assert.equal(c.bind, 'session');
    // 'user': kept for the user's every session (regression: it was refused as "not supported yet").
    assert.equal(resolveKeywardOptions(options({ connections: { example: good({ bind: 'user' }) } }), DEV).oauth.connections.get('example')!.bind, 'user');
    assert.equal(c.openid, true);
    assert.equal(o.oauth.transactionTtlMs, 600_000);
    assert.equal(o.proxy.get('api')!.credential, 'example');
  });

  it("prompt: 'consent', 'login' or 'select_account'; 'none' (silent) and anything else refused with the list", () => {
    assert.equal(resolveKeywardOptions(options({ connections: { example: good({ prompt: 'consent' }) } }), DEV).oauth.connections.get('example')!.prompt, 'consent');
    assert.equal(resolveKeywardOptions(options({ connections: { example: good() } }), DEV).oauth.connections.get('example')!.prompt, undefined);
    for (const bad of ['none', 'CONSENT', 42]) {
      const err = configError(() => resolveKeywardOptions(options({ connections: { example: good({ prompt: bad }) } }), DEV));
      assert.match(problemAt(err, 'oauth.connections.example.prompt'), /expected one of 'consent', 'login', 'select_account'/);
    }
  });

  it('reports every problem at once, each with its path and fix, and never prints a secret', () => {
    const clientSecret = 'sEcReT-' + secret();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const err = configError(() =>
      resolveKeywardOptions(
        options({
          connections: {
            both: good({ endpoints: { authorization: 'https://a.example/authorize', token: 'https://a.example/token' } }),
            plain: good({ issuer: 'http://accounts.example.com' }),
            nosecret: good({ clientAuth: { secret: clientSecret, method: 'header' }, clientId: '' }),
            short: good({ clientAuth: { secret: 'abc' }, scopes: [] }),
            user: good({ bind: 'device', client_secret: clientSecret }),
            pub: good({ clientAuth: { privateKeyJwt: { ...jwk, d: undefined } }, scopes: ['openid', 'with space'] }),
            'Bad Name': good(),
            nojwks: { endpoints: { authorization: 'https://a.example/authorize', token: 'https://a.example/token' }, clientId: 'x', clientAuth: { privateKeyJwt: { ...jwk, kid: 'k' } }, scopes: ['openid'] },
          },
          transactionTtlMs: 5,
        }),
        DEV,
      ),
    );
    const text = err.problems.join('\n');
    assert.ok(!text.includes(clientSecret) && !text.includes('abc') && !text.includes(String(jwk.d)), 'no secret or private key in the messages');
    assert.match(problemAt(err, 'oauth.connections.both'), /exactly one of `issuer`.*got both/);
    assert.match(problemAt(err, 'oauth.connections.plain.issuer'), /plain http.*allowHttpToLoopback/);
    assert.match(problemAt(err, 'oauth.connections.nosecret.clientAuth.method'), /'basic'.*'post'.*got "header"/);
    assert.match(problemAt(err, 'oauth.connections.nosecret.clientId'), /client ID/);
    assert.match(problemAt(err, 'oauth.connections.short.clientAuth.secret'), /at least 8 characters.*process\.env/);
    assert.match(problemAt(err, 'oauth.connections.short.scopes'), /non-empty list/);
    assert.match(problemAt(err, 'oauth.connections.user.bind'), /expected 'session' .* or 'user' .*got "device"/);
    assert.match(problemAt(err, 'oauth.connections.user.client_secret'), /clientAuth: \{ secret \}/);
    assert.match(problemAt(err, 'oauth.connections.pub.clientAuth.privateKeyJwt'), /no private part/);
    assert.match(problemAt(err, 'oauth.connections.pub.scopes'), /"with space" is not a scope/);
    assert.match(problemAt(err, 'oauth.connections.Bad Name'), /lower-case/);
    assert.match(problemAt(err, 'oauth.connections.nojwks.endpoints.jwks'), /required with the 'openid' scope/);
    assert.match(problemAt(err, 'oauth.transactionTtlMs'), /between 10000 and 3600000/);
  });

  it('needs a vault, and a connection may not take the name of a credential', () => {
    const err = configError(() =>
      resolveKeywardOptions(
        { session: { secrets: [secret()], store: new MemoryStore() }, credentials: { same: new ServerKeyProvider({ keys: [secret()] }) }, oauth: { connections: { same: good() } } },
        DEV,
      ),
    );
    assert.match(problemAt(err, 'oauth.connections.same'), /a credential of the same name/);
    assert.ok(err.problems.some((p) => /^vault: required when oauth\.connections/.test(p)));
  });

  it('plain HTTP to a loopback provider only with allowHttpToLoopback, and never in production', () => {
    const dev = resolveKeywardOptions(options({ connections: { local: good({ issuer: 'http://127.0.0.1:4000', allowHttpToLoopback: true }) } }), DEV);
    assert.equal(dev.oauth.connections.get('local')!.insecure, true);
    const err = configError(() => resolveKeywardOptions(options({ connections: { local: good({ issuer: 'http://127.0.0.1:4000', allowHttpToLoopback: true }) } }, { production: true }), DEV));
    assert.match(problemAt(err, 'oauth.connections.local.allowHttpToLoopback'), /not allowed in production/);
    const other = configError(() => resolveKeywardOptions(options({ connections: { far: good({ issuer: 'http://10.0.0.5', allowHttpToLoopback: true }) } }), DEV));
    assert.match(problemAt(err.problems.length ? other : other, 'oauth.connections.far.issuer'), /plain http/);
  });

  it('the section itself: not an object, unknown keys with a hint', () => {
    const err = configError(() => resolveKeywardOptions(options('github'), DEV));
    assert.match(problemAt(err, 'oauth'), /expected \{ connections/);
    assert.ok(!err.message.includes('github'), 'a string here is not echoed');
    const err2 = configError(() => resolveKeywardOptions(options({ connections: {}, conections: {} }), DEV));
    assert.match(problemAt(err2, 'oauth.conections'), /unsupported option/);
  });
});
