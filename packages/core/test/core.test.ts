// The shared knowledge of @keyward/core: one weak-secret list, one masking rule.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { KNOWN_WEAK_SECRETS, REDACTED, WEAK_SECRETS, isPlaceholderSecret, isWellKnownWeakSecret, maskHead, maskTail, secretWeakness, visibleChars } from '../src/index.js';

describe('@keyward/core', () => {
  it('one weak-secret list: every entry is refused by the audit and flagged by the CLI, whatever its case', () => {
    assert.equal(KNOWN_WEAK_SECRETS, WEAK_SECRETS);
    for (const s of WEAK_SECRETS) {
      assert.ok(isWellKnownWeakSecret(s) && isWellKnownWeakSecret(` ${s.toUpperCase()} `), s);
      assert.ok(secretWeakness(s), s);
    }
    assert.equal(isWellKnownWeakSecret(randomBytes(32).toString('base64url')), false);
    assert.equal(secretWeakness(randomBytes(32).toString('base64url')), null);
  });

  it('masking shows at most a quarter of a secret, never below 8 characters', () => {
    assert.deepEqual([7, 8, 15, 16, 40].map(visibleChars), [0, 2, 2, 4, 4]);
    assert.equal(maskTail('sk_live_abcdefghijklmnop'), '••••mnop');
    assert.equal(maskHead('sk_live_abcdefghijklmnop'), 'sk_l…(24 chars)');
    assert.equal(maskTail('short'), '••••');
    assert.equal(maskHead('short'), '…(5 chars)');
    assert.equal(REDACTED, '[REDACTED]');
  });

  it('isPlaceholderSecret: a placeholder exactly, dressed up, or encoded; never random bytes', () => {
    assert.ok(isPlaceholderSecret('keyboard cat'));
    assert.ok(isPlaceholderSecret('change-this-to-a-secure-random-value-2026'));
    assert.ok(isPlaceholderSecret(Buffer.from('change-this-to-a-secure-random-value').toString('base64')));
    assert.ok(!isPlaceholderSecret(randomBytes(32).toString('base64')));
    assert.ok(!isPlaceholderSecret('Tr0ub4dor&3-correct-horse-battery'), 'weak is not the same as a placeholder');
  });
});
