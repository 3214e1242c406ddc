import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findSecretsInText, isPlaceholder, isSecretName, looksRandom, maskSecret, matchProvider, shannonEntropy } from '../src/secrets/secret-detector.js';
import { isWellKnownWeakSecret } from '../src/secrets/weak-secrets.js';

// Fake keys assembled at run time so this file holds no key-shaped literal.
const fake = (prefix: string, n: number, alphabet = 'aB3dE5fG7hJ9kL2mN4pQ6rS8tU0vWxYz'): string => prefix + Array.from({ length: n }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join('');

describe('provider patterns', () => {
  const cases: [string, string][] = [
    [fake('sk_live_', 24), 'Stripe secret key'],
    [fake('sk-ant-api03-', 40), 'Anthropic API key'],
    [fake('sk-proj-', 40), 'OpenAI API key'],
    [fake('AKIA', 16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'), 'AWS access key id'],
    [fake('ghp_', 36), 'GitHub token'],
    [fake('xoxb-', 30, '0123456789abcdefABCDEF-'), 'Slack token'],
    [fake('AIza', 35), 'Google API key'],
    [`${fake('eyJ', 20)}.${fake('eyJ', 30)}.${fake('', 43)}`, 'JWT'],
  ];
  for (const [value, provider] of cases) {
    test(provider, () => assert.equal(matchProvider(value), provider));
  }
  test('placeholders never match', () => {
    assert.equal(matchProvider('sk_test_xxxxxxxxxxxxxxxxxxxxxxxx'), undefined);
    assert.equal(matchProvider('sk-YOUR_OPENAI_KEY_GOES_HERE_0000'), undefined);
    assert.ok(isPlaceholder('<your api key>'));
    assert.ok(isPlaceholder('AKIAIOSFODNN7EXAMPLE'));
  });
});

describe('generic secrets', () => {
  test('entropy', () => {
    assert.equal(shannonEntropy(''), 0);
    assert.equal(shannonEntropy('aaaa'), 0);
    assert.ok(shannonEntropy('q8ZtR2vLx9PmW4kJ7nB3cF6hD1sG5aYe') > 4);
  });
  test('looksRandom', () => {
    assert.ok(looksRandom('q8ZtR2vLx9PmW4kJ7nB3cF6hD1sG5aYe'));
    assert.ok(!looksRandom('change-this-to-a-secure-random-value'));
    assert.ok(!looksRandom('https://api.example.com/v1/keys'));
    assert.ok(!looksRandom('short'));
    assert.ok(!looksRandom('x'.repeat(100_000)));
  });
  test('secret-like names', () => {
    for (const n of ['apiKey', 'API_KEY', 'x-api-key', 'stripeSecretKey', 'SESSION_SECRET', 'clientSecret', 'githubToken', 'openai.apiKey', 'password', 'redis_password'])
      assert.ok(isSecretName(n), n);
    for (const n of ['apiKeyHeader', 'API_KEY_ID', 'csrfToken', 'hasApiKey', 'secretName', 'publicKey', 'key', 'cacheKey', 'sessionId', 'PUBLISHABLE_KEY', 'CredentialUnavailable'])
      assert.ok(!isSecretName(n), n);
    assert.ok(isSecretName('GITHUB_TOKEN', true));
    assert.ok(!isSecretName('accessToken'));
  });
  test('well-known weak secrets', () => {
    for (const s of ['keyboard cat', 'Keyboard Cat', 'my-secret', 'change-this-to-a-secure-random-value', 'averylogphrasebiggerthanthirtytwochars']) assert.ok(isWellKnownWeakSecret(s), s);
    assert.ok(!isWellKnownWeakSecret('q8ZtR2vLx9PmW4kJ7nB3cF6hD1sG5aYe'));
  });
});

describe('masking', () => {
  test('never shows the whole value', () => {
    for (const v of ['', 'a', 'secret', 'keyboard cat', fake('sk_live_', 24), '🔑'.repeat(20)]) {
      const m = maskSecret(v);
      assert.ok(v.length < 4 || !m.includes(v), `${m} leaks ${v}`);
      assert.match(m, new RegExp(`\\(${v.length} chars\\)$`));
    }
    assert.equal(maskSecret(fake('sk_live_', 24)), `sk_l…(32 chars)`);
  });
});

describe('findSecretsInText', () => {
  test('provider keys and JSON members named like keys', () => {
    const key = fake('sk_live_', 24);
    const found = findSecretsInText(JSON.stringify({ user: 'ann', apiKey: key, nested: { clientSecret: 'Zr8q-Long-Enough-Value' } }));
    assert.deepEqual(found.map((f) => f.value).sort(), [key, 'Zr8q-Long-Enough-Value'].sort());
  });
  test('hostile input: huge, unicode, CR/LF, broken JSON', () => {
    assert.deepEqual(findSecretsInText('{"apiKey": '.repeat(10_000)), []);
    assert.deepEqual(findSecretsInText('\r\n\u0000\uFFFF'.repeat(1000)), []);
    assert.deepEqual(findSecretsInText(JSON.stringify({ apiKey: '' })), []);
    assert.deepEqual(findSecretsInText(JSON.stringify({ apiKey: 'YOUR_API_KEY_HERE' })), []);
  });
});

test('regression: algorithm names, durations, IV/nonce sizes and *_expires_in values are not secrets', () => {
  for (const n of ['JWT_SECRET_EXPIRES_IN', 'jwtSecretAlgorithm', 'ENCRYPTION_KEY_IV_LENGTH', 'SECRET_NONCE_SIZE', 'ACCESS_TOKEN_EXPIRES_IN', 'SESSION_SECRET_TTL', 'apiKeyLifetime']) {
    assert.equal(isSecretName(n, true), false, n);
  }
  for (const n of ['JWT_SECRET', 'STRIPE_SECRET_KEY', 'apiKey']) assert.equal(isSecretName(n, true), true, n);
});
