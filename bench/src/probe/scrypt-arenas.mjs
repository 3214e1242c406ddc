// Does password hashing explain the soak's step in native memory? The demo hashes logins
// with scrypt (N=16384, r=8: 16 MiB of work memory per call) on libuv's thread pool; glibc
// gives each thread its own malloc arena and keeps freed blocks there. This runs logins'
// worth of scrypt calls (4 at a time, like the pool) and reports RSS outside the V8 heap.
//   node bench/src/probe/scrypt-arenas.mjs [calls]
//   MALLOC_ARENA_MAX=2 node bench/src/probe/scrypt-arenas.mjs [calls]
import { scrypt } from 'node:crypto';

const calls = Number(process.argv[2] ?? 200);
const mib = (b) => Math.round(b / 1048576);
const native = () => {
  const m = process.memoryUsage();
  return { rss: mib(m.rss), other: mib(m.rss - m.heapTotal - m.external) };
};
const before = native();
const one = () => new Promise((ok, ko) => scrypt('password', 'salt-salt-salt-s', 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (e, k) => (e ? ko(e) : ok(k))));
for (let i = 0; i < calls; i += 16) await Promise.all(Array.from({ length: Math.min(16, calls - i) }, one));
await new Promise((r) => setTimeout(r, 500));
console.log(JSON.stringify({ calls, arenaMax: process.env.MALLOC_ARENA_MAX ?? 'default', before, after: native() }));
