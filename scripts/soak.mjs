// Bounded soak test on loopback: `node scripts/soak.mjs [--minutes N | --seconds N] [--concurrency C] [--json]`.
// Memory investigation (bench/README.md, issue 18): `--heap-mb N` caps the app's V8 heap
// (--max-old-space-size), `--mem-every S` samples the app's process.memoryUsage() every S
// seconds (bench/src/probe/mem-probe.mjs, preloaded with --import) and prints the series,
// `--app-env K=V,K=V` adds environment to the app (e.g. MALLOC_ARENA_MAX=2),
// `--heap-snapshots S,S` writes a V8 heap snapshot of the app S seconds after it starts (into
// `--snapshot-dir D`, default the current folder, as mem-<n>-<S>s.heapsnapshot; needs
// --mem-every; diff two with bench/src/probe/mem-attribute.mjs).
// The memory series gives the logins done by each sample and a summary at the start, 1/4,
// 1/2, 3/4 and the end (docs/memory.md).
// Starts its own redis-server, demo upstream and demo app (Redis store, fast key rotation), runs mixed
// traffic (login, proxied calls on the server and minted keys, logout) until the time is up, and reports
// errors, p99 per window, and memory (app RSS, Redis used_memory) at the start and the end. Stops by itself.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const seconds = Number(arg('seconds', '0')) || Number(arg('minutes', '10')) * 60;
const concurrency = Number(arg('concurrency', '16'));
const windowMs = Number(arg('window', String(Math.max(5000, Math.min(60_000, (seconds * 1000) / 10)))));
const asJson = process.argv.includes('--json');
const heapMb = Number(arg('heap-mb', '0'));
const memEvery = Number(arg('mem-every', '0'));
const snapshotsAt = (arg('heap-snapshots', '') || '').split(',').filter(Boolean).map(Number);
const snapshotDir = arg('snapshot-dir', process.cwd());
const appEnv = Object.fromEntries((arg('app-env', '') || '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
function start(cmd, args, env) {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
  children.push(p);
  return p;
}
function stopAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

async function waitFor(url) {
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await sleep(50);
  }
  throw new Error(`not up: ${url}`);
}
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const redisMemory = (port) => Number(/used_memory:(\d+)/.exec(execFileSync('redis-cli', ['-p', String(port), 'info', 'memory']).toString())?.[1] ?? 0);

const dir = mkdtempSync(join(tmpdir(), 'kw-soak-'));
const [redisPort, upstreamPort, appPort] = [await freePort(), await freePort(), await freePort()];
start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
for (let i = 0; i < 100; i++) {
  try {
    execFileSync('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: 'ignore' });
    break;
  } catch {
    await sleep(50);
  }
}
const env = {
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  PORT: String(appPort),
  UPSTREAM_PORT: String(upstreamPort),
  KEYWARD_DATA_DIR: dir,
  REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  DEMO_UPSTREAM_KEY: `soak_${randomBytes(16).toString('hex')}`,
  DEMO_UPSTREAM_ADMIN_TOKEN: randomBytes(16).toString('hex'),
  KEYWARD_MINT_ROTATE_MS: '5000',
  KEYWARD_MINT_GRACE_MS: '1000',
  // Workers share the demo users and each keeps its session: the per-user cap (default 10)
  // would end them mid-run. The cap has its own tests (demo-lifecycle.e2e).
  KEYWARD_MAX_SESSIONS_PER_USER: '1000',
  // Half the logins fail on purpose (a wrong password), all from this one client: lift the
  // login rate limit (5 per username, 20 per client by default), which has its own tests.
  KEYWARD_LOGIN_FAILURES_PER_USERNAME: '1000000',
  KEYWARD_LOGIN_FAILURES_PER_CLIENT: '1000000',
  // Each worker proxies as fast as it can with one session: lift the per-session call limit
  // (600 a minute by default), which has its own tests (proxy-rate-limit.e2e).
  KEYWARD_PROXY_CALLS_PER_MINUTE: '1000000',
};
start(process.execPath, [join(root, 'apps/demo-upstream/dist/src/main.js')], env);
const memFile = join(dir, 'mem.jsonl');
const nodeOptions = [
  ...(heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : []),
  ...(memEvery > 0 ? [`--import=${join(root, 'bench/src/probe/mem-probe.mjs')}`] : []),
].join(' ');
const appSpawnedAt = Date.now();
const app = start(process.execPath, [join(root, 'apps/demo/dist/src/main.js')], {
  ...env,
  ...appEnv,
  ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  ...(memEvery > 0 ? { MEM_PROBE_FILE: memFile, MEM_PROBE_MS: String(memEvery * 1000) } : {}),
  ...(snapshotsAt.length ? { MEM_PROBE_SNAPSHOTS: snapshotsAt.join(','), MEM_PROBE_SNAPSHOT_DIR: snapshotDir } : {}),
});
app.spawnedAt = appSpawnedAt;
const base = `http://127.0.0.1:${appPort}`;
await waitFor(`${base}/healthz`);

const startMem = { appRss: rss(app.pid), redisUsed: redisMemory(redisPort) };
const began = Date.now();
const deadline = began + seconds * 1000;
// Logins done so far, every second (to put beside the app's memory samples).
const loginSeries = [];
const loginTimer = memEvery > 0 ? setInterval(() => loginSeries.push({ t: (Date.now() - began) / 1000, logins: totals.logins }), 1000) : null;
const windows = [];
let current = { started: Date.now(), latencies: [], errors: 0, requests: 0 };
const totals = { requests: 0, errors: 0, logins: 0, logouts: 0, proxied: 0, byStatus: {}, failures: {} };
const h = { 'x-csrf': '1', origin: base, 'content-type': 'application/json' };

async function call(method, path, cookie, body, expected = [200, 204]) {
  const t0 = performance.now();
  let status = 0;
  let setCookie = [];
  try {
    const res = await fetch(base + path, { method, headers: { ...h, ...(cookie ? { cookie } : {}) }, body: body ? JSON.stringify(body) : undefined });
    status = res.status;
    setCookie = res.headers.getSetCookie();
    await res.arrayBuffer();
  } catch (e) {
    status = -1;
    // Why the request failed (no answer at all): the error's code, counted.
    const why = String(e?.cause?.code ?? e?.cause?.message ?? e?.message ?? 'unknown');
    totals.failures[why] = (totals.failures[why] ?? 0) + 1;
  }
  const ms = performance.now() - t0;
  if (Date.now() - current.started >= windowMs) {
    windows.push(current);
    current = { started: Date.now(), latencies: [], errors: 0, requests: 0 };
  }
  current.latencies.push(ms);
  current.requests++;
  totals.requests++;
  totals.byStatus[status] = (totals.byStatus[status] ?? 0) + 1;
  if (!expected.includes(status)) {
    current.errors++;
    totals.errors++;
  }
  return { status, setCookie };
}

async function worker() {
  while (Date.now() < deadline) {
    const login = await call('POST', '/api/auth/login', undefined, { username: Math.random() < 0.5 ? 'alice' : 'bob', password: Math.random() < 0.5 ? 'alice-password' : 'bob-password' }, [200, 401]);
    totals.logins++;
    const cookie = login.setCookie.find((c) => c.startsWith('sid='))?.split(';')[0];
    if (!cookie) continue;
    for (let i = 0; i < 10 && Date.now() < deadline; i++) {
      await call('GET', i % 2 ? '/api/proxy/demo-session/echo' : '/api/proxy/demo/echo', cookie);
      totals.proxied++;
    }
    await call('GET', '/api/auth/session', cookie);
    await call('POST', '/api/auth/logout', cookie);
    totals.logouts++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
windows.push(current);
if (loginTimer) clearInterval(loginTimer);
await sleep(1500); // let rotations' grace revocations settle
const endMem = { appRss: rss(app.pid), redisUsed: redisMemory(redisPort) };

const pct = (xs, p) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const report = {
  seconds,
  concurrency,
  totals,
  windows: windows.map((w, i) => ({ window: i + 1, requests: w.requests, errors: w.errors, p50: +pct(w.latencies, 50).toFixed(1), p99: +pct(w.latencies, 99).toFixed(1) })),
  memory: { start: startMem, end: endMem },
  ...(heapMb > 0 ? { heapMb } : {}),
  ...(Object.keys(appEnv).length ? { appEnv } : {}),
};
if (memEvery > 0) {
  try {
    report.memorySeries = readFileSync(memFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // The app's probe counts from its own start, a little before the traffic: pair each
    // sample with the logins done by the nearest soak tick at or before it.
    const lag = (began - app.spawnedAt) / 1000;
    for (const m of report.memorySeries) m.logins = [...loginSeries].reverse().find((l) => l.t <= m.t - lag)?.logins ?? 0;
  } catch {
    report.memorySeries = [];
  }
}
stopAll();
rmSync(dir, { recursive: true, force: true });
if (asJson) console.log(JSON.stringify(report));
else {
  console.log(`soak: ${seconds}s, ${concurrency} workers, ${totals.requests} requests, ${totals.errors} errors, ${totals.logins} logins, ${totals.proxied} proxied, ${totals.logouts} logouts`);
  console.log('window  requests  errors  p50 ms  p99 ms');
  for (const w of report.windows) console.log(`${String(w.window).padStart(6)}  ${String(w.requests).padStart(8)}  ${String(w.errors).padStart(6)}  ${String(w.p50).padStart(6)}  ${String(w.p99).padStart(6)}`);
  console.log(`memory: app RSS ${(startMem.appRss / 1048576).toFixed(1)} -> ${(endMem.appRss / 1048576).toFixed(1)} MiB, redis used ${(startMem.redisUsed / 1048576).toFixed(2)} -> ${(endMem.redisUsed / 1048576).toFixed(2)} MiB`);
  if (report.memorySeries) {
    const mib = (v) => (v / 1048576).toFixed(1).padStart(7);
    console.log('app memory (MiB; other = rss - heapTotal - external: malloc arenas, stacks, code)');
    const head = '     t      rss heapTot heapUsd  extern  arrBuf  other    anon thr  logins';
    const line = (m) => `${String(m.t).padStart(6)} ${mib(m.rss)} ${mib(m.heapTotal)} ${mib(m.heapUsed)} ${mib(m.external)} ${mib(m.arrayBuffers)} ${mib(m.rss - m.heapTotal - m.external)} ${mib(m.anon)} ${String(m.threads).padStart(3)} ${String(m.logins).padStart(7)}`;
    console.log(head);
    for (const m of report.memorySeries) console.log(line(m));
    const s = report.memorySeries;
    if (s.length >= 5) {
      console.log('summary (start, 1/4, 1/2, 3/4, end)');
      console.log(head);
      for (const q of [0, 0.25, 0.5, 0.75, 1]) console.log(line(s[Math.round(q * (s.length - 1))]));
      // Plateau: RSS growth over the second half against the first half's.
      const mid = s[Math.round((s.length - 1) / 2)];
      console.log(`rss growth: first half ${mib(mid.rss - s[0].rss).trim()} MiB, second half ${mib(s[s.length - 1].rss - mid.rss).trim()} MiB`);
    }
  }
}
process.exit(totals.errors > 0 ? 1 : 0);
