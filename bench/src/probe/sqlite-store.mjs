#!/usr/bin/env node
// The SQLite store alone, without HTTP (issue 18): what one session read and one touch
// cost with N live sessions, so the page cache, mmap and sync settings can be compared
// in one process, interleaved, on the same file.
//
//   node bench/src/probe/sqlite-store.mjs [--sizes 1000,1000000] [--ops 20000] [--rounds 3]
//        [--dist path/to/index.js] [--variants default,...]
//
// A variant is a name and SqliteStore options (see VARIANTS). Reports µs per load() with no
// touch due (the steady state), and per load() with a touch due on every call.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { populateSqlite, sessions, spread } from '../harness/populate.mjs';

const { values: opt } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,1000000' },
    ops: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    hot: { type: 'string', default: '1000' },
    dist: { type: 'string' },
    variants: { type: 'string' },
    keep: { type: 'string' },
  },
});
const dist = opt.dist ? pathToFileURL(opt.dist).href : new URL('../../../packages/nest/dist/src/index.js', import.meta.url).href;
const { SqliteStore } = await import(dist);
const VARIANTS = {
  // The store's defaults, whatever they are in the build under test.
  default: {},
  // The SQLite library defaults from before the options existed (2 MiB cache, no mmap).
  small: { cacheSizeBytes: 2 * 1024 * 1024, mmapSizeBytes: 0 },
  mmap: { mmapSizeBytes: 256 * 1024 * 1024 },
  nocache: { cacheSizeBytes: 2 * 1024 * 1024 },
};
const variants = (opt.variants ?? 'default').split(',');
const OPS = Number(opt.ops);
const dir = opt.keep ?? mkdtempSync(join(os.tmpdir(), 'kw-sqlite-probe-'));
const now = Date.now();

for (const n of opt.sizes.split(',').map(Number)) {
  const file = join(dir, `probe-${n}.sqlite`);
  const sample = spread(n, Number(opt.hot));
  let keys;
  if (!existsSync(`${file}.keys.json`) || !opt.keep) {
    rmSync(file, { force: true });
    const t0 = Date.now();
    ({ keys } = await populateSqlite(file, sessions(n, { userOf: (i) => `u${i}`, sample, now, secret: 'x'.repeat(32) }), SqliteStore));
    writeFileSync(`${file}.keys.json`, JSON.stringify({ now, keys }));
    console.log(`${n}: populated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } else ({ keys } = JSON.parse(readFileSync(`${file}.keys.json`, 'utf8')));
  const hotKeys = keys.filter((_, i) => i >= 500 || n <= 500).map((k) => k.key);
  const use = hotKeys.length > 0 ? hotKeys : keys.map((k) => k.key);
  const stores = variants.map((v) => [v, new SqliteStore({ file, ...VARIANTS[v] })]);
  const results = new Map(variants.map((v) => [v, { read: [], touch: [] }]));
  const readPolicy = { now: Date.now(), touchAfterMs: Number.MAX_SAFE_INTEGER, idleMs: 3_600_000 };
  let at = Date.now();
  for (let round = 0; round < Number(opt.rounds); round++) {
    for (const [v, store] of round % 2 ? [...stores].reverse() : stores) {
      let t = performance.now();
      for (let i = 0; i < OPS; i++) await store.load(use[(i * 7919) % use.length], readPolicy);
      results.get(v).read.push(((performance.now() - t) * 1000) / OPS);
      // A touch due on every call: each one is a write transaction (commit, WAL append).
      const touches = Math.min(OPS, 2000);
      t = performance.now();
      for (let i = 0; i < touches; i++) {
        // Always later than the last touch, never past the populated sessions' deadlines.
        await store.load(use[(i * 7919) % use.length], { now: ++at, touchAfterMs: 0, idleMs: 3_600_000 });
      }
      results.get(v).touch.push(((performance.now() - t) * 1000) / touches);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [v, r] of results) console.log(`${n} ${v.padEnd(8)} read ${med(r.read).toFixed(1)} µs/op (${r.read.map((x) => x.toFixed(1)).join(' ')}), touch ${med(r.touch).toFixed(1)} µs/op (${r.touch.map((x) => x.toFixed(1)).join(' ')})`);
  for (const [, s] of stores) await s.close();
}
if (!opt.keep) rmSync(dir, { recursive: true, force: true });
