import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { liveSecrets } from '../src/index.js';
import { FORMS_CACHE_LIMITS, formsCacheStats, scrubBuffer, secretForms } from '../src/proxy/scrub.js';

// Regression (issue 18, the soak's memory outside the V8 heap): the proxy kept a byte copy
// of every form of every key it had used (Buffer.from per form: slices of Node's shared
// 8 KiB pool, each pinning its slab with whatever else was allocated in it) for up to 10,000
// keys, revoked ones included. The bytes are now one exact-size allocation per key, the
// cache follows the redaction registry (a forgotten key leaves it) and is bounded in bytes
// as well as keys.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const key = (n = 43): string => `mk_${randomBytes(n).toString('base64url').slice(0, n)}`;

describe('proxy key forms: memory bounds', () => {
  it('keeps only the bytes of each cached key\'s forms (pooled copies kept whole slabs alive)', () => {
    const body = Buffer.from(JSON.stringify({ items: [1, 2, 3], note: 'no key in here' }));
    const keep: unknown[] = [];
    const N = 3000;
    gc();
    gc();
    const before = process.memoryUsage().arrayBuffers;
    let formBytes = 0;
    for (let i = 0; i < N; i++) {
      // What a proxied call allocates around the scrub: pooled buffers (a small answer body).
      keep.push(Buffer.from(`GET /items?x=${i} ${'x'.repeat(2000)}`).length);
      const forms = secretForms(key());
      formBytes += forms.reduce((n, f) => n + Buffer.byteLength(f), 0);
      assert.equal(scrubBuffer(body, forms).hits, 0);
      keep.push(forms);
    }
    gc();
    gc();
    const perKey = (process.memoryUsage().arrayBuffers - before) / N;
    const ownPerKey = formBytes / N;
    assert.ok(perKey < ownPerKey * 1.1 + 16, `ArrayBuffer bytes kept per cached key: ${perKey.toFixed(0)}, its forms take ${ownPerKey.toFixed(0)}`);
    assert.ok(keep.length > 0);
  });

  it('a key the redaction registry forgets (a revoked minted key) leaves the forms cache', () => {
    const k = key();
    liveSecrets.add(k);
    secretForms(k);
    const { entries, bytes } = formsCacheStats();
    assert.equal(liveSecrets.forget(k), true);
    assert.equal(formsCacheStats().entries, entries - 1);
    assert.ok(formsCacheStats().bytes < bytes);
  });

  it('is bounded in bytes as well as keys (long keys)', () => {
    for (let i = 0; i < 1200; i++) secretForms(key(1000));
    const { entries, bytes } = formsCacheStats();
    assert.ok(bytes <= FORMS_CACHE_LIMITS.bytes, `${bytes} counted bytes`);
    assert.ok(entries < 1200, `${entries} keys kept`);
  });

  it('still scrubs every occurrence of a key whose UTF-8 length differs from its length in characters', () => {
    const k = `clé-secrète-${randomBytes(8).toString('hex')}-ü`;
    const forms = secretForms(k);
    const body = Buffer.from(`{"a":"${k}","b":"${k}","c":"${Buffer.from(k).toString('base64')}"}`);
    const out = scrubBuffer(body, forms);
    assert.equal(out.hits, 3);
    assert.equal(out.body.toString(), '{"a":"[REDACTED]","b":"[REDACTED]","c":"[REDACTED]"}');
  });
});
