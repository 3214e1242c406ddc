import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RedactionCapacityError, encodedForms, logId } from '../src/index.js';
import { LiveSecrets } from '../src/redaction/live-secrets.js';
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

  // Regression (issue 18): the byte bound counted 1,838 bytes for a 43-character key that
  // takes about 2,600 on the heap (and 5,498 for a 200-character one that takes 4,300), so
  // "32 MiB" meant 45 MiB for ordinary keys. The count now follows the measured heap.
  it('the counted bytes are the heap bytes an entry takes, within 15%, for a short and a long key', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const length of [43, 200]) {
      const N = 4000;
      const keys = Array.from({ length: N }, () => randomBytes(length).toString('base64url').slice(0, length));
      const l = new LiveSecrets({ capacity: N + 1, maxBytes: 2 ** 40 });
      gc();
      gc();
      const before = process.memoryUsage().heapUsed;
      for (const k of keys) l.add(k);
      gc();
      gc();
      const heapPerKey = (process.memoryUsage().heapUsed - before) / N;
      const countedPerKey = l.stats().runtimeBytes / N;
      assert.ok(Math.abs(countedPerKey / heapPerKey - 1) < 0.15, `${length}-character keys: ${countedPerKey.toFixed(0)} counted, ${heapPerKey.toFixed(0)} on the heap`);
      assert.equal(l.size, N);
    }
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
    const l = new LiveSecrets({ perUser: 2, userCapacity: 3, userIdleMs: 1000 }, () => now);
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

  // Regression (issue 18): a value that can no longer be used (a revoked minted key) stayed
  // until capacity pushed it out; the registry grew with every login, not with live keys.
  it('forget() and forgetTagged() drop a run-time value at once, never a pinned or a user-held one', () => {
    const l = new LiveSecrets();
    l.add('pinned-config-secret-0001', { pinned: true });
    l.add('minted-key-value-0001', { tag: 'mk:a:1' });
    l.add('minted-key-value-0002', { tag: 'mk:a:2' });
    l.hold('slot-1', 'user-1', 'user-own-key-0000000001');
    assert.equal(l.stats().runtime, 2);
    assert.equal(l.stats().tags, 2);

    assert.equal(l.forgetTagged('mk:a:1'), true);
    assert.equal(l.scrub('minted-key-value-0001'), 'minted-key-value-0001', 'no longer tracked');
    assert.equal(l.scrub('minted-key-value-0002'), '[REDACTED]', 'the other one is');
    assert.equal(l.forgetTagged('mk:a:1'), false, 'already gone');
    assert.equal(l.forget('minted-key-value-0002'), true);
    assert.deepEqual([l.stats().runtime, l.stats().runtimeBytes, l.stats().tags], [0, 0, 0], 'counts and bytes return to zero');

    assert.equal(l.forget('pinned-config-secret-0001'), false);
    assert.equal(l.forget('user-own-key-0000000001'), false);
    assert.equal(l.scrub('pinned-config-secret-0001 user-own-key-0000000001'), '[REDACTED] [REDACTED]');
  });

  it('a tag names one value: re-tagging keeps the earlier value scrubbed, untagged', () => {
    const l = new LiveSecrets();
    l.add('minted-key-value-0001', { tag: 't' });
    l.add('minted-key-value-0002', { tag: 't' });
    assert.equal(l.forgetTagged('t'), true);
    assert.equal(l.scrub('minted-key-value-0002'), 'minted-key-value-0002');
    assert.equal(l.scrub('minted-key-value-0001'), '[REDACTED]', 'never forgotten by another value\'s tag');
    // An evicted value takes its tag with it.
    const small = new LiveSecrets(1);
    small.add('minted-key-value-0003', { tag: 'x' });
    small.add('minted-key-value-0004');
    assert.equal(small.stats().tags, 0);
    assert.equal(small.forgetTagged('x'), false);
  });

  it('onForget() hears each string value that leaves: forgotten, evicted, released', () => {
    const l = new LiveSecrets(2);
    const heard: string[] = [];
    const off = l.onForget((v) => heard.push(v));
    l.add('minted-key-value-0001');
    l.add('minted-key-value-0002');
    l.add('minted-key-value-0003'); // evicts 0001
    l.forget('minted-key-value-0002');
    l.hold('slot-1', 'user-1', 'user-own-key-0000000001');
    l.release('slot-1');
    assert.deepEqual(heard, ['minted-key-value-0001', 'minted-key-value-0002', 'user-own-key-0000000001']);
    off();
    l.forget('minted-key-value-0003');
    assert.equal(heard.length, 3, 'a removed listener hears nothing');
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
