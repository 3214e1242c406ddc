#!/usr/bin/env node
// The expiry sweep alone, in one process with no other load (issue 18, point 2): how long
// the event loop is held at a stretch while SessionService.sweep() ends N expired sessions.
//
//   node bench/src/probe/sweep-slices.mjs --store sqlite|redis [--expired 100000]
//        [--redis-url redis://127.0.0.1:port/db] [--dist path/to/index.js] [--json]
//
// Two views of the same sweep:
// - the longest synchronous stretch: the largest gap between two turns of the event loop
//   (a setImmediate chain timed with performance.now, so sub-millisecond), i.e. the most time
//   any request arriving during the sweep could have waited for the loop. On a shared
//   machine part of a stretch is the kernel running other processes: the main thread's
//   /proc schedstat (ns on a CPU, ns waiting for one) splits each stretch into the sweep's
//   own work and that wait, and the longest on-CPU stretch is reported too;
// - perf_hooks.monitorEventLoopDelay (resolution 1 ms, as the app's own probe uses): max and p99.
// Sessions are written straight into the store in Keyward's record format (populate.mjs),
// all expired a minute ago, each with its own user.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { populateRedis, populateSqlite, sessions } from '../harness/populate.mjs';

const { values: opt } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    expired: { type: 'string', default: '100000' },
    'redis-url': { type: 'string' },
    dist: { type: 'string' },
    json: { type: 'boolean', default: false },
    // Experiment: SQLite's wal_autocheckpoint (pages) on the store's connection (default 1000).
    autocheckpoint: { type: 'string' },
    // Experiment: stop the store's checkpoint thread (the WAL then grows for the whole sweep).
    'no-checkpointer': { type: 'boolean', default: false },
  },
});
const dist = opt.dist ? pathToFileURL(opt.dist).href : new URL('../../../packages/nest/dist/src/index.js', import.meta.url).href;
const kw = await import(dist);
const N = Number(opt.expired);
const dir = mkdtempSync(join(os.tmpdir(), 'kw-sweep-probe-'));
const secret = Buffer.alloc(32, 7).toString('base64url');

let store;
let cleanup = async () => {};
const t0 = Date.now();
if (opt.store === 'sqlite') {
  const file = join(dir, 'sweep.sqlite');
  await populateSqlite(file, sessions(N, { userOf: (i) => `x${i}`, expired: true }), kw.SqliteStore);
  store = new kw.SqliteStore({ file });
  if (opt['no-checkpointer']) await store.checkpointer?.close();
  if (opt.autocheckpoint !== undefined) store.db.pragma(`wal_autocheckpoint = ${Number(opt.autocheckpoint)}`);
} else if (opt.store === 'redis') {
  if (!opt['redis-url']) throw new Error('--store redis needs --redis-url redis://127.0.0.1:<port>/<db> (an empty database: it is flushed)');
  const require = createRequire(new URL('../../../packages/nest/package.json', import.meta.url));
  const { Redis } = require('ioredis');
  const client = new Redis(opt['redis-url']);
  await client.flushdb();
  await populateRedis(client, sessions(N, { userOf: (i) => `x${i}`, expired: true }));
  client.disconnect();
  store = new kw.RedisStore({ url: opt['redis-url'] });
  cleanup = async () => {
    const c = new Redis(opt['redis-url']);
    await c.flushdb();
    c.disconnect();
  };
} else throw new Error(`--store: sqlite or redis, not ${opt.store}`);
const populateS = (Date.now() - t0) / 1000;

const options = kw.resolveKeywardOptions({ session: { secrets: [secret], store, sweepIntervalMs: 0 } });
const engine = new kw.SessionEngine(options.session, { emit: () => {} });
const service = new kw.SessionService(engine);

// Let the store settle (connection, first statements) before measuring.
await store.ping();
await new Promise((r) => setTimeout(r, 200));

const eld = monitorEventLoopDelay({ resolution: 1 });
// The main thread's time on a CPU and waiting for one, in ns (Linux; zeros elsewhere).
const SCHED = `/proc/self/task/${process.pid}/schedstat`;
const sched = existsSync(SCHED) ? () => readFileSync(SCHED, 'utf8').split(' ').slice(0, 2).map(Number) : () => [0, 0];
const stretches = [];
let last = performance.now();
let [lastRun, lastWait] = sched();
let running = true;
const turn = () => {
  const now = performance.now();
  const [run, wait] = sched();
  stretches.push({ wall: now - last, cpu: (run - lastRun) / 1e6, waitCpu: (wait - lastWait) / 1e6 });
  last = performance.now(); // the read of /proc is not the sweep's
  [lastRun, lastWait] = sched();
  if (running) setImmediate(turn);
};
eld.enable();
setImmediate(turn);
const start = performance.now();
const ended = await service.sweep();
const ms = performance.now() - start;
running = false;
eld.disable();
const walBytes = opt.store === 'sqlite' && existsSync(join(dir, 'sweep.sqlite-wal')) ? readFileSync(join(dir, 'sweep.sqlite-wal')).length : 0;
await store.close();
await cleanup();
rmSync(dir, { recursive: true, force: true });

const gaps = stretches.map((x) => x.wall).sort((a, b) => a - b);
const q = (p) => gaps[Math.min(gaps.length - 1, Math.floor((p / 100) * gaps.length))];
const longest = stretches.reduce((a, b) => (b.wall > a.wall ? b : a));
const longestCpu = stretches.reduce((a, b) => (b.cpu > a.cpu ? b : a));
const out = {
  store: opt.store,
  expired: N,
  ended,
  populateS,
  sweepMs: Math.round(ms),
  perSessionUs: (ms * 1000) / Math.max(1, ended),
  turns: gaps.length,
  longestStretchMs: longest.wall,
  // Of the longest stretch: time the main thread ran, and time it waited for a CPU.
  longestStretchCpuMs: longest.cpu,
  longestStretchWaitMs: longest.waitCpu,
  // The stretch in which the sweep itself ran longest on a CPU.
  longestCpuStretchMs: longestCpu.cpu,
  longestCpuStretchWallMs: longestCpu.wall,
  stretchP99Ms: q(99),
  runqueueWaitMs: stretches.reduce((n, x) => n + x.waitCpu, 0),
  walBytes,
  eldMaxMs: eld.max / 1e6,
  eldP99Ms: eld.percentile(99) / 1e6,
};
if (opt.json) console.log(JSON.stringify(out));
else
  console.log(
    `${out.store}: ended ${ended} of ${N} in ${out.sweepMs} ms (${out.perSessionUs.toFixed(0)} µs/session); longest synchronous stretch ${out.longestStretchMs.toFixed(1)} ms ` +
      `(on a CPU ${out.longestStretchCpuMs.toFixed(1)}, waiting for one ${out.longestStretchWaitMs.toFixed(1)}; p99 ${out.stretchP99Ms.toFixed(1)} over ${out.turns} turns); ` +
      `longest on a CPU ${out.longestCpuStretchMs.toFixed(1)} ms (of ${out.longestCpuStretchWallMs.toFixed(1)}); runqueue wait ${out.runqueueWaitMs.toFixed(0)} ms in all; event-loop delay max ${out.eldMaxMs.toFixed(1)} / p99 ${out.eldP99Ms.toFixed(1)} ms`,
  );
