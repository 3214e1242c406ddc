import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretRing, generateSessionId } from '../src/index.js';

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;
const secret = (): string => randomBytes(32).toString('base64url');

/** Every other base64url character, so a one-character change is always a real change. */
function otherChar(c: string): string {
  return c === 'A' ? 'B' : 'A';
}

describe('generateSessionId', () => {
  it('returns 256 random bits as 43 base64url characters', () => {
    const id = generateSessionId();
    assert.equal(id.length, 43);
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    const bytes = Buffer.from(id, 'base64url');
    assert.equal(bytes.length, 32);
    assert.equal(bytes.toString('base64url'), id, 'canonical encoding of exactly 32 bytes');
  });

  it('never repeats in 10,000 IDs and uses every bit position', () => {
    const ids = Array.from({ length: 10_000 }, generateSessionId);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.equal(id.length, 43);
    // Each of the 256 bit positions is set in some IDs and clear in others: no stuck bits.
    const ones = new Array<number>(256).fill(0);
    for (const id of ids) {
      const b = Buffer.from(id, 'base64url');
      for (let i = 0; i < 256; i++) if (b[i >> 3]! & (0x80 >> (i & 7))) ones[i]!++;
    }
    for (const [i, n] of ones.entries()) assert.ok(n > 4_000 && n < 6_000, `bit ${i} set in ${n} of 10000 IDs`);
  });
});

describe('SecretRing', () => {
  it('signs as <id>.<sig> and verifies its own signature', () => {
    const ring = new SecretRing([secret()]);
    const id = generateSessionId();
    const value = ring.sign(id);
    assert.match(value, COOKIE_VALUE);
    assert.equal(value.slice(0, 43), id);
    assert.deepEqual(ring.verify(value), { sessionId: id, signedWithOldSecret: false });
  });

  it('is deterministic per secret and different across secrets', () => {
    const s = secret();
    const id = generateSessionId();
    assert.equal(new SecretRing([s]).sign(id), new SecretRing([s]).sign(id));
    assert.notEqual(new SecretRing([s]).sign(id), new SecretRing([secret()]).sign(id));
  });

  it('refuses an empty ring', () => {
    assert.throws(() => new SecretRing([]), TypeError);
  });

  it('rotation: signs with the newest secret and still verifies values signed with older ones', () => {
    const [oldest, old, newest] = [secret(), secret(), secret()];
    const id = generateSessionId();
    const signedOldest = new SecretRing([oldest]).sign(id);
    const signedOld = new SecretRing([old]).sign(id);
    const ring = new SecretRing([newest, old, oldest]);

    assert.deepEqual(ring.verify(signedOld), { sessionId: id, signedWithOldSecret: true });
    assert.deepEqual(ring.verify(signedOldest), { sessionId: id, signedWithOldSecret: true });
    const resigned = ring.sign(id);
    assert.notEqual(resigned, signedOld);
    assert.deepEqual(ring.verify(resigned), { sessionId: id, signedWithOldSecret: false });
    // The new signature is the newest secret's: a ring holding only that secret accepts it.
    assert.deepEqual(new SecretRing([newest]).verify(resigned), { sessionId: id, signedWithOldSecret: false });
    // Once the old secret is dropped from the ring, its signatures stop working.
    assert.equal(new SecretRing([newest]).verify(signedOld), null);
    assert.equal(new SecretRing([newest, old]).verify(signedOldest), null);
  });

  it('supports non-ASCII secrets', () => {
    const ring = new SecretRing(['ключ-🔑-' + secret()]);
    const value = ring.sign(generateSessionId());
    assert.ok(ring.verify(value));
  });

  it('rejects a value signed with another secret', () => {
    const value = new SecretRing([secret()]).sign(generateSessionId());
    assert.equal(new SecretRing([secret(), secret()]).verify(value), null);
  });

  it('rejects every single-character change of the ID or the signature', () => {
    const ring = new SecretRing([secret()]);
    const value = ring.sign(generateSessionId());
    let rejected = 0;
    for (let i = 0; i < value.length; i++) {
      if (i === 43) continue; // the dot
      const tampered = value.slice(0, i) + otherChar(value[i]!) + value.slice(i + 1);
      assert.equal(ring.verify(tampered), null, `changed position ${i}`);
      rejected++;
    }
    assert.equal(rejected, 86);
  });

  it('rejects a signature swapped in from another session', () => {
    const ring = new SecretRing([secret()]);
    const a = ring.sign(generateSessionId());
    const b = ring.sign(generateSessionId());
    assert.equal(ring.verify(a.slice(0, 44) + b.slice(44)), null);
  });

  it('rejects a non-canonical base64url signature that decodes to the same bytes', () => {
    const ring = new SecretRing([secret()]);
    const value = ring.sign(generateSessionId());
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(value.at(-1)!);
    // 43 characters carry 258 bits for 256: the low 2 bits of the last one are padding.
    const variants = [0, 1, 2, 3].map((low) => alphabet[(last & ~3) | low]!).filter((c) => c !== value.at(-1));
    assert.equal(variants.length, 3);
    for (const c of variants) {
      const malleable = value.slice(0, -1) + c;
      assert.deepEqual(Buffer.from(malleable.slice(44), 'base64url'), Buffer.from(value.slice(44), 'base64url'));
      assert.equal(ring.verify(malleable), null);
    }
  });

  it('rejects every truncation and every extension', () => {
    const ring = new SecretRing([secret()]);
    const value = ring.sign(generateSessionId());
    for (let n = 0; n < value.length; n++) assert.equal(ring.verify(value.slice(0, n)), null, `first ${n} characters`);
    for (let n = 1; n < value.length; n++) assert.equal(ring.verify(value.slice(n)), null, `without the first ${n}`);
    for (const extra of ['A', '=', '==', '.', ' ', '\t', ';x=1']) assert.equal(ring.verify(value + extra), null, JSON.stringify(extra));
  });

  it('rejects hostile values: oversized, unicode, CR/LF, NUL, standard base64, padding, whitespace', () => {
    const ring = new SecretRing([secret()]);
    const value = ring.sign(generateSessionId());
    const hostile: Record<string, string> = {
      empty: '',
      dot: '.',
      'oversized 10 KB': value + 'A'.repeat(10_240),
      'oversized 1 MB': 'A'.repeat(1 << 20),
      'signature repeated': `${value}.${value.slice(44)}`,
      'no dot': value.replace('.', ''),
      'two dots': value.replace('.', '..').slice(0, 87),
      'dot moved': value.slice(0, 42) + '.' + value[42] + value.slice(44),
      'unicode in id': 'é' + value.slice(1),
      'unicode lookalike': value.slice(0, 10) + '\u0410' + value.slice(11), // Cyrillic A
      'fullwidth letter': value.slice(0, 5) + '\uFF21' + value.slice(6),
      'emoji (surrogate pair keeps the length)': value.slice(0, 10) + '😀' + value.slice(12),
      'CR/LF': value.slice(0, 20) + '\r\n' + value.slice(22),
      'header injection': value.slice(0, 80) + '\r\nX:1',
      NUL: value.slice(0, 30) + '\0' + value.slice(31),
      'trailing NUL': value + '\0',
      'standard base64 +': value.slice(0, 5) + '+' + value.slice(6),
      'standard base64 /': value.slice(0, 50) + '/' + value.slice(51),
      'padding in signature': value.slice(0, 86) + '=',
      'leading space': ' ' + value.slice(1),
      'trailing space': value.slice(0, 86) + ' ',
      'quoted': `"${value.slice(1, 86)}"`,
      'percent-encoded': value.slice(0, 40) + '%41' + value.slice(43),
      'express signed prefix': 's:' + value.slice(2),
      'JSON cookie': 'j:' + JSON.stringify({ id: value }).slice(0, 85),
    };
    for (const [name, v] of Object.entries(hostile)) assert.equal(ring.verify(v), null, name);
  });

  it('verifies a value as a whole: no prefix or suffix of a valid value is accepted inside a longer one', () => {
    const ring = new SecretRing([secret()]);
    const a = ring.sign(generateSessionId());
    const b = ring.sign(generateSessionId());
    assert.equal(ring.verify(a + b), null);
    assert.equal(ring.verify(`${a};${b}`), null);
  });
});
