// What one entry of the redaction registry really costs on the V8 heap, against what the
// registry counts for it (packages/nest/src/redaction/live-secrets.ts, issue 18): adds N
// keys of a given length to a fresh registry and reports heap bytes per key (after a full
// GC) and the counted bytes per key, so the registry's byte bound can be set in real bytes.
//   node --expose-gc bench/src/probe/mem-registry.mjs [N] [keyLength]
import { randomBytes } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const { LiveSecrets } = await import(pathToFileURL(join(root, 'packages/nest/dist/src/redaction/live-secrets.js')).href);
const N = Number(process.argv[2] ?? 20_000);
const length = Number(process.argv[3] ?? 43);
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const keys = Array.from({ length: N }, () => randomBytes(Math.ceil(length * 0.75)).toString('base64url').slice(0, length));
const l = new LiveSecrets({ capacity: N + 1, maxBytes: 2 ** 40 });
const h0 = heap();
for (const k of keys) l.add(k);
const h1 = heap();
const { runtime, runtimeBytes } = l.stats();
console.log(JSON.stringify({ keys: N, keyLength: length, tracked: runtime, heapBytesPerKey: Math.round((h1 - h0) / N), countedBytesPerKey: Math.round(runtimeBytes / runtime), heapMiBForAll: +((h1 - h0) / 1048576).toFixed(1) }));
