// The harness's own redis-server (free loopback port, no persistence, stopped by PID) and
// the few things it asks of it: INFO commandstats, MEMORY USAGE, MONITOR.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stop, track } from './processes.mjs';

const require = createRequire(new URL('../../../packages/nest/package.json', import.meta.url));
const { Redis } = require('ioredis');

export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-redis-'));
  const proc = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }),
  );
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
    try {
      await client.connect();
      await client.ping();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('redis-server did not answer within 10 s');
      client.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    pid: proc.pid,
    url: `redis://127.0.0.1:${port}`,
    client,
    async commandStats() {
      const text = await client.info('commandstats');
      const stats = {};
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[m[1]] = Number(m[2]);
      return stats;
    },
    async memoryUsage(key) {
      const n = await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
      return n === null ? 0 : Number(n);
    },
    /** Opens MONITOR; returns { lines, close() }, each line { source, args }. */
    async monitor() {
      const mon = await client.monitor();
      const lines = [];
      mon.on('monitor', (_time, args, source) => lines.push({ source, args }));
      return { lines, close: () => mon.disconnect() };
    },
    async close() {
      client.disconnect();
      await stop(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls per command between two INFO commandstats snapshots (INFO itself left out). */
export function statsDelta(before, after) {
  const out = {};
  for (const [name, calls] of Object.entries(after)) {
    if (name === 'info' || name === 'monitor' || name.startsWith('memory')) continue;
    const d = calls - (before[name] ?? 0);
    if (d > 0) out[name] = d;
  }
  return out;
}
