import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findSessionCookie } from '../src/session/session-cookie.js';

// Issue 23, point 3: the Cookie header parser was quadratic (a 15 KB header sent without a
// session cost ~7 ms: every pair searched the rest of the header again for '=' and for the
// cookie's name). Its work is counted here in characters scanned by String#indexOf, which is
// deterministic, instead of timing it.

/** A straightforward reference: split on ';', then on the first '='. */
function reference(header: string, name: string): ReturnType<typeof findSessionCookie> {
  if (header.length > 16 * 1024) return { kind: 'ambiguous' };
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let v = pair.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    values.push(v);
  }
  if (values.length === 0) return { kind: 'none' };
  return values.length === 1 ? { kind: 'one', value: values[0]! } : { kind: 'ambiguous' };
}

describe('findSessionCookie is linear in the Cookie header (regression: quadratic parser)', () => {
  const original = String.prototype.indexOf;
  let scanned = 0;
  beforeEach(() => {
    scanned = 0;
    // Counts what each search reads: from its start to its hit, or to the end when it misses.
    String.prototype.indexOf = function (this: string, search: string, from?: number): number {
      const start = Math.max(0, Math.trunc(from ?? 0));
      const at = original.call(this, search, start);
      scanned += (at < 0 ? this.length : at + search.length) - start;
      return at;
    };
  });
  afterEach(() => {
    String.prototype.indexOf = original;
  });

  const name = '__Host-sid';
  const near16k = (unit: string, tail = ''): string => unit.repeat(Math.floor((16 * 1024 - tail.length) / unit.length)) + tail;
  const hostile: Array<[string, string]> = [
    ['pairs without "="', near16k('a;')],
    ['pairs whose names never contain the cookie name', near16k('x=1;')],
    ['one "=" at the very end', near16k('a;', 'b=c')],
    ['the cookie name only in the last value', near16k('k=v;', `z=${name}`)],
    ['the cookie name in every value, never as a name', near16k(`k=${name};`)],
    ['the session cookie last, after a long header', near16k('k=v;', `${name}=abc.def`)],
  ];
  for (const [what, header] of hostile) {
    it(`${what}: at most 3 characters scanned per header character (${header.length} bytes)`, () => {
      const r = findSessionCookie(header, name);
      const work = scanned;
      String.prototype.indexOf = original;
      assert.deepEqual(r, reference(header, name));
      assert.ok(work <= 3 * header.length, `scanned ${work} characters for a ${header.length}-character header (quadratic: ~${Math.round(header.length ** 2 / 4)})`);
    });
  }

  it('a header over 16 KB is refused without being read', () => {
    const r = findSessionCookie(near16k('a;') + ';'.repeat(64), name);
    assert.equal(r.kind, 'ambiguous');
    assert.equal(scanned, 0);
  });
});

describe('findSessionCookie agrees with a split-based reference (20,000 cases)', () => {
  it('same verdict and value', () => {
    const piece = fc.oneof(fc.constantFrom('sid', ' sid', 'sid ', 'si', 'd', '=', ';', ' ', '"', 'x', 'sidsid'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const header = parts.join('');
        assert.deepEqual(findSessionCookie(header, 'sid'), reference(header, 'sid'));
      }),
      { numRuns: 20_000, seed: 20261207 },
    );
  });
});
