// Section "curve" of bench/scale.mjs: the scale curve. 1k, 100k and 1M live sessions on Redis
// and SQLite (populated in Keyward's exact record format), bytes per session, then the session
// check and the proxied call under load cycling through the hot sessions.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCookieScript } from '../../harness/load.mjs';
import { populateRedis, populateSqlite, sessions, spread } from '../../harness/populate.mjs';
import { rssOf } from '../../harness/proc-stats.mjs';
import { stop } from '../../harness/processes.mjs';
import { fileSize, memoryUsage, userOfIndex } from '../servers.mjs';

export async function curve(ctx) {
  const { cfg, log, results, kw, tmp, secret, dbClient, usedMemory, startKeyward, redisAt, interleave } = ctx;
  log(`scale curve: ${cfg.sizes.join(', ')} live sessions, ${[...cfg.stores].join(' and ')}${cfg.opt.compare ? ` (SQLite also with ${cfg.opt.compare})` : ''}; the load cycles through ${cfg.hot} of them`);
  const curve = { redis: [], sqlite: [] };
  const servers = [];
  if (cfg.opt.compare) curve.sqliteBase = [];
  for (const [i, n] of cfg.sizes.entries()) {
    const db = i + 1;
    const sample = spread(n, cfg.hot);
    if (cfg.stores.has('redis')) {
      const client = dbClient(db);
      const before = await usedMemory();
      const t0 = Date.now();
      const { cookies, keys } = await populateRedis(client, sessions(n, { userOf: userOfIndex(`r${db}u`), sample, secret: secret }));
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

    if (cfg.stores.has('sqlite')) {
      const file = join(tmp, `sessions-${n}.sqlite`);
      const t1 = Date.now();
      const sq = await populateSqlite(file, sessions(n, { userOf: userOfIndex(`s${db}u`), sample, secret: secret }), kw.SqliteStore);
      const sEntry = { n, file, populateS: (Date.now() - t1) / 1000, fileBytes: fileSize(file), walBytes: fileSize(`${file}-wal`) };
      log(`  sqlite ${n}: populated in ${sEntry.populateS.toFixed(1)} s; ${(sEntry.fileBytes / n).toFixed(0)} B/session on disk`);
      const sScript = writeCookieScript(join(tmp, `sqlite-${n}.lua`), sq.cookies);
      if (cfg.opt.compare) {
        // The same sessions in a copy of the file (each server its own file, so neither
        // one's touches or checkpoints land in the other's measurement).
        const copy = join(tmp, `sessions-${n}-base.sqlite`);
        copyFileSync(file, copy);
        const sb = await startKeyward(`kw-sqlite-base-${n}`, { STORE: 'sqlite', SQLITE_FILE: copy, KEYWARD_DIST: cfg.opt.compare });
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
}
