// Memory sampler preloaded into a process under test (`node --import <this file> app.js`),
// used by scripts/soak.mjs --mem-every. Every MEM_PROBE_MS (default 10 s) it appends one
// JSON line to MEM_PROBE_FILE: process.memoryUsage() (rss, heapTotal, heapUsed, external,
// arrayBuffers), V8's malloced memory, the process's anonymous memory and thread count
// (/proc/self), so growth outside the V8 heap can be told apart from the heap's own. The
// timer is unref'd: it never keeps the process alive. Touches nothing else.
// MEM_PROBE_SNAPSHOTS=S,S (with MEM_PROBE_SNAPSHOT_DIR) also writes a V8 heap snapshot S
// seconds after start (no signal: Nest's enableShutdownHooks() treats SIGUSR2 as a shutdown).
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';

const file = process.env.MEM_PROBE_FILE;
const every = Number(process.env.MEM_PROBE_MS ?? 10_000);
const t0 = Date.now();

function proc(name, re) {
  try {
    const m = re.exec(readFileSync(`/proc/self/${name}`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function sample() {
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  const line = {
    t: Math.round((Date.now() - t0) / 1000),
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    mallocedV8: h.malloced_memory,
    anon: (proc('smaps_rollup', /^Anonymous:\s+(\d+) kB/m) ?? 0) * 1024,
    threads: proc('status', /^Threads:\s+(\d+)/m),
  };
  try {
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  } catch {
    // the soak's folder is gone: stop quietly
  }
}

if (file) {
  sample();
  setInterval(sample, every).unref();
}
const snapshotDir = process.env.MEM_PROBE_SNAPSHOT_DIR ?? '.';
for (const [i, s] of (process.env.MEM_PROBE_SNAPSHOTS ?? '').split(',').filter(Boolean).map(Number).entries()) {
  setTimeout(() => v8.writeHeapSnapshot(join(snapshotDir, `mem-${i + 1}-${s}s.heapsnapshot`)), s * 1000).unref();
}
