#!/usr/bin/env node
// Client CPU per HGETALL of a session-sized hash (8 fields), 50 commands in flight, for
// ioredis with and without auto-pipelining and node-redis; medians of 5 rounds of 40,000.
// Starts its own redis-server on a free loopback port and stops it by PID. `node bench/src/probe/client-cost.mjs`
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { freePort } from '../harness/processes.mjs';
const port = await freePort();
const srv = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const key = 'kw:s:{abc}';
const fields = ['u', 'bench-user', 'h', 'x'.repeat(22), 'c', '1', 'l', '2', 'ie', '3', 'ae', '4', 'v', '1', 'd:kw.user', JSON.stringify({ id: 'bench-user', name: 'Bench User' })];
const clients = {
  'ioredis-auto': new Redis(port, { enableAutoPipelining: true }),
  'ioredis-plain': new Redis(port, { enableAutoPipelining: false }),
  'node-redis': await createClient({ url: `redis://127.0.0.1:${port}` }).connect(),
};
await clients['ioredis-plain'].hset(key, ...fields);
const ops = {
  'ioredis-auto': (c) => c.call('HGETALL', key),
  'ioredis-plain': (c) => c.call('HGETALL', key),
  'node-redis': (c) => c.sendCommand(['HGETALL', key]),
};
async function run(name, n) {
  const c = clients[name]; const op = ops[name];
  let left = n;
  const worker = async () => { while (left-- > 0) await op(c); };
  const t0 = process.cpuUsage(); const w0 = Date.now();
  await Promise.all(Array.from({ length: 50 }, worker));
  const t = process.cpuUsage(t0);
  return [(t.user + t.system) / n, n / ((Date.now() - w0) / 1000)];
}
for (const name of Object.keys(clients)) await run(name, 20000);
const res = Object.fromEntries(Object.keys(clients).map((k) => [k, []]));
for (let r = 0; r < 5; r++) for (const name of Object.keys(clients)) res[name].push(await run(name, 40000));
for (const [k, v] of Object.entries(res)) { const cpu = v.map((x) => x[0]).sort((a, b) => a - b); console.log(k.padEnd(14), 'client CPU µs/op', cpu[2].toFixed(1), ' ops/s', Math.round(v.map((x) => x[1]).sort((a, b) => a - b)[2])); }
for (const c of Object.values(clients)) await (c.quit ? c.quit() : c.close());
process.kill(srv.pid);
