import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MemoryStore, OAuthTokenProvider, ServerKeyProvider, resolveKeywardOptions } from '../src/index.js';
import { configError, problemAt } from './support/config-errors.js';
import { vaultKey } from './support/secrets.js';

// Issue 25: `oidc` validated once with every other option: every problem at once, each with
// its path and fix, never a client secret.

const DEV: NodeJS.ProcessEnv = {};
const secret = (): string => randomBytes(32).toString('base64url');
const options = (oidc: unknown, top: Record<string, unknown> = {}): unknown => ({
  session: { secrets: [secret()], store: new MemoryStore() },
  vault: { keys: [vaultKey('k1')] },
  oidc,
  ...top,
});
const good = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  issuer: 'https://accounts.example.com',
  clientId: 'my-app',
  clientAuth: { secret: secret() },
  scopes: ['openid', 'profile'],
  ...extra,
});

describe('oidc options', () => {
  it('valid options: the defaults, and the tokens are the `oidc` credential a proxy service can name', () => {
    const o = resolveKeywardOptions(options(good(), { proxy: { services: { api: { baseUrl: 'https://api.example.com/', credential: 'oidc' } } } }), DEV);
    assert.ok(o.oidc);
    assert.ok(o.credentials.get('oidc') instanceof OAuthTokenProvider);
    assert.equal(o.oidc.runtime.provider, o.credentials.get('oidc'));
    assert.deepEqual(o.oidc.claims, ['name', 'email']);
    assert.equal(o.oidc.transactionTtlMs, 600_000);
    assert.equal(o.oidc.logoutTokenMaxAgeMs, 300_000);
    assert.equal(o.oidc.silentReauthentication, false);
    assert.equal(o.oidc.connection.openid, true);
    assert.equal(o.proxy.get('api')!.credential, 'oidc');
    assert.equal(resolveKeywardOptions(options(undefined), DEV).oidc, null);
  });

  it('reports every problem at once, with its path and fix, and never prints the secret', () => {
    const clientSecret = 'sEcReT-' + secret();
    const err = configError(() =>
      resolveKeywardOptions(
        options(
          good({
            issuer: 'http://accounts.example.com',
            clientAuth: { secret: clientSecret, method: 'header' },
            scopes: ['profile'],
            claims: ['email', 'sub', 'nonce', 'bad claim'],
            postLogoutRedirectUri: 'javascript:alert(1)',
            transactionTtlMs: 5,
            logoutTokenMaxAgeMs: 'soon',
            client_secret: clientSecret,
            silentReauthentication: 'yes',
          }),
        ),
        DEV,
      ),
    );
    const all = err.problems.join('\n');
    assert.ok(!all.includes(clientSecret), 'the secret is never printed');
    assert.match(problemAt(err, 'oidc.issuer'), /plain http.*allowHttpToLoopback/);
    assert.match(problemAt(err, 'oidc.clientAuth.method'), /'basic'.*'post'/);
    assert.match(problemAt(err, 'oidc.scopes'), /must include 'openid'/);
    assert.match(problemAt(err, 'oidc.postLogoutRedirectUri'), /absolute http\(s\) URL/);
    assert.match(problemAt(err, 'oidc.transactionTtlMs'), /./);
    assert.match(problemAt(err, 'oidc.logoutTokenMaxAgeMs'), /./);
    assert.match(problemAt(err, 'oidc.client_secret'), /clientAuth/);
    assert.match(problemAt(err, 'oidc.silentReauthentication'), /boolean/);
    const claims = err.problems.filter((p) => p.startsWith('oidc.claims'));
    assert.equal(claims.length, 3, claims.join('\n'));
    assert.ok(claims.some((p) => p.includes('"sub"')) && claims.some((p) => p.includes('"nonce"')) && claims.some((p) => p.includes('"bad claim"')));
  });

  it('needs an issuer and a vault; refuses a credential already named oidc; production refuses http to loopback', () => {
    const noIssuer = configError(() => resolveKeywardOptions(options({ clientId: 'x', clientAuth: { secret: secret() }, scopes: ['openid'] }), DEV));
    assert.match(problemAt(noIssuer, 'oidc.issuer'), /required/);
    const noVault = configError(() => resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, oidc: good() }, DEV));
    assert.match(problemAt(noVault, 'vault'), /required with oidc/);
    const clash = configError(() => resolveKeywardOptions(options(good(), { credentials: { oidc: new ServerKeyProvider({ keys: [secret()] }) } }), DEV));
    assert.match(problemAt(clash, 'oidc'), /credential "oidc"/);
    const prod = configError(() => resolveKeywardOptions(options(good({ issuer: 'http://127.0.0.1:9000', allowHttpToLoopback: true })), { NODE_ENV: 'production' }));
    assert.ok(prod.problems.some((p) => p.startsWith('oidc.allowHttpToLoopback: not allowed in production')), prod.problems.join('\n'));
    const notObject = configError(() => resolveKeywardOptions(options('https://accounts.example.com'), DEV));
    assert.match(problemAt(notObject, 'oidc'), /expected \{ issuer, clientId/);
  });
});
