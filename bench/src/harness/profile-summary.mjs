#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node bench/run.mjs --profile <stack>`): self time by
// function and by package, and the inclusive time of Keyward's own functions.
//   node bench/src/harness/profile-summary.mjs bench/.prof/<file>.cpuprofile [--top 30] [--us-per-req N]
// Shares are of the busy (non-idle) time; with --us-per-req (the run's "CPU µs/req" of that
// server) each line also shows its cost in µs per request. The first table groups the
// packages by who pays them: Keyward, the Redis client, the framework (Express, its router
// and middleware packages, Nest), Node (its JavaScript internals, native code, the program)
// and the garbage collector.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, 'us-per-req': { type: 'string' }, inclusive: { type: 'string' } } });
if (positionals.length !== 1) {
  console.error('usage: profile-summary.mjs <file.cpuprofile> [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const TOP = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node from samples and time deltas.
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

function where(cf) {
  const url = cf.url || '';
  if (!url) return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/packages/nest/dist/')) return 'keyward';
  if (url.includes('/bench/')) return 'bench app';
  return url;
}
const label = (cf) => `${cf.functionName || '(anonymous)'} ${(cf.url || '').replace(/^.*\/(node_modules|packages|bench)\//, '$1/')}:${cf.lineNumber + 1}`;

const fnSelf = new Map();
const pkgSelf = new Map();
for (const [id, t] of self) {
  const cf = byId.get(id).callFrame;
  if (cf.functionName === '(idle)') continue;
  fnSelf.set(label(cf), (fnSelf.get(label(cf)) ?? 0) + t);
  pkgSelf.set(where(cf), (pkgSelf.get(where(cf)) ?? 0) + t);
}

// Inclusive time of Keyward functions, or of every function whose label contains
// --inclusive TEXT (a function counted once per sample stack).
const keywardIncl = new Map();
const wanted = values.inclusive;
profile.samples.forEach((id, i) => {
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const cf = byId.get(n).callFrame;
    if (wanted ? !label(cf).includes(wanted) : !cf.url.includes('/packages/nest/dist/')) continue;
    const l = label(cf);
    if (seen.has(l)) continue;
    seen.add(l);
    keywardIncl.set(l, (keywardIncl.get(l) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
});

const idle = [...self].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const busy = total - idle;
const perReq = values['us-per-req'] ? Number(values['us-per-req']) : null;
const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%${perReq ? ` ${((perReq * t) / busy).toFixed(1).padStart(6)} µs` : ''}`;
const show = (title, map, n) => {
  console.log(`\n${title}`);
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(t)}  ${k}`);
};
console.log(`profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; shares below are of the busy time`);
const NODE = new Set(['node internals', '(native)', '(program)']);
const group = (pkg) =>
  pkg === 'keyward' ? 'Keyward' : pkg === 'ioredis' || pkg === 'redis' || pkg.startsWith('@redis/') ? 'Redis client' : pkg === '(garbage collector)' ? 'garbage collector' : NODE.has(pkg) ? 'Node (JS internals, native, program)' : pkg === 'bench app' ? 'bench app' : 'framework (Express, router, middleware packages, Nest)';
const groups = new Map();
for (const [pkg, t] of pkgSelf) groups.set(group(pkg), (groups.get(group(pkg)) ?? 0) + t);
show('self time by group', groups, 10);
show('self time by package', pkgSelf, 20);
show(`self time by function (top ${TOP})`, fnSelf, TOP);
show(wanted ? `inclusive time of functions matching "${wanted}"` : 'inclusive time of Keyward functions', keywardIncl, TOP);
