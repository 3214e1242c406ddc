// Does password hashing explain the soak's step in native memory? The demo hashes logins
// with scrypt (apps/demo/src/auth/password-hasher.ts: N=2^13, r=8, p=10, 8 MiB of work
// memory per call; it was N=2^14, r=8, p=1, 16 MiB, before issue 18) on libuv's thread pool;
// glibc gives each thread its own malloc arena and keeps freed blocks there. This runs logins'
// worth of scrypt calls (`at` at a time) and reports RSS outside the V8 heap.
//   node bench/src/probe/scrypt-arenas.mjs [calls] [at] [log2N] [p]
//   MALLOC_MMAP_THRESHOLD_=131072 node bench/src/probe/scrypt-arenas.mjs [calls]
//   MALLOC_ARENA_MAX=2 node bench/src/probe/scrypt-arenas.mjs [calls]
import { scrypt } from 'node:crypto';

const calls = Number(process.argv[2] ?? 200);
const at = Number(process.argv[3] ?? 16);
const N = 2 ** Number(process.argv[4] ?? 13);
const p = Number(process.argv[5] ?? 10);
const mib = (b) => Math.round(b / 1048576);
const native = () => {
  const m = process.memoryUsage();
  return { rss: mib(m.rss), other: mib(m.rss - m.heapTotal - m.external) };
};
const before = native();
const one = () => new Promise((ok, ko) => scrypt('password', 'salt-salt-salt-s', 32, { N, r: 8, p, maxmem: 256 * 1024 * 1024 }, (e, k) => (e ? ko(e) : ok(k))));
for (let i = 0; i < calls; i += at) await Promise.all(Array.from({ length: Math.min(at, calls - i) }, one));
await new Promise((r) => setTimeout(r, 500));
console.log(JSON.stringify({ calls, at, N, r: 8, p, workMiB: (128 * N * 8) / 1048576, arenaMax: process.env.MALLOC_ARENA_MAX ?? 'default', mmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? 'dynamic', before, after: native() }));
