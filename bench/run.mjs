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
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const USAGE = `node bench/run.mjs [options]   Keyward against the advisory's own stack (bench/README.md)

  --quick                 smoke run (< 60 s), writes bench/results/quick.md only
  --rounds N              interleaved rounds per target (default 5, quick 1)
  --duration S            seconds per round (default 5, quick 1)
  --warmup S              seconds of warm-up per target (default 3, quick 1)
  --connections N         concurrent connections (default 50)
  --only id,id            run only these stacks
  --scenario session|proxy
  --tool wrk|autocannon   load generator (default wrk, installed from Debian when missing)
  --profile <stack id>    write a --cpu-prof profile of that stack to bench/.prof/
  --no-build              bench the existing dist/ as it is
  --sessions N            sessions for the memory measurement (default 200, quick 20)
  --compare <build>/dist/src/index.js   add Keyward rows running that build (A/B of a fix)
  -h, --help              this text`;

let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '50' },
      only: { type: 'string' },
      scenario: { type: 'string' },
      tool: { type: 'string' },
      profile: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      sessions: { type: 'string' },
      compare: { type: 'string' },
    },
  });
} catch (err) {
  console.error(`${err.message}\n\n${USAGE}`);
  process.exit(2);
}
const opt = parsed.values;
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const QUICK = opt.quick;
const ROUNDS = Number(opt.rounds ?? (QUICK ? 1 : 5));
const SECONDS = Number(opt.duration ?? (QUICK ? 1 : 5));
const WARMUP = Number(opt.warmup ?? (QUICK ? 1 : 3));
const REWARM = QUICK ? 0 : 1; // seconds of load before each measured round (pools, JIT)
const CONNECTIONS = Number(opt.connections);
const SESSIONS = Number(opt.sessions ?? (QUICK ? 20 : 200));
const PROBE_REQUESTS = QUICK ? 10 : 50;
for (const [name, v] of [['rounds', ROUNDS], ['duration', SECONDS], ['warmup', WARMUP], ['connections', CONNECTIONS], ['sessions', SESSIONS]]) {
  if (!Number.isInteger(v) || v < (name === 'warmup' ? 0 : 1)) {
    console.error(`--${name}: expected a whole number${name === 'warmup' ? '' : ' >= 1'} (wrk takes whole seconds), got ${v}`);
    process.exit(2);
  }
}

const started = Date.now();
const log = (msg) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

// ------------------------------------------------------------------ tools and build

function ensureWrk() {
  if (opt.tool === 'autocannon') return;
  if (spawnSync('wrk', ['-v']).error === undefined) return;
  // Like scripts/test.sh: install the Debian package if we can (root or sudo).
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  log('wrk not found: installing the Debian package (apt-get install -y wrk)');
  const sh = (args) => spawnSync(args[0], args.slice(1), { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  const ok = sh([...sudo, 'apt-get', 'update', '-qq']) && sh([...sudo, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'wrk']);
  if (!ok) log('could not install wrk; falling back to autocannon');
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function buildIfStale() {
  const dist = join(root, 'packages/nest/dist/src/index.js');
  const src = Math.max(newestMtime(join(root, 'packages/nest/src')), statSync(join(root, 'packages/nest/tsconfig.json')).mtimeMs);
  if (opt['no-build'] && existsSync(dist)) return 'not rebuilt (--no-build)';
  if (existsSync(dist) && statSync(dist).mtimeMs >= src && QUICK) return 'dist up to date';
  log('building packages/nest (node scripts/build.mjs packages/nest)');
  const r = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), 'packages/nest'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('[bench] the build of packages/nest failed; fix it or pass --no-build to bench the existing dist/');
    process.exit(1);
  }
  return 'built';
}

// A fresh clone has no node_modules: install as `npm start` and `npm test` do.
if (spawnSync(process.execPath, [join(root, 'scripts/ensure-install.mjs')], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);
ensureWrk();
const buildState = buildIfStale();

// Imported after the build: nothing here loads Keyward itself, the servers do.
const { startNode, stop, stopAll, run } = await import('./src/harness/processes.mjs');
const { startRedis, statsDelta } = await import('./src/harness/redis.mjs');
const { detectTool, load } = await import('./src/harness/load.mjs');
const { httpCall, cookieFrom, closeHttp } = await import('./src/harness/http.mjs');
const { STACKS: BASE_STACKS, SCENARIOS, browserHeaders, COOKIE_NAME, PLACEHOLDER_COOKIE } = await import('./src/harness/stacks.mjs');
const { summarize, evaluateTargets, renderResults, targetsTable } = await import('./src/harness/report.mjs');
const { startOAuthServer, connectOAuth, refreshStampede, stampedeTable } = await import('./src/harness/oauth.mjs');

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

// ------------------------------------------------------------------ selection

// --compare: each Keyward stack gets a twin running the other build, right after it.
const compareDist = opt.compare ? join(process.cwd(), opt.compare) : null;
if (compareDist && !existsSync(compareDist)) {
  console.error(`--compare: ${compareDist} does not exist (give the other build's dist/src/index.js)`);
  process.exit(2);
}
const twin = (st) => ({ ...st, id: `${st.id}-alt`, n: `${st.n}'`, label: `${st.label}, **other build** (--compare)`, env: { ...st.env, KEYWARD_DIST: compareDist } });
const STACKS = compareDist ? BASE_STACKS.flatMap((st) => (st.session === 'keyward' ? [st, twin(st)] : [st])) : BASE_STACKS;
const withTwins = (ids) => (compareDist ? ids.flatMap((id) => (id.startsWith('kw-') ? [id, `${id}-alt`] : [id])) : ids);

const onlyIds = opt.only ? new Set(opt.only.split(',').map((s) => s.trim())) : null;
for (const id of onlyIds ?? []) {
  if (!STACKS.some((s) => s.id === id)) {
    console.error(`--only: unknown stack "${id}"; known: ${STACKS.map((s) => s.id).join(', ')}`);
    process.exit(2);
  }
}
if (opt.profile && !STACKS.some((s) => s.id === opt.profile)) {
  console.error(`--profile: unknown stack "${opt.profile}"; known: ${STACKS.map((s) => s.id).join(', ')}`);
  process.exit(2);
}
// Optional stacks (extra rows that take a result apart) run only when --only names them.
const selected = (id) => (onlyIds ? onlyIds.has(id) : !STACKS.find((s) => s.id === id)?.optional);
const scenarios = SCENARIOS.filter((sc) => !opt.scenario || sc.id === opt.scenario).map((sc) => ({
  ...sc,
  stacks: withTwins(sc.stacks.filter(selected)),
}));
const neededStacks = STACKS.filter((s) => scenarios.some((sc) => sc.stacks.includes(s.id)));

// ------------------------------------------------------------------ machine facts

const req = createRequire(join(root, 'packages/nest/package.json'));
const rootReq = createRequire(join(root, 'package.json'));
const version = (r, name) => {
  try {
    return r(`${name}/package.json`).version;
  } catch {
    // packages whose `exports` hide package.json
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return 'n/a';
    }
  }
};
function keywardRevision() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages/nest/src'], { cwd: root, encoding: 'utf8' }).trim();
    return `packages/nest at ${head}${dirty ? ' + uncommitted changes in packages/nest/src' : ''} (${buildState})`;
  } catch {
    return 'packages/nest (no git)';
  }
}
const load1 = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');
const tool = await detectTool(opt.tool);
const redisVersion = (await run('redis-server', ['--version'])).stdout.trim().replace(/ sha=.*$/, '');
const machine = {
  nproc: (await run('nproc', [])).stdout.trim() || String(os.availableParallelism()),
  cpu: os.cpus()[0]?.model?.trim() ?? 'unknown CPU',
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  loadStart: load1(),
  node: process.version,
  nest: version(req, '@nestjs/core'),
  platformExpress: version(req, '@nestjs/platform-express'),
  platformFastify: version(req, '@nestjs/platform-fastify'),
  expressSession: version(rootReq, 'express-session'),
  connectRedis: version(rootReq, 'connect-redis'),
  nodeRedis: version(rootReq, 'redis'),
  undici: version(req, 'undici'),
  ioredis: version(req, 'ioredis'),
  redis: redisVersion,
  tool: tool.version,
  keyward: keywardRevision(),
};
const busyAtStart = os.loadavg()[0] > 1.5;
log(`load average ${machine.loadStart}${busyAtStart ? ' (busy: numbers will be noisy)' : ''}; load generator ${tool.version}`);

// ------------------------------------------------------------------ start everything

const redis = await startRedis();
log(`redis-server on 127.0.0.1:${redis.port}`);
const API_KEY = `bench-${randomBytes(18).toString('base64url')}`;
const secrets = { SESSION_SECRET: randomBytes(32).toString('base64url'), VAULT_KEY: randomBytes(32).toString('base64') };
// The OAuth row (3o, issue 24) needs an authorization server; the upstream then also takes its access tokens.
const isOAuth = (st) => st.env.CREDENTIAL === 'oauth';
const idp = neededStacks.some(isOAuth) ? await startOAuthServer(startNode, join(here, 'src/servers')) : null;
const upstream = await startNode('upstream', join(here, 'src/servers/upstream.mjs'), { PORT: '0', API_KEY, ...(idp ? { BEARER_CHECK_URL: idp.checkUrl } : {}) });
const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
log(`upstream on ${upstreamUrl}`);

const profDir = join(here, '.prof');
const servers = {};
try {
  await Promise.all(
    neededStacks.map(async (st) => {
      const nodeArgs = opt.profile === st.id ? (mkdirSync(profDir, { recursive: true }), ['--cpu-prof', '--cpu-prof-dir', profDir]) : [];
      const s = await startNode(st.id, join(here, 'src/servers', st.server), { PORT: '0', REDIS_URL: redis.url, UPSTREAM_URL: upstreamUrl, API_KEY, ...secrets, ...(isOAuth(st) ? idp.env : {}), ...st.env }, { nodeArgs });
      servers[st.id] = s;
    }),
  );
} catch (e) {
  console.error(`[bench] ${e.message}`);
  await cleanup();
  await redis.close();
  process.exit(1);
}
log(`servers up: ${neededStacks.map((s) => `${s.id}:${servers[s.id].port}`).join(' ')}`);

// ------------------------------------------------------------------ sessions

async function login(st, userId) {
  const port = servers[st.id].port;
  const res = await httpCall(port, 'POST', '/auth/login', browserHeaders(), { id: userId, name: 'Bench User' });
  if (res.status !== 200) throw new Error(`${st.id}: login answered ${res.status}: ${res.body}`);
  const cookie = cookieFrom(res, COOKIE_NAME[st.session]);
  if (!cookie) throw new Error(`${st.id}: login set no ${COOKIE_NAME[st.session]} cookie`);
  return cookie;
}

/** Redis keys holding one session, from its cookie. */
function sessionKeys(kind, cookie) {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  if (kind === 'advisory') {
    const id = value.slice(2, value.lastIndexOf('.'));
    return { record: [`sess:${id}`, `sess:${id}:apiKey`], id };
  }
  const id = value.slice(0, value.indexOf('.'));
  const storeKey = createHash('sha256').update(id).digest('base64url');
  return { record: [`kw:s:{${storeKey}}`], id: storeKey };
}

const cookies = {};
if (idp) await idp.register(neededStacks.filter(isOAuth).map((st) => servers[st.id].port));
for (const st of neededStacks) cookies[st.id] = st.session ? await login(st, 'bench-user') : PLACEHOLDER_COOKIE;
for (const st of neededStacks.filter(isOAuth)) cookies[st.id] = await connectOAuth(servers[st.id].port, cookies[st.id]);

// ------------------------------------------------------------------ measuring

function urlOf(st, sc) {
  return `http://127.0.0.1:${servers[st.id].port}${sc.path}`;
}

async function check(st, sc) {
  const r = await httpCall(servers[st.id].port, 'GET', sc.path, browserHeaders(cookies[st.id]));
  if (r.status !== 200) throw new Error(`${st.id} ${sc.path}: expected 200, got ${r.status}: ${r.body.slice(0, 200)}`);
}

/** Sequential requests under MONITOR: what the app sends to Redis per request. */
async function probe(st, sc) {
  const keys = st.session ? sessionKeys(st.session, cookies[st.id]) : null;
  await settle();
  const mon = await redis.monitor();
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < PROBE_REQUESTS; i++) await check(st, sc);
  await new Promise((r) => setTimeout(r, 150));
  mon.close();
  // Only lines about this session (the other servers' sweepers share the Redis), and the
  // proxy's call counters (`<prefix>rl:{<user or session>}:...`, issue 22), which only requests write, and user entries (`bind: 'user'`, issue 24).
  const mine = keys ? mon.lines.filter((l) => l.args.some((a) => typeof a === 'string' && (a.includes(keys.id) || a.startsWith('kw:rl:{') || a.startsWith('kw:ue:{')))) : [];
  const outer = {};
  const inner = new Set();
  let outerCount = 0;
  for (const l of mine) {
    const name = String(l.args[0]).toLowerCase();
    if (l.source === 'lua') inner.add(name);
    else {
      outer[name] = (outer[name] ?? 0) + 1;
      outerCount++;
    }
  }
  for (const k of Object.keys(outer)) outer[k] /= PROBE_REQUESTS;
  return { perRequest: outerCount / PROBE_REQUESTS, outer, outerNames: Object.keys(outer), innerNames: [...inner] };
}

/** Lets the server finish requests still queued when the load generator stopped. */
const settle = () => new Promise((r) => setTimeout(r, 300));

/** CPU time (user + system, ms) a process has used, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

async function measure(st, sc, seconds) {
  await settle();
  const before = await redis.commandStats();
  const pid = servers[st.id].proc.pid;
  const cpuBefore = cpuMs(pid);
  const redisCpuBefore = cpuMs(redis.pid);
  const r = await load(tool, { url: urlOf(st, sc), headers: browserHeaders(cookies[st.id]), connections: CONNECTIONS, seconds });
  await settle();
  const cpu = cpuMs(pid) - cpuBefore;
  const redisCpu = cpuMs(redis.pid) - redisCpuBefore;
  const after = await redis.commandStats();
  const perReq = (v) => (r.requests > 0 ? (v * 1000) / r.requests : NaN);
  return { ...r, cpuUsPerReq: perReq(cpu), redisCpuUsPerReq: perReq(redisCpu), redis: statsDelta(before, after) };
}

const results = { scenarios: {}, probes: {}, memory: [] };

// Calibration: the upstream alone (plain node:http) under the same load, so a reader can
// compare this machine with another (NOTES.md: ~95k req/s on a quiet 2-core machine).
{
  const seconds = QUICK ? 1 : 3;
  const r = await load(tool, { url: `${upstreamUrl}/items`, headers: { 'x-api-key': API_KEY }, connections: CONNECTIONS, seconds });
  machine.calibration = `${Math.round(r.rps).toLocaleString('en-US')} req/s (p99 ${r.p99.toFixed(2)} ms) from the upstream alone (plain node:http), same load settings, ${seconds} s`;
  log(`calibration: ${machine.calibration}`);
}
const stackOf = (id) => STACKS.find((s) => s.id === id);
try {
  for (const sc of scenarios) {
    if (sc.stacks.length === 0) continue;
    log(`scenario ${sc.id}: ${sc.stacks.join(', ')}`);
    for (const id of sc.stacks) {
      const st = stackOf(id);
      await check(st, sc);
      if (WARMUP > 0) await load(tool, { url: urlOf(st, sc), headers: browserHeaders(cookies[id]), connections: CONNECTIONS, seconds: WARMUP });
      if (st.session) results.probes[`${sc.id}:${id}`] = await probe(st, sc);
    }
    const rounds = Object.fromEntries(sc.stacks.map((id) => [id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // A B C ... then ... C B A: no stack always runs right after the same neighbour.
      const order = round % 2 === 0 ? sc.stacks : [...sc.stacks].reverse();
      for (const id of order) {
        const st = stackOf(id);
        if (REWARM > 0) await load(tool, { url: urlOf(st, sc), headers: browserHeaders(cookies[id]), connections: CONNECTIONS, seconds: REWARM });
        const r = await measure(st, sc, SECONDS);
        rounds[id].push(r);
        log(`  round ${round + 1}/${ROUNDS} ${id.padEnd(16)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  cpu ${r.cpuUsPerReq.toFixed(0)} us/req (redis ${r.redisCpuUsPerReq.toFixed(0)})${r.errors ? `  ${r.errors} errors` : ''}`);
      }
    }
    results.scenarios[sc.id] = { summary: Object.fromEntries(sc.stacks.map((id) => [id, summarize(rounds[id])])) };
  }

  if (idp) {
    const baseEnv = { PORT: '0', REDIS_URL: redis.url, UPSTREAM_URL: upstreamUrl, API_KEY, ...secrets };
    results.stampede = await refreshStampede({ startNode, serversDir: join(here, 'src/servers'), idp, redis, baseEnv });
    for (const r of results.stampede) log(`refresh stampede round ${r.round}: ${r.refreshes} token request(s), ${JSON.stringify(r.statuses)}, p99 ${r.p99.toFixed(1)} ms`);
  }

  // Redis memory per idle session: fresh sessions, one user each.
  const memoryStacks = [
    { stack: 'adv-fetch', label: 'Advisory (express-session + connect-redis, `sess:<id>` + `sess:<id>:apiKey`)', keys: 2 },
    { stack: 'kw-express', label: 'Keyward (record hash; server key, nothing sealed in the session)', keys: 1 },
    { stack: 'kw-express-vault', label: 'Keyward with a key per session sealed in the vault (record hash)', keys: 1 },
  ].filter((m) => servers[m.stack]);
  for (const m of memoryStacks) {
    const st = stackOf(m.stack);
    const tag = `${m.stack}-${randomBytes(3).toString('hex')}`;
    const expBefore = st.session === 'keyward' ? await redis.memoryUsage('kw:exp') : 0;
    const made = [];
    for (let i = 0; i < SESSIONS; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, SESSIONS - i) }, (_, j) => login(st, `${tag}-${i + j}`)));
      made.push(...batch.map((c, j) => ({ cookie: c, user: `${tag}-${i + j}` })));
    }
    let record = 0;
    let index = 0;
    for (const { cookie, user } of made) {
      for (const k of sessionKeys(st.session, cookie).record) record += await redis.memoryUsage(k);
      if (st.session === 'keyward') index += await redis.memoryUsage(`kw:u:{${user}}`);
    }
    const expAfter = st.session === 'keyward' ? await redis.memoryUsage('kw:exp') : 0;
    const perRecord = record / made.length;
    const withIndexes = st.session === 'keyward' ? perRecord + (index + (expAfter - expBefore)) / made.length : NaN;
    results.memory.push({ ...m, record: perRecord, withIndexes, count: made.length });
    log(`memory ${m.stack}: ${perRecord.toFixed(0)} B per session${Number.isFinite(withIndexes) ? ` (${withIndexes.toFixed(0)} B with index entries)` : ''}`);
  }
} catch (e) {
  console.error(`[bench] ${e.stack ?? e}`);
  for (const s of Object.values(servers)) if (s.output().trim()) console.error(`--- ${s.name} output:\n${s.output().slice(-2000)}`);
  await cleanup();
  await redis.close();
  process.exit(1);
}

await cleanup();
await redis.close();
machine.loadEnd = load1();
machine.busy = busyAtStart || os.loadavg()[0] > 1.5;

// ------------------------------------------------------------------ report

const date = new Date(started).toISOString().slice(0, 10);
const res = {
  ...results,
  date,
  quick: QUICK,
  startedAt: new Date(started).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
  elapsedMs: Date.now() - started,
  command: `node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
  settings: `${tool.name} -t1 -c${CONNECTIONS}; ${WARMUP} s warm-up per target, then ${ROUNDS} interleaved round(s) x ${SECONDS} s${REWARM ? ` each after ${REWARM} s of re-warm` : ''}; medians over rounds`,
  machine,
  notes: [
    'Cookies: the advisory stack uses its exact options (custom name `adv_sid`, httpOnly, sameSite strict, maxAge 30 min, path `/`, resave false, saveUninitialized false, rolling false, secret from the environment) except `secure: false`, because the bench runs on plain-HTTP loopback; Keyward runs in development mode (`secure` off, no HTTPS requirement) for the same reason. Neither changes the per-request work.',
    'Every request carries the same headers: the session cookie, `x-csrf: 1`, `sec-fetch-site: same-origin`, `accept: application/json`. The advisory stack checks them on state-changing requests and on its proxy route, as the advisory asks.',
    'Stack 2 answers the session check with the same code as stack 1 (no outgoing call), so the session check runs it once, as "1 (= 2)".',
    'Keyward rows 3 and 4 attach the app\'s own key (`ServerKeyProvider`, held in memory); row 3v seals a key per session in the vault (`MintedKeyProvider` whose issuer hands out the upstream\'s key), the closest match to the advisory\'s per-session `sess:<id>:apiKey`: it decrypts the key from the session record on every call, with no extra round trip.',
    'All wrk connections share one session (one cookie), as a single busy user would; Keyward extends the idle expiry at most once a minute, the advisory on every request (EXPIRE).',
  ],
};
res.targets = evaluateTargets(res);
const stampedeSection = results.stampede ? `\n## OAuth refresh stampede (issue 24)\n\n${stampedeTable(results.stampede)}\n` : '';
const page = renderResults(res, STACKS, scenarios) + stampedeSection;
const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const written = [];
const partial = Boolean(onlyIds || opt.scenario || compareDist);
if (QUICK || partial) {
  writeFileSync(join(resultsDir, 'quick.md'), page);
  written.push('bench/results/quick.md');
} else {
  writeFileSync(join(resultsDir, `${date}.md`), page);
  writeFileSync(join(resultsDir, 'latest.md'), page);
  written.push(`bench/results/${date}.md`, 'bench/results/latest.md');
  const readme = join(here, 'README.md');
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const start = '<!-- latest-results:start -->';
    const end = '<!-- latest-results:end -->';
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a >= 0 && b > a) {
      const body = page.replace(/^# .*\n\n/, `Latest full run (${date}, copied from [results/latest.md](results/latest.md)):\n\n`).replace(/^## /gm, '### ');
      writeFileSync(readme, `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`);
      written.push('bench/README.md (results section)');
    }
  }
}
console.log('');
console.log(targetsTable(res.targets));
console.log('');
log(`done; wrote ${written.join(', ')}; load average at end ${machine.loadEnd}`);
if (opt.profile) {
  const profiles = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f));
  const newest = profiles.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0];
  if (newest) log(`CPU profile of ${opt.profile}: ${relative(process.cwd(), newest)} (summary: node bench/src/harness/profile-summary.mjs ${relative(process.cwd(), newest)})`);
}
