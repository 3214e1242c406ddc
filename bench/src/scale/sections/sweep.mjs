// Section "sweep" of bench/scale.mjs: a sweep of many expired sessions on each store, alone
// (event-loop delay in the app), in a process of its own (timed between turns of the loop),
// then under load (the session check on the hot sessions), against the same load without it.
import { join } from 'node:path';
import { load, writeCookieScript } from '../../harness/load.mjs';
import { populateRedis, populateSqlite, sessions, spread } from '../../harness/populate.mjs';
import { run, stop } from '../../harness/processes.mjs';
import { median } from '../../harness/report.mjs';
import { browserHeaders } from '../../harness/stacks.mjs';
import { probeCall, probeDir, sleep, userOfIndex } from '../servers.mjs';

export async function sweep(ctx) {
  const { cfg, log, results, kw, tmp, tool, secret, dbClient, startKeyward, redisAt } = ctx;
  log(`sweep of ${cfg.expired} (SQLite: ${cfg.expiredSqlite}) expired sessions: alone, in-process, then under load (session check, ${cfg.hot} live sessions)`);
  results.sweep = [];
  for (const kind of ['redis', 'sqlite'].filter((k) => cfg.stores.has(k))) {
    const expired = kind === 'sqlite' ? cfg.expiredSqlite : cfg.expired;
    const sample = spread(cfg.hot, cfg.hot);
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
      ({ cookies } = await populateRedis(client, sessions(cfg.hot, { userOf: userOfIndex('l'), sample, secret: secret })));
      s = await startKeyward('kw-sweep-redis', { REDIS_URL: redisAt(10), BENCH_PROBE: '1', SWEEP_MS: '0' });
    } else {
      ({ cookies } = await populateSqlite(file, sessions(cfg.hot, { userOf: userOfIndex('l'), sample, secret: secret }), kw.SqliteStore));
      s = await startKeyward('kw-sweep-sqlite', { STORE: 'sqlite', SQLITE_FILE: file, BENCH_PROBE: '1', SWEEP_MS: '0' });
    }
    const script = writeCookieScript(join(tmp, `sweep-${kind}.lua`), cookies);
    const chunk = (secs) => load(tool, { url: `http://127.0.0.1:${s.port}/api/me`, headers: browserHeaders(), connections: cfg.connections, seconds: secs, script });
    const CHUNK = cfg.quick ? 1 : 2;
    await chunk(cfg.warmup || 1);

    // 1. The sweep alone: no other load, the app's own event-loop delay while it runs.
    await addExpired();
    await sleep(500);
    await probeCall(s, 'GET', '/eld?reset=1');
    const alone = await probeCall(s, 'POST', '/sweep');
    alone.eld = await probeCall(s, 'GET', '/eld?reset=1');
    log(`  ${kind} alone: ended ${alone.ended} in ${alone.ms} ms; event-loop delay max ${alone.eld.max} / p99 ${alone.eld.p99} ms`);

    // 2. The same sweep in a process of its own, timed between turns of the loop (sub-ms).
    const args = [join(probeDir, 'sweep-slices.mjs'), '--store', kind, '--expired', String(expired), '--json', ...(kind === 'redis' ? ['--redis-url', redisAt(11)] : [])];
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
      for (let k = 0; k < (cfg.quick ? 2 : 5); k++) {
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
}
