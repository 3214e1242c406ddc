// Section "secrets" of bench/scale.mjs: the redaction registry's scrub cost by number of live
// secrets (in-process probe), then many sessions with a distinct minted key each and their
// expiry: the sweep and the revocations.
import { join } from 'node:path';
import { rssOf } from '../../harness/proc-stats.mjs';
import { run, stop } from '../../harness/processes.mjs';
import { login, probeCall, probeDir } from '../servers.mjs';

export async function secrets(ctx) {
  const { cfg, log, results, startKeyward, redisAt } = ctx;
  log('redaction registry: scrub cost by number of live secrets (in-process)');
  const r = await run(process.execPath, ['--expose-gc', join(probeDir, 'secrets.mjs'), String(cfg.minted)]);
  if (r.code !== 0) throw new Error(`secrets probe failed: ${r.stderr}`);
  results.secrets = JSON.parse(r.stdout);
  for (const row of results.secrets.rows) log(`  ${row.n}: ${row.heapMiB.toFixed(1)} MiB, scrub ${row.lineUs.toFixed(2)} µs/line, still scrubbed ${row.stillScrubbed}/${row.n}`);

  log(`${cfg.minted} sessions with a distinct minted key each, then their expiry: sweep and revocation`);
  const s = await startKeyward('kw-minted', { REDIS_URL: redisAt(8), CREDENTIAL: 'minted', LIVE_KEYS: 'distinct', BENCH_PROBE: '1', SWEEP_MS: '0' });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < cfg.minted) {
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
  results.minted = { n: cfg.minted, loginS, before, after, sweep, eld, rssBefore, rssAfter: rssOf(s.proc.pid) };
  log(`  logins ${loginS.toFixed(1)} s; registry ${before.runtime} run-time entries (${(before.runtimeBytes / 1048576).toFixed(1)} MiB); sweep ended ${sweep.ended} in ${sweep.ms} ms, ${after.revoked} revoked, loop max ${eld.max} ms; registry after ${after.runtime}`);
  await stop(s.proc);
}
