#!/usr/bin/env node
// What one session read costs a NestJS route, apart from everything else Keyward does:
// interleaved wrk rounds against variants of round-trip-server.mjs and, as `kw` (or
// `kw:<other build>/dist/src/index.js`), the Keyward bench server; prints req/s and the
// server's CPU µs per request (medians). Needs redis-server and wrk.
//   node bench/src/probe/round-trip.mjs plain mwguard redis kw
// Env: SECS (per round, 4), ROUNDS (3), URLPATH (/api/me), EXTRA (JSON env for every server).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startNode, freePort, stop } from '../harness/processes.mjs';
const variants = process.argv.slice(2);
const rport = await freePort();
const redis = spawn('redis-server', ['--port', String(rport), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const servers = {};
for (const v of variants) {
  const [script, env] = v.startsWith('kw') ? ['../servers/keyward.mjs', { VARIANT: v, SESSION_SECRET: 'x'.repeat(43), VAULT_KEY: Buffer.alloc(32, 7).toString('base64'), API_KEY: 'k'.repeat(30), UPSTREAM_URL: 'http://127.0.0.1:9/', ...(v.includes(':') ? { KEYWARD_DIST: v.split(':')[1] } : {}) }] : ['round-trip-server.mjs', { VARIANT: v }];
  servers[v] = await startNode(v, new URL(script, import.meta.url).pathname, { ...env, PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${rport}`, ...process.env.EXTRA ? JSON.parse(process.env.EXTRA) : {} });
}
const cpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10000; };
let cookie = '';
const kwv = variants.find((v) => v.startsWith('kw'));
if (kwv) {
  const r = await fetch(`http://127.0.0.1:${servers[kwv].port}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf': '1', 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${servers[kwv].port}` }, body: JSON.stringify({ id: 'u1' }) });
  cookie = r.headers.getSetCookie()[0].split(';')[0];
  console.log('login', r.status);
}
function wrk(port, secs, path) {
  const out = execFileSync('wrk', ['-t1', '-c50', `-d${secs}s`, '-H', `cookie: ${cookie}`, '-H', 'x-csrf: 1', '-H', 'sec-fetch-site: same-origin', `http://127.0.0.1:${port}${path}`]).toString();
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}
const res = Object.fromEntries(variants.map((v) => [v, []]));
const path = process.env.URLPATH ?? '/api/me';
for (const v of variants) wrk(servers[v].port, 2, path);
const rounds = Number(process.env.ROUNDS ?? 3);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...variants].reverse() : variants;
  for (const v of order) {
    const s = servers[v];
    wrk(s.port, 1, path);
    const c0 = cpu(s.proc.pid); const t0 = Date.now();
    const rps = wrk(s.port, Number(process.env.SECS ?? 4), path);
    const c1 = cpu(s.proc.pid);
    res[v].push([rps, (c1 - c0) / (rps * (Date.now() - t0) / 1000)]);
  }
}
for (const v of variants) {
  const rps = res[v].map((x) => x[0]).sort((a, b) => a - b); const us = res[v].map((x) => x[1]).sort((a, b) => a - b);
  console.log(v.padEnd(14), 'req/s', Math.round(rps[rps.length >> 1]), 'cpu µs/req', us[us.length >> 1].toFixed(0), '  all', res[v].map((x) => Math.round(x[0])).join(' '));
}
for (const s of Object.values(servers)) await stop(s.proc);
redis.kill();
