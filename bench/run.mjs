#!/usr/bin/env node
// Keyward against the advisory's own stack, in one run (issue 7). See bench/README.md.
//
//   node bench/run.mjs            full run: 5 interleaved rounds x 5 s per target, writes
//                                 bench/results/<date>.md, bench/results/latest.md and the
//                                 README's results section
//   node bench/run.mjs --quick    smoke run (< 60 s), writes bench/results/quick.md only
//
// Options: --rounds N --duration S --warmup S --connections N --only id,id --scenario session|proxy
//          --tool wrk|autocannon --profile <stack id> (writes a --cpu-prof profile to bench/.prof/)
//          --no-build --sessions N (for the memory measurement)
//          --compare <other build>/dist/src/index.js: adds Keyward rows running that build (A/B of a fix)
//
// The rooms (bench/src/run/): options.mjs (the command line), prepare.mjs (install, wrk,
// build), selection.mjs (stacks and scenarios), machine.mjs (the machine facts),
// stack-servers.mjs (starting the servers and their sessions), measure.mjs (the measuring),
// results.mjs (the report). This file runs them in order.
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunOptions } from './src/run/options.mjs';
import { buildIfStale, ensureInstall, ensureWrk } from './src/run/prepare.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cfg = parseRunOptions();

const started = Date.now();
const log = (msg) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

ensureInstall(root);
ensureWrk(cfg.opt.tool, log);
const buildState = buildIfStale(root, cfg, log);

// Imported after the install and the build: nothing here loads Keyward itself, the servers do.
const { stopAll } = await import('./src/harness/processes.mjs');
const { closeHttp } = await import('./src/harness/http.mjs');
const { STACKS: BASE_STACKS, SCENARIOS } = await import('./src/harness/stacks.mjs');
const { selectStacks } = await import('./src/run/selection.mjs');
const { loadAverage, machineFacts } = await import('./src/run/machine.mjs');
const { startStacks } = await import('./src/run/stack-servers.mjs');
const { measureAll } = await import('./src/run/measure.mjs');
const { writeResults } = await import('./src/run/results.mjs');

let cleaning = false;
async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  closeHttp();
  await stopAll();
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.error(`\n[bench] ${sig}: stopping the servers`);
    cleanup().finally(() => process.exit(130));
  });
}

const { stacks, scenarios, neededStacks, onlyIds, compareDist } = selectStacks(cfg.opt, BASE_STACKS, SCENARIOS);
const { tool, machine } = await machineFacts(root, buildState, cfg.opt.tool);
const busyAtStart = os.loadavg()[0] > 1.5;
log(`load average ${machine.loadStart}${busyAtStart ? ' (busy: numbers will be noisy)' : ''}; load generator ${tool.version}`);

const running = await startStacks({ neededStacks, profile: cfg.opt.profile, log, cleanup });
const results = await measureAll({ cfg, tool, machine, stacks, scenarios, ...running, log, cleanup });

await cleanup();
await running.redis.close();
machine.loadEnd = loadAverage();
machine.busy = busyAtStart || os.loadavg()[0] > 1.5;

writeResults({ cfg, tool, machine, results, stacks, scenarios, started, partial: Boolean(onlyIds || cfg.opt.scenario || compareDist), log });
