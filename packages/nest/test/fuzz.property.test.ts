import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryStore, SecretRing, checkOrigin, generateSessionId, normalizeProxyPath, resolveKeywardOptions, KeywardConfigError } from '../src/index.js';
import { findSessionCookie } from '../src/session/session-cookie.js';
import { isForbiddenHeader } from '../src/proxy/proxy-options.js';

/** Property-based tests of every parser on the request path. Case counts add up to > 100,000. */
const counts: Record<string, number> = {};
function run<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, check: (v: T) => void): void {
  fc.assert(fc.property(arb, (v) => check(v)), { numRuns, seed: 20261126 });
  counts[name] = numRuns;
}

const ring = new SecretRing(['a-strong-secret-for-fuzzing-0123456789', 'an-older-secret-for-fuzzing-9876543210']);
const hostile = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: fc.constantFrom('.', '/', '\\', '%', '2', 'e', 'f', '5', 'c', '0', 'd', 'a', ':', '@', '?', '#', ';', '\r', '\n', '\0', 'A', '~'), maxLength: 60 }),
);

describe('property: cookie signing and parsing', () => {
  it('never accepts a value that was not signed by the ring (40,000 cases)', () => {
    run('cookie-verify-random', hostile, 20_000, (v) => {
      assert.equal(ring.verify(v), null);
    });
    run('cookie-verify-mutated', fc.tuple(fc.nat({ max: 86 }), fc.integer({ min: 1, max: 255 })), 20_000, ([pos, delta]) => {
      const signed = ring.sign(generateSessionId());
      const chars = [...signed];
      const code = chars[pos]!.charCodeAt(0);
      chars[pos] = String.fromCharCode((code + delta) % 256);
      const mutated = chars.join('');
      if (mutated !== signed) assert.equal(ring.verify(mutated), null);
    });
  });

  it('round-trips every freshly signed ID (5,000 cases)', () => {
    run('cookie-roundtrip', fc.constant(null), 5_000, () => {
      const id = generateSessionId();
      assert.deepEqual(ring.verify(ring.sign(id)), { sessionId: id, signedWithOldSecret: false });
    });
  });

  it('cookie header parsing never throws and never yields a value containing ; or a name clash (15,000 cases)', () => {
    run('cookie-header', fc.oneof(hostile, fc.array(fc.tuple(fc.constantFrom('sid', 'x', ' sid', 'sid '), hostile), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('; '))), 15_000, (header) => {
      const r = findSessionCookie(header, 'sid');
      if (r.kind === 'one') assert.ok(!r.value.includes(';'));
    });
  });
});

describe('property: proxy path normaliser', () => {
  it('every accepted path stays below the base and carries no dot segment or separator (30,000 cases)', () => {
    run('proxy-path', hostile, 30_000, (raw) => {
      const v = normalizeProxyPath(raw);
      if (!v.ok) return;
      const base = new URL('https://api.example.com/v1/');
      const target = new URL(`${base.origin}${base.pathname}${v.path}${v.query ? `?${v.query}` : ''}`);
      assert.equal(target.origin, base.origin);
      assert.ok(target.pathname.startsWith('/v1/'), target.pathname);
      for (const seg of v.path.split('/')) {
        const d = decodeURIComponent(seg);
        assert.ok(d !== '.' && d !== '..' && !/[/\\\0\r\n]/.test(d));
      }
    });
  });
});

describe('property: header filtering and origin policy', () => {
  it('hop-by-hop, credential and proxy headers are always forbidden, in any case (5,000 cases)', () => {
    const names = ['cookie', 'authorization', 'x-csrf', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'proxy-authorization', 'set-cookie', 'host'];
    run('forbidden-headers', fc.tuple(fc.constantFrom(...names), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 })), 5_000, ([name, upper]) => {
      const mixed = [...name].map((c, i) => (upper[i % 20] ? c.toUpperCase() : c)).join('');
      assert.equal(isForbiddenHeader(mixed), true);
    });
  });

  it('a request without the CSRF header or from a foreign origin is never accepted (10,000 cases)', () => {
    const policy = { allowedOrigins: new Set<string>(), csrfHeader: { name: 'x-csrf', value: '1' } };
    run('origin-policy', fc.record({ site: fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', 'bogus')), origin: fc.option(fc.oneof(fc.constant('https://app.example'), fc.constant('null'), fc.webUrl())), csrf: fc.option(fc.constantFrom('1', '0', '', 'true')), method: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH') }), 10_000, (r) => {
      const headers: Record<string, string> = {};
      if (r.site !== null) headers['sec-fetch-site'] = r.site;
      if (r.origin !== null) headers.origin = r.origin;
      if (r.csrf !== null) headers['x-csrf'] = r.csrf;
      const v = checkOrigin(r.method, headers, 'https://app.example', policy);
      // Sec-Fetch-Site same-origin is set by the browser itself; otherwise the Origin must be ours.
      const sameOrigin = r.site === 'same-origin' || ((r.site === null || r.site === 'same-site' || r.site === 'cross-site') && r.origin === 'https://app.example');
      if (v.ok) assert.ok(sameOrigin && r.csrf === '1');
      else if (sameOrigin && r.csrf === '1') assert.fail('a same-origin request with the header was refused');
    });
  });
});

describe('property: option validation', () => {
  it('any option value is either accepted or refused with a KeywardConfigError, never a crash (5,000 cases)', () => {
    const anything = fc.oneof(fc.anything(), fc.constantFrom(NaN, Infinity, -1, 0, 2 ** 60, 'strict', 'Strict', null), fc.bigInt());
    run('options', fc.record({ idleTimeoutMs: anything, absoluteTimeoutMs: anything, touchIntervalMs: anything, cookie: fc.oneof(anything, fc.record({ name: anything, sameSite: anything, path: anything, secure: anything })) }, { requiredKeys: [] }), 5_000, (session) => {
      try {
        resolveKeywardOptions({ session: { secrets: ['a-strong-secret-for-fuzzing-0123456789'], store: new MemoryStore(), ...session } }, {});
      } catch (e) {
        assert.ok(e instanceof KeywardConfigError, String(e));
        assert.ok(e.problems.length > 0);
      }
    });
  });
});

describe('property: totals', () => {
  it('ran at least 100,000 generated cases', () => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`property cases: ${total} (${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(', ')})`);
    assert.ok(total >= 100_000, `only ${total} cases`);
  });
});
