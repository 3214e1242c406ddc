#!/usr/bin/env node
// Cost as the work grows (issue 18): a separate command of the benchmark, not a test.
//
//   node bench/scale.mjs           full run (about 25 minutes): 1k, 100k and 1M live sessions on
//                                  Redis and SQLite, a user with 1,000 sessions, 20k live minted
//                                  keys, a sweep of 100k expired sessions, request-logging cost,
//                                  the session check on Express (auto-pipelining on/off); writes
//                                  bench/results/scale-<date>.md, scale-latest.md, scale-latest.svg
//                                  and the README's "Scale results" section
//   node bench/scale.mjs --quick   smoke run (1k and 10k sessions, 1 s rounds, ~3 minutes);
//                                  writes bench/results/scale-quick.md and scale-quick.svg only
//
// Re-render the tables, chart and README section from a run's JSON: --render bench/results/scale-latest.json
// Options: --sections curve,heavy,secrets,sweep,logging,check (default: all)
//          --rounds N --duration S --warmup S --connections N --no-build
//          --sizes 1000,100000,1000000 --hot N (distinct sessions the load cycles through)
//          --expired N (sessions the sweep ends; --expired-sqlite N for SQLite, default the same) --minted N (live minted keys)
//          --stores redis,sqlite (default both; the curve, heavy and sweep sections)
//          --compare DIST (curve, SQLite: also load a server running another build, e.g.
//                          bench/.ab/base/src/index.js, on a copy of the same file, interleaved)
//
// The rooms (bench/src/scale/): options.mjs (the command line, --help), servers.mjs (redis,
// the upstream, the bench servers), interleave.mjs (the load runs), sections/*.mjs (one file
// per section), outputs.mjs (machine facts, Markdown, SVG, JSON, README). This file runs them.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildNest, nestDist, newestMtime } from './src/harness/build.mjs';
import { ALL_SECTIONS, parseScaleOptions } from './src/scale/options.mjs';
import { loadAverage, machineFacts, savePartial, writeOutputs } from './src/scale/outputs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cfg = parseScaleOptions();
const { opt } = cfg;

const started = Date.now();
if (opt.render) {
  // Re-renders the tables and the chart from a run's JSON (no measuring).
  const results = JSON.parse(readFileSync(opt.render, 'utf8'));
  results.command ??= 'node bench/scale.mjs';
  console.log(`re-rendered ${await writeOutputs(results, false)}`);
  process.exit(0);
}
const log = (msg) => console.log(`[scale ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const loadStart = loadAverage();

const distIndex = nestDist(root);
if (!opt['no-build'] && (!existsSync(distIndex) || statSync(distIndex).mtimeMs < newestMtime(join(root, 'packages/nest/src')))) {
  log('building packages/nest');
  if (!buildNest(root)) process.exit(1);
}

// Imported after the build: the servers' helpers load ioredis, the sections the built store.
const { stopAll } = await import('./src/harness/processes.mjs');
const { closeHttp } = await import('./src/harness/http.mjs');
const { startScaleServers } = await import('./src/scale/servers.mjs');
const { interleave } = await import('./src/scale/interleave.mjs');
const SECTIONS = {
  curve: (await import('./src/scale/sections/curve.mjs')).curve,
  heavy: (await import('./src/scale/sections/heavy.mjs')).heavy,
  secrets: (await import('./src/scale/sections/secrets.mjs')).secrets,
  sweep: (await import('./src/scale/sections/sweep.mjs')).sweep,
  logging: (await import('./src/scale/sections/logging.mjs')).logging,
  check: (await import('./src/scale/sections/check.mjs')).check,
};
const kw = await import(pathToFileURL(distIndex).href);

process.on('SIGINT', () => {
  console.error('\n[scale] SIGINT: stopping');
  closeHttp();
  stopAll().finally(() => process.exit(130));
});

const servers = await startScaleServers(log, loadStart);
const { tool, tmp, redis } = servers;
const results = {
  command: `node bench/scale.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
  config: { QUICK: cfg.quick, ROUNDS: cfg.rounds, SECONDS: cfg.seconds, WARMUP: cfg.warmup, CONNECTIONS: cfg.connections, SIZES: cfg.sizes, HOT: cfg.hot, EXPIRED: cfg.expired, MINTED: cfg.minted, HEAVY: cfg.heavy, tool: tool.version },
};
const ctx = { ...servers, cfg, log, kw, results };
ctx.interleave = (rows, o) => interleave(ctx, rows, o);

/** Runs one section; a failure is recorded (and reported) and the next section still runs. Saves what is known so far. */
async function section(name, fn) {
  try {
    await fn();
  } catch (e) {
    log(`section ${name} failed: ${e.stack ?? e}`);
    (results.errors ??= {})[name] = String(e.message ?? e).split('\n')[0];
  }
  savePartial(results);
}

try {
  for (const name of ALL_SECTIONS) if (cfg.sections.has(name)) await section(name, () => SECTIONS[name](ctx));
} finally {
  closeHttp();
  await stopAll();
  await redis.close().catch(() => {});
}

results.machine = await machineFacts({ started, loadStart, tool });
rmSync(tmp, { recursive: true, force: true });

const base = await writeOutputs(results, cfg.quick || cfg.sections.size !== ALL_SECTIONS.length || opt.sizes || opt.rounds || opt.duration);
log(`wrote bench/results/${base}.md and ${base}.svg (load average at end ${results.machine.loadEnd})`);
