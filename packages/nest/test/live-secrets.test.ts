import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSecrets, RedactionCapacityError, encodedForms, logId } from '../src/index.js';
import { neutraliseControls } from '../src/redaction/stdio-redaction.js';

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

  it('a run-time secret in use is not the first evicted (recency, not insertion order)', () => {
    const l = new LiveSecrets(3);
    l.add('hot-minted-key-000001');
    for (let i = 0; i < 10; i++) {
      l.add(`cold-minted-key-${String(i).padStart(6, '0')}`);
      l.add('hot-minted-key-000001'); // opened again for each call
    }
    assert.equal(l.scrub('hot-minted-key-000001'), '[REDACTED]');
  });

  it('the run-time pool is bounded in bytes as well as entries', () => {
    const l = new LiveSecrets({ capacity: 1_000_000, maxBytes: 200_000 });
    for (let i = 0; i < 200; i++) l.add(`${i}-${'k'.repeat(1000)}`);
    assert.ok(l.stats().runtimeBytes <= 200_000, `${l.stats().runtimeBytes} bytes`);
    assert.ok(l.stats().runtime < 200);
  });

  it('user pool: a slot holds its current value; replaced and released values leave; shared values stay for their other holders', () => {
    const l = new LiveSecrets();
    l.add('shared-config-secret-1', { pinned: true });
    l.hold('alice/byok', 'alice', 'alice-key-aaaaaaaa');
    l.hold('alice/byok', 'alice', 'alice-key-bbbbbbbb');
    l.release('alice/byok', { keep: 'alice-key-bbbbbbbb' });
    assert.equal(l.scrub('alice-key-aaaaaaaa'), 'alice-key-aaaaaaaa');
    assert.equal(l.scrub('alice-key-bbbbbbbb'), '[REDACTED]');
    // A user storing a configuration secret's value, or another user's, then deleting it: the others stay scrubbed.
    l.hold('mallory/a', 'mallory', 'shared-config-secret-1');
    l.hold('mallory/b', 'mallory', 'alice-key-bbbbbbbb');
    l.release('mallory/a');
    l.release('mallory/b');
    assert.equal(l.scrub('shared-config-secret-1'), '[REDACTED]');
    assert.equal(l.scrub('alice-key-bbbbbbbb'), '[REDACTED]');
    l.release('alice/byok');
    assert.equal(l.scrub('alice-key-bbbbbbbb'), 'alice-key-bbbbbbbb');
    assert.equal(l.stats().user, 0);
    assert.equal(l.stats().userBytes, 0);
  });

  it('user pool: past perUser a user is refused (KW_KEY_LIMIT); a full pool forgets only idle entries, else refuses (KW_REDACTION_CAPACITY)', () => {
    let now = 0;
    const l = new LiveSecrets({ perUser: 2, userCapacity: 3, userIdleMs: 1000, now: () => now });
    l.hold('u1/a', 'u1', 'user-one-key-aaaa');
    l.hold('u1/b', 'u1', 'user-one-key-bbbb');
    assert.throws(() => l.hold('u1/c', 'u1', 'user-one-key-cccc'), (e: RedactionCapacityError) => e.code === 'KW_KEY_LIMIT' && !e.message.includes('cccc'));
    l.hold('u1/a', 'u1', 'user-one-key-aaa2'); // replacing within a slot is always possible
    l.release('u1/a', { keep: 'user-one-key-aaa2' });
    l.hold('u2/a', 'u2', 'user-two-key-aaaa');
    assert.throws(() => l.hold('u3/a', 'u3', 'user-three-key-aa'), (e: RedactionCapacityError) => e.code === 'KW_REDACTION_CAPACITY');
    assert.equal(l.scrub('user-one-key-bbbb'), '[REDACTED]', 'a key in use was pushed out');
    now = 5000; // everything idle now; the least recently used goes
    l.hold('u2/a', 'u2', 'user-two-key-aaaa'); // opened again: in use
    l.hold('u3/a', 'u3', 'user-three-key-aa');
    assert.equal(l.scrub('user-three-key-aa'), '[REDACTED]');
    assert.equal(l.scrub('user-two-key-aaaa'), '[REDACTED]');
    assert.equal(l.scrub('user-one-key-bbbb'), 'user-one-key-bbbb', 'the idle entry was the one forgotten');
  });

  it('safeCut never cuts through a tracked form', () => {
    const l = new LiveSecrets();
    l.add('sk_0123456789abcdef');
    const text = `xx sk_0123456789abcdef yy`;
    for (let at = 0; at <= text.length; at++) {
      const cut = l.safeCut(text, at);
      assert.ok(cut >= at);
      assert.ok(!(cut > 3 && cut < 3 + 19), `cut ${cut} inside the secret`);
    }
  });

  it('logId is stable within the process, one-way, and distinct per identifier', () => {
    assert.equal(logId('a'), logId('a'));
    assert.notEqual(logId('a'), logId('b'));
    assert.ok(!logId('session-key-value').includes('session'));
    assert.match(logId('x'), /^[A-Za-z0-9_-]{16}$/);
  });
});

describe('neutraliseControls (stdio)', () => {
  const esc = '\u001b';
  it('keeps the logger palette on any stream, any SGR but blink/conceal on a TTY', () => {
    const nest = `${esc}[32m[Nest] 1  - ${esc}[39m${esc}[33m[Ctx]${esc}[39m ${esc}[1mbold${esc}[0m${esc}[m`;
    assert.equal(neutraliseControls(nest, false), nest);
    assert.equal(neutraliseControls(nest, true), nest);
    const rich = `${esc}[38;5;208morange${esc}[48;2;0;0;0mbg${esc}[0m`;
    assert.equal(neutraliseControls(rich, true), rich);
    assert.equal(neutraliseControls(rich, false), `\\x1b[38;5;208morange\\x1b[48;2;0;0;0mbg${esc}[0m`);
    for (const hiding of [`${esc}[8m`, `${esc}[5m`, `${esc}[30;8m`, `${esc}[38;5m`]) assert.ok(!neutraliseControls(hiding, true).includes(esc), JSON.stringify(hiding));
  });

  it('escapes cursor/erase CSI, OSC, C1, bidi, line separators and CR on every stream', () => {
    for (const tty of [false, true]) {
      const out = neutraliseControls(`a${esc}[2K${esc}[1A${esc}]0;t\u0007\u009b2J\u202ex\u2066\u2069\u200f\u061c\u2028\u2029\u0085\r\u0000z\tok\n`, tty);
      assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
      assert.ok(out.endsWith('z\tok\n'));
      assert.ok(out.includes('\\x1b[2K') && out.includes('\\u202e') && out.includes('\\x9b'));
    }
  });
});
