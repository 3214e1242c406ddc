// Section "heavy" of bench/scale.mjs: one user with many sessions (and one with 10) on each
// store: list, revoke and logout-all, timed as sequential calls.
import { join } from 'node:path';
import { httpCall } from '../../harness/http.mjs';
import { populateRedis, populateSqlite, sessions } from '../../harness/populate.mjs';
import { stop } from '../../harness/processes.mjs';
import { median } from '../../harness/report.mjs';
import { browserHeaders } from '../../harness/stacks.mjs';

export async function heavy(ctx) {
  const { cfg, log, results, kw, tmp, secret, dbClient, startKeyward, redisAt } = ctx;
  log(`one user with ${cfg.heavy} sessions (and one with 10): list, revoke, logout-all`);
  const heavy = [];
  for (const kind of ['redis', 'sqlite'].filter((k) => cfg.stores.has(k))) {
    for (const count of [10, cfg.heavy]) {
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
          ({ cookies } = await populateRedis(client, sessions(count, { userOf: () => userId, sample, secret: secret })));
          client.disconnect();
          s = await startKeyward(`kw-heavy-${kind}`, { REDIS_URL: redisAt(9), EXTRA_ROUTES: '1' });
        } else {
          const file = join(tmp, `heavy-${count}-${rep}.sqlite`);
          ({ cookies } = await populateSqlite(file, sessions(count, { userOf: () => userId, sample, secret: secret }), kw.SqliteStore));
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
}
