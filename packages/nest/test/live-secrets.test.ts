import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSecrets, encodedForms, logId } from '../src/index.js';

describe('LiveSecrets', () => {
  it('scrubs a secret in every encoded form, also inside a larger base64 value', () => {
    const l = new LiveSecrets();
    const key = 'sk_live_0123456789abcdefXYZ';
    l.add(key);
    for (const form of encodedForms(key)) assert.ok(!l.scrub(`before ${form} after`).includes(form), form);
    const basic = Buffer.from(`user:${key}`).toString('base64');
    assert.ok(!l.scrub(`Authorization: Basic ${basic}`).includes(basic.slice(8, 30)));
    assert.equal(l.scrub('nothing secret here'), 'nothing secret here');
  });

  it('evicts the oldest unpinned secrets past its capacity, never pinned ones', () => {
    const l = new LiveSecrets(3);
    l.add('pinned-config-secret-0001', { pinned: true });
    for (let i = 0; i < 10; i++) l.add(`minted-session-key-${String(i).padStart(4, '0')}`);
    assert.equal(l.scrub('pinned-config-secret-0001'), '[REDACTED]');
    assert.equal(l.scrub('minted-session-key-0009'), '[REDACTED]');
    assert.equal(l.scrub('minted-session-key-0000'), 'minted-session-key-0000');
  });

  it('ignores values too short to scrub safely and never matches across a partial form', () => {
    const l = new LiveSecrets();
    l.add('short');
    assert.equal(l.size, 0);
    l.add('abcdefgh-long-enough');
    assert.equal(l.scrub('abcdefgh-long-enoug'), 'abcdefgh-long-enoug');
  });

  it('logId is stable within the process, one-way, and distinct per identifier', () => {
    assert.equal(logId('a'), logId('a'));
    assert.notEqual(logId('a'), logId('b'));
    assert.ok(!logId('session-key-value').includes('session'));
    assert.match(logId('x'), /^[A-Za-z0-9_-]{16}$/);
  });
});
