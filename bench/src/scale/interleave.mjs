// The load runs of bench/scale.mjs: rows measured in interleaved rounds, as bench/run.mjs does.
import { load } from '../harness/load.mjs';
import { cpuMs } from '../harness/proc-stats.mjs';
import { median } from '../harness/report.mjs';
import { browserHeaders } from '../harness/stacks.mjs';
import { sleep } from './servers.mjs';

/**
 * Interleaved rounds (A B C ... then ... C B A), as bench/run.mjs does: every row gets the
 * same drift of the machine. A row: { id, port, pid, path, cookie } or { ..., script } (a wrk
 * Lua script cycling through cookies). Returns per row: medians of req/s, p50, p99, CPU µs/req.
 */
export async function interleave({ cfg, tool, log }, rows, { rounds = cfg.rounds, seconds = cfg.seconds, warmup = cfg.warmup } = {}) {
  const go = (row, secs) =>
    load(tool, {
      url: `http://127.0.0.1:${row.port}${row.path}`,
      headers: row.script ? browserHeaders() : browserHeaders(row.cookie),
      connections: cfg.connections,
      seconds: secs,
      script: row.script,
    });
  for (const row of rows) if (warmup > 0) await go(row, warmup);
  const out = new Map(rows.map((r) => [r.id, []]));
  for (let round = 0; round < rounds; round++) {
    for (const row of round % 2 ? [...rows].reverse() : rows) {
      if (cfg.rewarm > 0) await go(row, cfg.rewarm);
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
