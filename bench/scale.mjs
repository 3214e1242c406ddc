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
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sections: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    sizes: { type: 'string' },
    hot: { type: 'string' },
    expired: { type: 'string' },
    minted: { type: 'string' },
    'expired-sqlite': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    stores: { type: 'string' },
    compare: { type: 'string' },
    render: { type: 'string' },
  },
});
const QUICK = opt.quick;
const ROUNDS = Number(opt.rounds ?? (QUICK ? 1 : 3));
const SECONDS = Number(opt.duration ?? (QUICK ? 1 : 5));
const WARMUP = Number(opt.warmup ?? (QUICK ? 1 : 2));
const REWARM = QUICK ? 0 : 1;
const CONNECTIONS = Number(opt.connections);
const SIZES = (opt.sizes ?? (QUICK ? '1000,10000' : '1000,100000,1000000')).split(',').map(Number);
const HOT = Number(opt.hot ?? (QUICK ? 200 : 1000));
const EXPIRED = Number(opt.expired ?? (QUICK ? 5000 : 100_000));
const MINTED = Number(opt.minted ?? (QUICK ? 500 : 20_000));
const HEAVY = QUICK ? 200 : 1000;
// SQLite ends expired sessions synchronously, 25 per transaction, the event loop turning
// every ~10 ms. Before the sliced sweep it held the loop for all of it, and each batch
// waited for an fsync (~2 ms per session: 10k stalled 4-23 s in one piece); expired records
// are now deleted without that wait, so it sweeps as many as Redis does.
const EXPIRED_SQLITE = Math.min(EXPIRED, Number(opt['expired-sqlite'] ?? EXPIRED));
const ALL_SECTIONS = ['curve', 'heavy', 'secrets', 'sweep', 'logging', 'check'];
const SECTIONS = new Set(opt.sections ? opt.sections.split(',') : ALL_SECTIONS);
for (const s of SECTIONS) if (!ALL_SECTIONS.includes(s)) throw new Error(`--sections: unknown "${s}"; known: ${ALL_SECTIONS.join(',')}`);
const STORES = new Set((opt.stores ?? 'redis,sqlite').split(','));
for (const s of STORES) if (!['redis', 'sqlite'].includes(s)) throw new Error(`--stores: unknown "${s}"; known: redis,sqlite`);
if (opt.compare && !existsSync(opt.compare)) throw new Error(`--compare: no such file ${opt.compare} (the index.js of a copied dist, e.g. bench/.ab/base/src/index.js)`);

const started = Date.now();
if (opt.render) {
  // Re-renders the tables and the chart from a run's JSON (no measuring).
  const results = JSON.parse(readFileSync(opt.render, 'utf8'));
  results.command ??= 'node bench/scale.mjs';
  console.log(`re-rendered ${await writeOutputs(results, false)}`);
  process.exit(0);
}
const log = (msg) => console.log(`[scale ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const loadavg = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');
const loadStart = loadavg();

// ------------------------------------------------------------------ build

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}
const distIndex = join(root, 'packages/nest/dist/src/index.js');
if (!opt['no-build'] && (!existsSync(distIndex) || statSync(distIndex).mtimeMs < newestMtime(join(root, 'packages/nest/src')))) {
  log('building packages/nest');
  if (spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), 'packages/nest'], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);
}

const { startNode, stop, stopAll, run } = await import('./src/harness/processes.mjs');
const { startRedis } = await import('./src/harness/redis.mjs');
const { detectTool, load, writeCookieScript } = await import('./src/harness/load.mjs');
const { httpCall, cookieFrom, closeHttp } = await import('./src/harness/http.mjs');
const { browserHeaders } = await import('./src/harness/stacks.mjs');
const { populateRedis, populateSqlite, sessions, spread } = await import('./src/harness/populate.mjs');
const kw = await import(pathToFileURL(distIndex).href);
const nestRequire = createRequire(join(root, 'packages/nest/package.json'));
const { Redis } = nestRequire('ioredis');

process.on('SIGINT', () => {
  console.error('\n[scale] SIGINT: stopping');
  closeHttp();
  stopAll().finally(() => process.exit(130));
});

const tool = await detectTool('wrk');
const tmp = mkdtempSync(join(os.tmpdir(), 'kw-scale-'));
const redis = await startRedis();
log(`load average ${loadStart}; redis-server on ${redis.port}; scratch ${tmp}`);
const API_KEY = `bench-${randomBytes(18).toString('base64url')}`;
const SESSION_SECRET = randomBytes(32).toString('base64url');
const VAULT_KEY = randomBytes(32).toString('base64');
const upstream = await startNode('upstream', join(here, 'src/servers/upstream.mjs'), { PORT: '0', API_KEY });
const UPSTREAM_URL = `http://127.0.0.1:${upstream.port}`;

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fileSize = (f) => (existsSync(f) ? statSync(f).size : 0);

const BASE_ENV = { PORT: '0', UPSTREAM_URL, API_KEY, SESSION_SECRET, VAULT_KEY };
async function startKeyward(name, env) {
  const s = await startNode(name, join(here, 'src/servers/keyward.mjs'), { ...BASE_ENV, REDIS_URL: redis.url, ...env });
  if (env.BENCH_PROBE === '1') {
    for (let i = 0; i < 100 && !/^probe (\d+)$/m.test(s.output()); i++) await sleep(20);
    s.probe = Number(/^probe (\d+)$/m.exec(s.output())[1]);
  }
  return s;
}
// A sweep of 100k sessions under load takes minutes on a busy machine: no 10 s timeout here.
const probeCall = async (s, method, path) => JSON.parse((await httpCall(s.probe, method, path, {}, undefined, 900_000)).body);

async function login(s, userId = 'bench-user') {
  const r = await httpCall(s.port, 'POST', '/auth/login', browserHeaders(), { id: userId, name: 'Bench User' });
  if (r.status !== 200) throw new Error(`${s.name}: login answered ${r.status}: ${r.body.slice(0, 200)}`);
  return cookieFrom(r, s.name.startsWith('adv') ? 'adv_sid' : 'sid');
}

/**
 * Interleaved rounds (A B C ... then ... C B A), as bench/run.mjs does: every row gets the
 * same drift of the machine. A row: { id, port, pid, path, cookie } or { ..., script } (a wrk
 * Lua script cycling through cookies). Returns per row: medians of req/s, p50, p99, CPU µs/req.
 */
async function interleave(rows, { rounds = ROUNDS, seconds = SECONDS, warmup = WARMUP } = {}) {
  const go = (row, secs) =>
    load(tool, {
      url: `http://127.0.0.1:${row.port}${row.path}`,
      headers: row.script ? browserHeaders() : browserHeaders(row.cookie),
      connections: CONNECTIONS,
      seconds: secs,
      script: row.script,
    });
  for (const row of rows) if (warmup > 0) await go(row, warmup);
  const out = new Map(rows.map((r) => [r.id, []]));
  for (let round = 0; round < rounds; round++) {
    for (const row of round % 2 ? [...rows].reverse() : rows) {
      if (REWARM > 0) await go(row, REWARM);
      await sleep(200);
      const c0 = cpuMs(row.pid);
      const r = await go(row, seconds);
      await sleep(200);
      r.cpuUs = r.requests > 0 ? ((cpuMs(row.pid) - c0) * 1000) / r.requests : NaN;
      out.get(row.id).push(r);
      log(`  ${row.id}: ${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(1)} ms${r.errors ? `, ${r.errors} errors` : ''}`);
    }
  }
  const res = {};
  for (const row of rows) {
    const rs = out.get(row.id);
    res[row.id] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUs: median(rs.map((r) => r.cpuUs)),
      rounds: rs.map((r) => Math.round(r.rps)),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      requests: rs.reduce((n, r) => n + r.requests, 0),
    };
  }
  return res;
}

const results = { command: `node bench/scale.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`, config: { QUICK, ROUNDS, SECONDS, WARMUP, CONNECTIONS, SIZES, HOT, EXPIRED, MINTED, HEAVY, tool: tool.version } };
const redisAt = (db) => `${redis.url}/${db}`;
const dbClient = (db) => new Redis({ host: '127.0.0.1', port: redis.port, db, lazyConnect: false });
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))[1]);
async function memoryUsage(client, key) {
  const n = await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  return n === null ? 0 : Number(n);
}
const userOfIndex = (tag) => (i) => `${tag}${i}`;

/** Runs one section; a failure is recorded (and reported) and the next section still runs. Saves what is known so far. */
async function section(name, fn) {
  try {
    await fn();
  } catch (e) {
    log(`section ${name} failed: ${e.stack ?? e}`);
    (results.errors ??= {})[name] = String(e.message ?? e).split('\n')[0];
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'scale-partial.json'), JSON.stringify(results, (k, v) => (k === 'server' ? undefined : v), 1));
}

try {
  // ---------------------------------------------------------------- 1. the scale curve
  if (SECTIONS.has('curve')) await section('curve', async () => {
    log(`scale curve: ${SIZES.join(', ')} live sessions, ${[...STORES].join(' and ')}${opt.compare ? ` (SQLite also with ${opt.compare})` : ''}; the load cycles through ${HOT} of them`);
    const curve = { redis: [], sqlite: [] };
    const servers = [];
    if (opt.compare) curve.sqliteBase = [];
    for (const [i, n] of SIZES.entries()) {
      const db = i + 1;
      const sample = spread(n, HOT);
      if (STORES.has('redis')) {
        const client = dbClient(db);
        const before = await usedMemory();
        const t0 = Date.now();
        const { cookies, keys } = await populateRedis(client, sessions(n, { userOf: userOfIndex(`r${db}u`), sample, secret: SESSION_SECRET }));
        const after = await usedMemory();
        const probeKeys = keys.slice(0, 200);
        let rec = 0;
        let user = 0;
        for (const k of probeKeys) {
          rec += await memoryUsage(client, `kw:s:{${k.key}}`);
          user += await memoryUsage(client, `kw:u:{${k.userId}}`);
        }
        const exp = await memoryUsage(client, 'kw:exp');
        const entry = {
          n,
          db,
          populateS: (Date.now() - t0) / 1000,
          recordBytes: rec / probeKeys.length,
          indexBytes: user / probeKeys.length + exp / n,
          usedMemoryPerSession: (after - before) / n,
          dbsize: await client.dbsize(),
        };
        client.disconnect();
        log(`  redis ${n}: populated in ${entry.populateS.toFixed(1)} s; record ${entry.recordBytes.toFixed(0)} B, +index ${entry.indexBytes.toFixed(0)} B, used_memory ${entry.usedMemoryPerSession.toFixed(0)} B/session`);
        const script = writeCookieScript(join(tmp, `redis-${n}.lua`), cookies);
        const s = await startKeyward(`kw-redis-${n}`, { REDIS_URL: redisAt(db) });
        servers.push(s);
        curve.redis.push({ ...entry, server: s, script, rssIdle: rssOf(s.proc.pid) });
      }

      if (STORES.has('sqlite')) {
        const file = join(tmp, `sessions-${n}.sqlite`);
        const t1 = Date.now();
        const sq = await populateSqlite(file, sessions(n, { userOf: userOfIndex(`s${db}u`), sample, secret: SESSION_SECRET }), kw.SqliteStore);
        const sEntry = { n, file, populateS: (Date.now() - t1) / 1000, fileBytes: fileSize(file), walBytes: fileSize(`${file}-wal`) };
        log(`  sqlite ${n}: populated in ${sEntry.populateS.toFixed(1)} s; ${(sEntry.fileBytes / n).toFixed(0)} B/session on disk`);
        const sScript = writeCookieScript(join(tmp, `sqlite-${n}.lua`), sq.cookies);
        if (opt.compare) {
          // The same sessions in a copy of the file (each server its own file, so neither
          // one's touches or checkpoints land in the other's measurement).
          const copy = join(tmp, `sessions-${n}-base.sqlite`);
          copyFileSync(file, copy);
          const sb = await startKeyward(`kw-sqlite-base-${n}`, { STORE: 'sqlite', SQLITE_FILE: copy, KEYWARD_DIST: opt.compare });
          servers.push(sb);
          curve.sqliteBase.push({ n, file: copy, server: sb, script: sScript, rssIdle: rssOf(sb.proc.pid) });
        }
        const ss = await startKeyward(`kw-sqlite-${n}`, { STORE: 'sqlite', SQLITE_FILE: file });
        servers.push(ss);
        curve.sqlite.push({ ...sEntry, server: ss, script: sScript, rssIdle: rssOf(ss.proc.pid) });
      }
    }
    for (const [scenario, path] of [['session', '/api/me'], ['proxy', '/api/proxy/up/items']]) {
      log(`  scenario ${scenario}`);
      const rows = [
        ...curve.redis.map((e) => ({ id: `redis-${e.n}`, e })),
        ...curve.sqlite.map((e) => ({ id: `sqlite-${e.n}`, e })),
        ...(curve.sqliteBase ?? []).map((e) => ({ id: `sqlite-base-${e.n}`, e })),
      ].map(({ id, e }) => ({
        id,
        port: e.server.port,
        pid: e.server.proc.pid,
        path,
        script: e.script,
      }));
      const r = await interleave(rows);
      for (const e of curve.redis) e[scenario] = r[`redis-${e.n}`];
      for (const e of curve.sqlite) e[scenario] = r[`sqlite-${e.n}`];
      for (const e of curve.sqliteBase ?? []) e[scenario] = r[`sqlite-base-${e.n}`];
    }
    for (const e of [...curve.redis, ...curve.sqlite, ...(curve.sqliteBase ?? [])]) {
      e.rssLoaded = rssOf(e.server.proc.pid);
      if (e.file) {
        e.walAfter = fileSize(`${e.file}-wal`);
        e.fileAfter = fileSize(e.file);
      }
      delete e.server;
    }
    await Promise.all(servers.map((s) => stop(s.proc)));
    results.curve = curve;
  });

  // ---------------------------------------------------------------- 2. one user, many sessions
  if (SECTIONS.has('heavy')) await section('heavy', async () => {
    log(`one user with ${HEAVY} sessions (and one with 10): list, revoke, logout-all`);
    const heavy = [];
    for (const kind of ['redis', 'sqlite'].filter((k) => STORES.has(k))) {
      for (const count of [10, HEAVY]) {
        const times = { list: [], revoke: [], logoutAll: [] };
        let listed = 0;
        let ended = 0;
        for (let rep = 0; rep < 3; rep++) {
          const userId = `heavy-${kind}-${count}-${rep}`;
          const sample = new Set([0]);
          let s;
          let cookies;
          if (kind === 'redis') {
            const client = dbClient(9);
            ({ cookies } = await populateRedis(client, sessions(count, { userOf: () => userId, sample, secret: SESSION_SECRET })));
            client.disconnect();
            s = await startKeyward(`kw-heavy-${kind}`, { REDIS_URL: redisAt(9), EXTRA_ROUTES: '1' });
          } else {
            const file = join(tmp, `heavy-${count}-${rep}.sqlite`);
            ({ cookies } = await populateSqlite(file, sessions(count, { userOf: () => userId, sample, secret: SESSION_SECRET }), kw.SqliteStore));
            s = await startKeyward(`kw-heavy-${kind}`, { STORE: 'sqlite', SQLITE_FILE: file, EXTRA_ROUTES: '1' });
          }
          const h = browserHeaders(cookies[0]);
          await httpCall(s.port, 'GET', '/api/me', h);
          let handles = [];
          for (let k = 0; k < 5; k++) {
            const t = performance.now();
            const r = await httpCall(s.port, 'GET', '/api/sessions', h);
            times.list.push(performance.now() - t);
            if (r.status !== 200) throw new Error(`list: ${r.status} ${r.body.slice(0, 200)}`);
            const body = JSON.parse(r.body);
            listed = body.length;
            handles = body.filter((x) => !x.current).map((x) => x.id);
          }
          for (const handle of handles.slice(0, 5)) {
            const t = performance.now();
            const r = await httpCall(s.port, 'DELETE', `/api/sessions/${handle}`, h);
            times.revoke.push(performance.now() - t);
            if (r.status !== 200) throw new Error(`revoke: ${r.status} ${r.body.slice(0, 200)}`);
          }
          const t = performance.now();
          const r = await httpCall(s.port, 'POST', '/auth/logout-all', h);
          times.logoutAll.push(performance.now() - t);
          if (r.status !== 200) throw new Error(`logout-all: ${r.status} ${r.body.slice(0, 200)}`);
          ended = JSON.parse(r.body).ended;
          await stop(s.proc);
        }
        heavy.push({ kind, count, listed, ended, list: median(times.list), revoke: median(times.revoke), logoutAll: median(times.logoutAll) });
        log(`  ${kind} ${count}: list ${median(times.list).toFixed(1)} ms, revoke ${median(times.revoke).toFixed(1)} ms, logout-all ${median(times.logoutAll).toFixed(1)} ms (${ended} ended)`);
      }
    }
    results.heavy = heavy;
  });

  // ---------------------------------------------------------------- 3. live secrets
  if (SECTIONS.has('secrets')) await section('secrets', async () => {
    log('redaction registry: scrub cost by number of live secrets (in-process)');
    const r = await run(process.execPath, ['--expose-gc', join(here, 'src/probe/secrets.mjs'), String(MINTED)]);
    if (r.code !== 0) throw new Error(`secrets probe failed: ${r.stderr}`);
    results.secrets = JSON.parse(r.stdout);
    for (const row of results.secrets.rows) log(`  ${row.n}: ${row.heapMiB.toFixed(1)} MiB, scrub ${row.lineUs.toFixed(2)} µs/line, still scrubbed ${row.stillScrubbed}/${row.n}`);

    log(`${MINTED} sessions with a distinct minted key each, then their expiry: sweep and revocation`);
    const s = await startKeyward('kw-minted', { REDIS_URL: redisAt(8), CREDENTIAL: 'minted', LIVE_KEYS: 'distinct', BENCH_PROBE: '1', SWEEP_MS: '0' });
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < MINTED) {
          const i = next++;
          await login(s, `minted-${i}`);
        }
      }),
    );
    const loginS = (performance.now() - t0) / 1000;
    const before = await probeCall(s, 'GET', '/secrets');
    const rssBefore = rssOf(s.proc.pid);
    await probeCall(s, 'POST', '/clock?advance=46800000'); // 13 h: past the absolute deadline
    await probeCall(s, 'GET', '/eld?reset=1');
    const sweep = await probeCall(s, 'POST', '/sweep');
    const eld = await probeCall(s, 'GET', '/eld?reset=1');
    const after = await probeCall(s, 'GET', '/secrets');
    results.minted = { n: MINTED, loginS, before, after, sweep, eld, rssBefore, rssAfter: rssOf(s.proc.pid) };
    log(`  logins ${loginS.toFixed(1)} s; registry ${before.runtime} run-time entries (${(before.runtimeBytes / 1048576).toFixed(1)} MiB); sweep ended ${sweep.ended} in ${sweep.ms} ms, ${after.revoked} revoked, loop max ${eld.max} ms; registry after ${after.runtime}`);
    await stop(s.proc);
  });

  // ---------------------------------------------------------------- 4. the sweep
  if (SECTIONS.has('sweep')) await section('sweep', async () => {
    log(`sweep of ${EXPIRED} (SQLite: ${EXPIRED_SQLITE}) expired sessions: alone, in-process, then under load (session check, ${HOT} live sessions)`);
    results.sweep = [];
    for (const kind of ['redis', 'sqlite'].filter((k) => STORES.has(k))) {
      const expired = kind === 'sqlite' ? EXPIRED_SQLITE : EXPIRED;
      const sample = spread(HOT, HOT);
      const file = join(tmp, 'sweep.sqlite');
      const client = kind === 'redis' ? dbClient(10) : undefined;
      // Writes `expired` sessions that expired a minute ago (their own users) into the server's store.
      const addExpired = async () =>
        kind === 'redis'
          ? populateRedis(client, sessions(expired, { userOf: userOfIndex(`x${Date.now()}-`), expired: true }))
          : populateSqlite(file, sessions(expired, { userOf: userOfIndex(`x${Date.now()}-`), expired: true }), kw.SqliteStore);
      let s;
      let cookies;
      if (kind === 'redis') {
        await client.flushdb();
        ({ cookies } = await populateRedis(client, sessions(HOT, { userOf: userOfIndex('l'), sample, secret: SESSION_SECRET })));
        s = await startKeyward('kw-sweep-redis', { REDIS_URL: redisAt(10), BENCH_PROBE: '1', SWEEP_MS: '0' });
      } else {
        ({ cookies } = await populateSqlite(file, sessions(HOT, { userOf: userOfIndex('l'), sample, secret: SESSION_SECRET }), kw.SqliteStore));
        s = await startKeyward('kw-sweep-sqlite', { STORE: 'sqlite', SQLITE_FILE: file, BENCH_PROBE: '1', SWEEP_MS: '0' });
      }
      const script = writeCookieScript(join(tmp, `sweep-${kind}.lua`), cookies);
      const chunk = (secs) => load(tool, { url: `http://127.0.0.1:${s.port}/api/me`, headers: browserHeaders(), connections: CONNECTIONS, seconds: secs, script });
      const CHUNK = QUICK ? 1 : 2;
      await chunk(WARMUP || 1);

      // 1. The sweep alone: no other load, the app's own event-loop delay while it runs.
      await addExpired();
      await sleep(500);
      await probeCall(s, 'GET', '/eld?reset=1');
      const alone = await probeCall(s, 'POST', '/sweep');
      alone.eld = await probeCall(s, 'GET', '/eld?reset=1');
      log(`  ${kind} alone: ended ${alone.ended} in ${alone.ms} ms; event-loop delay max ${alone.eld.max} / p99 ${alone.eld.p99} ms`);

      // 2. The same sweep in a process of its own, timed between turns of the loop (sub-ms).
      const args = [join(here, 'src/probe/sweep-slices.mjs'), '--store', kind, '--expired', String(expired), '--json', ...(kind === 'redis' ? ['--redis-url', redisAt(11)] : [])];
      const pr = await run(process.execPath, args);
      const inProcess = JSON.parse(pr.stdout.trim().split('\n').pop());
      log(`  ${kind} in-process: ended ${inProcess.ended} in ${inProcess.sweepMs} ms; longest synchronous stretch ${inProcess.longestStretchMs.toFixed(1)} ms (on a CPU ${inProcess.longestStretchCpuMs.toFixed(1)}, waiting for one ${inProcess.longestStretchWaitMs.toFixed(1)}); longest on a CPU ${inProcess.longestCpuStretchMs.toFixed(1)} ms`);

      // 3. Under load. Without a sweep: the same chunks of load.
      const base = [];
      const during = [];
      let done = null;
      let sweepCall;
      try {
      await addExpired();
      await probeCall(s, 'GET', '/eld?reset=1');
      for (let k = 0; k < (QUICK ? 2 : 5); k++) {
        const r = await chunk(CHUNK);
        r.eld = await probeCall(s, 'GET', '/eld?reset=1');
        base.push(r);
      }
      // With the sweep: start it, keep loading in chunks until it is done.
      // The first chunk starts before the sweep (a synchronous store can hold the event loop
      // for the whole sweep: the load must already be running to see it).
      await probeCall(s, 'GET', '/eld?reset=1');
      while (!done) {
        const pending = chunk(CHUNK);
        if (!sweepCall) {
          await sleep(300);
          sweepCall = probeCall(s, 'POST', '/sweep').then((v) => (done = v));
        }
        const r = await pending;
        r.eld = await probeCall(s, 'GET', '/eld?reset=1');
        during.push(r);
        if (during.length > 300) break;
      }
      await sweepCall;
      } catch (e) {
        // What the server wrote says why (a crash, a refusal): the run's log keeps it.
        log(`  ${kind} server output (last 3 KB):\n${s.output().slice(-3000)}`);
        throw e;
      }
      client?.disconnect();
      const entry = {
        kind,
        expired,
        alone: { ended: alone.ended, sweepMs: alone.ms, eldMax: alone.eld.max, eldP99: alone.eld.p99 },
        inProcess,
        ended: done.ended,
        sweepMs: done.ms,
        base: { rps: median(base.map((r) => r.rps)), p99: median(base.map((r) => r.p99)), eldMax: Math.max(...base.map((r) => r.eld.max)), eldP99: median(base.map((r) => r.eld.p99)), errors: base.reduce((n, r) => n + r.errors, 0) },
        during: {
          chunks: during.length,
          rps: median(during.map((r) => r.rps)),
          p99: median(during.map((r) => r.p99)),
          p99Worst: Math.max(...during.map((r) => r.p99)),
          eldMax: Math.max(...during.map((r) => r.eld.max)),
          eldP99: median(during.map((r) => r.eld.p99)),
          errors: during.reduce((n, r) => n + r.errors, 0),
        },
      };
      results.sweep.push(entry);
      log(`  ${kind} under load: ended ${done.ended} in ${done.ms} ms; p99 ${entry.base.p99.toFixed(1)} -> ${entry.during.p99.toFixed(1)} ms (worst chunk ${entry.during.p99Worst.toFixed(1)}); loop max ${entry.base.eldMax} -> ${entry.during.eldMax} ms`);
      await stop(s.proc);
    }
  });

  // ---------------------------------------------------------------- 5. request logging
  if (SECTIONS.has('logging')) await section('logging', async () => {
    log('request logging: Keyward logRequests (redaction on/off, 20k live secrets) and the advisory stack with nestjs-pino');
    const defs = [
      { id: 'kw-nolog', label: 'Keyward on Express, no request log', server: 'keyward', env: {} },
      { id: 'kw-log-redact', label: 'Keyward, `logRequests` + `KeywardLogger` (pino, redact paths, live-secret scrub)', server: 'keyward', env: { LOG_REQUESTS: '1', LOGGER: 'redacting' } },
      { id: 'kw-log-plain', label: 'Keyward, `logRequests` + plain pino (no redaction)', server: 'keyward', env: { LOG_REQUESTS: '1', LOGGER: 'plain' } },
      { id: 'kw-log-redact-20k', label: `Keyward, \`logRequests\` + \`KeywardLogger\`, ${MINTED.toLocaleString('en-US')} live secrets in the registry`, server: 'keyward', env: { LOG_REQUESTS: '1', LOGGER: 'redacting', LIVE_SECRETS: String(MINTED) } },
      { id: 'adv-nolog', label: 'Advisory stack, no request log', server: 'advisory', env: {} },
      { id: 'adv-pino', label: 'Advisory stack + `nestjs-pino` (pino-http, cookie headers redacted)', server: 'advisory', env: { LOGGER: 'nestjs-pino' } },
    ];
    const servers = {};
    for (const d of defs) {
      const logFile = join(tmp, `${d.id}.log`);
      const env = { ...BASE_ENV, REDIS_URL: redis.url, ...d.env, ...(d.env.LOGGER ? { LOG_FILE: logFile } : {}) };
      const s = await startNode(d.id, join(here, 'src/servers', `${d.server}.mjs`), env);
      s.logFile = logFile;
      s.cookie = await login(s);
      servers[d.id] = s;
    }
    const sizes0 = Object.fromEntries(defs.map((d) => [d.id, fileSize(servers[d.id].logFile)]));
    const r = await interleave(defs.map((d) => ({ id: d.id, port: servers[d.id].port, pid: servers[d.id].proc.pid, path: '/api/me', cookie: servers[d.id].cookie })));
    await sleep(500);
    results.logging = defs.map((d) => ({ ...d, ...r[d.id], logBytesPerReq: (fileSize(servers[d.id].logFile) - sizes0[d.id]) / Math.max(1, r[d.id].requests) }));
    const sample = readFileSync(servers['kw-log-redact'].logFile, 'utf8').split('\n').find((l) => l.includes('GET /api/me'));
    const advSample = readFileSync(servers['adv-pino'].logFile, 'utf8').split('\n').find((l) => l.includes('"url":"/api/me"'));
    results.loggingSamples = { keyward: sample, advisory: advSample };
    await Promise.all(Object.values(servers).map((s) => stop(s.proc)));
  });

  // ---------------------------------------------------------------- 6. the session check on Express
  if (SECTIONS.has('check')) await section('check', async () => {
    log('session check on Express: advisory, Keyward (auto-pipelining on / off), plain NestJS');
    const defs = [
      { id: 'adv-fetch', label: 'Advisory: express-session + connect-redis 9 (1)', server: 'advisory', env: { CLIENT: 'fetch' } },
      { id: 'kw-express', label: 'Keyward on Express, ioredis auto-pipelining on (the store\'s default) (3)', server: 'keyward', env: {} },
      { id: 'kw-express-noap', label: 'Keyward on Express, auto-pipelining off (`REDIS_OPTIONS={"enableAutoPipelining":false}`)', server: 'keyward', env: { REDIS_OPTIONS: '{"enableAutoPipelining":false}' } },
      { id: 'ceiling', label: 'Plain NestJS on Express, no session (5)', server: 'ceiling', env: {} },
    ];
    const servers = {};
    for (const d of defs) {
      const s = await startNode(d.id, join(here, 'src/servers', `${d.server}.mjs`), { ...BASE_ENV, REDIS_URL: redis.url, ...d.env });
      if (d.server !== 'ceiling') s.cookie = await login(s);
      servers[d.id] = s;
    }
    const rows = [];
    for (const [scenario, path] of [['session', '/api/me'], ['proxy', '/api/proxy/up/items']]) {
      const r = await interleave(defs.map((d) => ({ id: d.id, port: servers[d.id].port, pid: servers[d.id].proc.pid, path, cookie: servers[d.id].cookie })));
      rows.push(...defs.map((d) => ({ scenario, ...d, ...r[d.id] })));
    }
    results.check = rows;
    await Promise.all(Object.values(servers).map((s) => stop(s.proc)));
  });
} finally {
  closeHttp();
  await stopAll();
  await redis.close().catch(() => {});
}

// ------------------------------------------------------------------ report
const rootReq = createRequire(join(root, 'package.json'));
const ver = (name) => {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'n/a';
  }
};
results.machine = {
  date: new Date().toISOString().replace('T', ' ').slice(0, 19) + ' UTC',
  seconds: Math.round((Date.now() - started) / 1000),
  nproc: os.availableParallelism(),
  cpu: os.cpus()[0]?.model?.trim(),
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  loadStart,
  loadEnd: loadavg(),
  node: process.version,
  redis: (await run('redis-server', ['--version'])).stdout.trim().replace(/ sha=.*$/, ''),
  tool: tool.version,
  versions: { nest: ver('@nestjs/core'), ioredis: ver('ioredis'), 'better-sqlite3': ver('better-sqlite3'), pino: ver('pino'), 'nestjs-pino': ver('nestjs-pino'), 'pino-http': ver('pino-http') },
  keyward: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim(),
};
void rootReq;
rmSync(tmp, { recursive: true, force: true });

const base = await writeOutputs(results, QUICK || SECTIONS.size !== ALL_SECTIONS.length || opt.sizes || opt.rounds || opt.duration);
log(`wrote bench/results/${base}.md and ${base}.svg (load average at end ${results.machine.loadEnd})`);

/** Writes the markdown, the SVG and the JSON (and, after a full run, the dated copies and the README section). */
async function writeOutputs(results, partial) {
  const { renderScale, renderChart } = await import('./src/harness/scale-report.mjs');
  const outDir = join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  const base = partial ? 'scale-quick' : 'scale-latest';
  const svg = renderChart(results);
  writeFileSync(join(outDir, `${base}.svg`), svg);
  const md = renderScale(results, { svgName: `${base}.svg`, command: results.command });
  writeFileSync(join(outDir, `${base}.md`), md);
  writeFileSync(join(outDir, `${base}.json`), JSON.stringify(results, null, 1));
  if (base === 'scale-latest') {
    const day = new Date().toISOString().slice(0, 10);
    writeFileSync(join(outDir, `scale-${day}.md`), md.replaceAll('scale-latest.svg', `scale-${day}.svg`));
    writeFileSync(join(outDir, `scale-${day}.svg`), svg);
    const readme = join(here, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const start = '<!-- scale-results:start -->';
    const end = '<!-- scale-results:end -->';
    if (text.includes(start)) {
      const section = `${start}\nLatest scale run (${results.machine.date}, from [results/scale-latest.md](results/scale-latest.md)):\n\n![Scale curve and ratios](results/scale-latest.svg)\n\n${md.replace(/^# .*\n/, '').replace(/^(#{2,3}) /gm, '#$1 ').replaceAll('](scale-latest.svg)', '](results/scale-latest.svg)').replace(/!\[[^\]]*\]\(results\/scale-latest\.svg\)\n/, '')}\n${end}`;
      writeFileSync(readme, text.slice(0, text.indexOf(start)) + section + text.slice(text.indexOf(end) + end.length));
    }
  }
  return base;
}
