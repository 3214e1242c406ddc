// What durable ends cost a logout (issue 27), and that a session check does not change.
// A real master and one replica (redis-server on free loopback ports, stopped by PID); the
// built RedisStore with `durableEnds: false` and `true`; per mode: the store's part of a
// logout (`take`, + WAIT under durable ends) and of a session check (`load`, no touch due),
// one at a time (latency) and 50 at once (throughput).
//
//   node scripts/build.mjs packages/nest && node bench/logout-latency.mjs [--ops 3000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const { RedisStore } = await import(new URL('../packages/nest/dist/src/index.js', import.meta.url).href);
const OPS = Number(process.argv[process.argv.indexOf('--ops') + 1]) || 3000;
const CONCURRENCY = 50;

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ask = (port, line) => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1', () => s.write(line + '\r\n'));
  let out = '';
  s.on('data', (d) => { out += d; if (out.endsWith('\r\n')) { s.destroy(); resolve(out); } });
  s.on('error', () => resolve(''));
});

const dir = mkdtempSync(join(tmpdir(), 'kw-bench-logout-'));
const procs = [];
async function redis(args) {
  const port = await freePort();
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `${port}.rdb`, ...args], { stdio: 'ignore' });
  procs.push(p);
  while (!(await ask(port, 'PING')).startsWith('+PONG')) await sleep(50);
  return port;
}

function record(key) {
  const now = Date.now();
  return { key, handle: `h${key}`, userId: `u${key.slice(0, 3)}`, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 7_200_000, version: 1, data: { user: '{"id":"bench"}' } };
}
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (ns) => (Number(ns) / 1e6).toFixed(3);

async function measure(store, label) {
  const keys = Array.from({ length: OPS }, (_, i) => `${label}-${i}-${Math.random().toString(36).slice(2)}`);
  const touch = { now: Date.now(), touchAfterMs: 3_600_000, idleMs: 3_600_000 };
  const one = async (fn) => { const t = process.hrtime.bigint(); await fn(); return process.hrtime.bigint() - t; };
  await Promise.all(keys.map((k) => store.create(record(k))));
  const checks = [];
  for (const k of keys) checks.push(await one(() => store.load(k, touch)));
  const logouts = [];
  for (const k of keys.slice(0, OPS / 2)) logouts.push(await one(() => store.take(k)));
  // 50 at once: the rest of the logouts, and as many session checks of live sessions.
  const rest = keys.slice(OPS / 2);
  const pool = async (items, fn) => { const t = process.hrtime.bigint(); let i = 0; await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (i < items.length) await fn(items[i++]); })); return items.length / (Number(process.hrtime.bigint() - t) / 1e9); };
  const checkRate = await pool(rest, (k) => store.load(k, touch));
  const logoutRate = await pool(rest, (k) => store.take(k));
  for (const xs of [checks, logouts]) xs.sort((a, b) => (a < b ? -1 : 1));
  return { label, check: [ms(pct(checks, 50)), ms(pct(checks, 99))], logout: [ms(pct(logouts, 50)), ms(pct(logouts, 99))], checkRate: Math.round(checkRate), logoutRate: Math.round(logoutRate) };
}

try {
  const master = await redis([]);
  const replica = await redis(['--replicaof', '127.0.0.1', String(master)]);
  const probe = new Redis({ port: master, host: '127.0.0.1' });
  while (!/state=online/.test(String(await probe.info('replication')))) await sleep(50);
  probe.disconnect();
  const rows = [];
  for (const [label, durableEnds] of [['durable ends off', false], ['durable ends on (WAIT 1)', true], ['durable ends off', false], ['durable ends on (WAIT 1)', true]]) {
    const store = new RedisStore({ url: `redis://127.0.0.1:${master}`, prefix: 'bench:', durableEnds });
    await store.ping();
    rows.push(await measure(store, label.replace(/\W+/g, '')));
    rows.at(-1).label = label;
    await store.close();
  }
  console.log(`ops per mode: ${OPS} (half one at a time, half ${CONCURRENCY} at once); replica on 127.0.0.1:${replica}`);
  console.log('| mode | logout p50 / p99 (ms) | logouts/s, 50 at once | session check p50 / p99 (ms) | session checks/s, 50 at once |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.label} | ${r.logout.join(' / ')} | ${r.logoutRate} | ${r.check.join(' / ')} | ${r.checkRate} |`);
} finally {
  for (const p of procs) process.kill(p.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
