// Where the soak's arrayBuffers growth comes from (issue 18): the proxy's byte forms of each
// key (packages/nest/src/proxy/scrub.ts: secretForms() caches up to 10,000 form lists, and
// scrubBuffer() encodes each list once with Buffer.from per form). Small Buffer.from results
// are slices of Node's shared 8 KiB pool, so a cached form keeps its whole slab alive, with
// whatever else was allocated in it. This replays what the proxy does for N distinct keys
// (one call per key, with the request's own small buffers in between) and reports the
// arrayBuffers retained per key, then the same with one dedicated allocation per list.
//   node --expose-gc bench/src/probe/scrub-buffers.mjs [N]
import { randomBytes } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const { secretForms, scrubBuffer } = await import(pathToFileURL(join(root, 'packages/nest/dist/src/proxy/scrub.js')).href);
const N = Number(process.argv[2] ?? 5000);
const ab = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().arrayBuffers;
};
const noise = () => {
  // what a proxied call allocates around the scrub: header values, a small body
  const junk = [Buffer.from(`GET /items?x=${Math.random()}`), Buffer.from('{"ok":true,"items":[1,2,3]}'), Buffer.from(randomBytes(16).toString('hex'))];
  return junk.length;
};
const body = Buffer.from(JSON.stringify({ items: [1, 2, 3], note: 'no key in here' }));

const a0 = ab();
const keep = [];
for (let i = 0; i < N; i++) {
  noise();
  const forms = secretForms(`mk_${randomBytes(24).toString('base64url')}`);
  scrubBuffer(body, forms);
  keep.push(forms); // the cache holds them (up to 10,000); keep a reference so the figure does not depend on eviction
  noise();
}
const a1 = ab();

// The bound proposed: one exact-size, unpooled allocation per form list.
const cache = new Map();
function bytesOf(forms) {
  let b = cache.get(forms);
  if (!b) {
    const total = forms.reduce((n, f) => n + Buffer.byteLength(f), 0);
    const slab = Buffer.allocUnsafeSlow(total);
    let at = 0;
    b = forms.map((f) => {
      const n = slab.write(f, at);
      const s = slab.subarray(at, at + n);
      at += n;
      return s;
    });
    cache.set(forms, b);
  }
  return b;
}
const b0 = ab();
const keep2 = [];
for (let i = 0; i < N; i++) {
  noise();
  const forms = Object.freeze(['x'.repeat(8)].concat(Array.from({ length: 11 }, () => randomBytes(33).toString('base64'))));
  bytesOf(forms);
  keep2.push(forms);
  noise();
}
const b1 = ab();
console.log(JSON.stringify({
  keys: N,
  formsPerKey: keep[0].length,
  formBytesPerKey: keep[0].reduce((n, f) => n + f.length, 0),
  pooledRetainedPerKey: Math.round((a1 - a0) / N),
  unpooledRetainedPerKey: Math.round((b1 - b0) / N),
}));
