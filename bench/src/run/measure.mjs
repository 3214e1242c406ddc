// The measuring of bench/run.mjs: the calibration (the upstream alone), each scenario's
// stacks (a check, warm-up, the Redis commands of one request under MONITOR, then interleaved
// rounds under load with CPU time per request), the OAuth refresh stampede, and Redis memory
// per idle session.
import { createHash, randomBytes } from 'node:crypto';
import { httpCall } from '../harness/http.mjs';
import { load } from '../harness/load.mjs';
import { refreshStampede } from '../harness/oauth.mjs';
import { cpuMs } from '../harness/proc-stats.mjs';
import { startNode } from '../harness/processes.mjs';
import { statsDelta } from '../harness/redis.mjs';
import { summarize } from '../harness/report.mjs';
import { browserHeaders } from '../harness/stacks.mjs';
import { login, serversDir } from './stack-servers.mjs';

/** Redis keys holding one session, from its cookie. */
function sessionKeys(kind, cookie) {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  if (kind === 'advisory') {
    const id = value.slice(2, value.lastIndexOf('.'));
    return { record: [`sess:${id}`, `sess:${id}:apiKey`], id };
  }
  const id = value.slice(0, value.indexOf('.'));
  const storeKey = createHash('sha256').update(id).digest('base64url');
  return { record: [`kw:s:{${storeKey}}`], id: storeKey };
}

/** Lets the server finish requests still queued when the load generator stopped. */
const settle = () => new Promise((r) => setTimeout(r, 300));

/**
 * Runs every measurement of a bench/run.mjs run. `ctx`: the settings (`cfg`), the load
 * generator (`tool`), the `machine` facts (the calibration is added to them), the `stacks` and
 * `scenarios` selected, and what startStacks started. Returns { scenarios, probes, memory,
 * stampede? }. A failure prints the servers' output and ends the run (exit 1) after `cleanup`.
 */
export async function measureAll(ctx) {
  const { cfg, tool, machine, stacks, scenarios, redis, idp, servers, cookies, upstreamUrl, API_KEY, secrets, log, cleanup } = ctx;
  const urlOf = (st, sc) => `http://127.0.0.1:${servers[st.id].port}${sc.path}`;

  async function check(st, sc) {
    const r = await httpCall(servers[st.id].port, 'GET', sc.path, browserHeaders(cookies[st.id]));
    if (r.status !== 200) throw new Error(`${st.id} ${sc.path}: expected 200, got ${r.status}: ${r.body.slice(0, 200)}`);
  }

  /** Sequential requests under MONITOR: what the app sends to Redis per request. */
  async function probe(st, sc) {
    const keys = st.session ? sessionKeys(st.session, cookies[st.id]) : null;
    await settle();
    const mon = await redis.monitor();
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < cfg.probeRequests; i++) await check(st, sc);
    await new Promise((r) => setTimeout(r, 150));
    mon.close();
    // Only lines about this session (the other servers' sweepers share the Redis), and the
    // proxy's call counters (`<prefix>rl:{<user or session>}:...`, issue 22), which only requests write.
    const mine = keys ? mon.lines.filter((l) => l.args.some((a) => typeof a === 'string' && (a.includes(keys.id) || a.startsWith('kw:rl:{')))) : [];
    const outer = {};
    const inner = new Set();
    let outerCount = 0;
    for (const l of mine) {
      const name = String(l.args[0]).toLowerCase();
      if (l.source === 'lua') inner.add(name);
      else {
        outer[name] = (outer[name] ?? 0) + 1;
        outerCount++;
      }
    }
    for (const k of Object.keys(outer)) outer[k] /= cfg.probeRequests;
    return { perRequest: outerCount / cfg.probeRequests, outer, outerNames: Object.keys(outer), innerNames: [...inner] };
  }

  async function measure(st, sc, seconds) {
    await settle();
    const before = await redis.commandStats();
    const pid = servers[st.id].proc.pid;
    const cpuBefore = cpuMs(pid);
    const redisCpuBefore = cpuMs(redis.pid);
    const r = await load(tool, { url: urlOf(st, sc), headers: browserHeaders(cookies[st.id]), connections: cfg.connections, seconds });
    await settle();
    const cpu = cpuMs(pid) - cpuBefore;
    const redisCpu = cpuMs(redis.pid) - redisCpuBefore;
    const after = await redis.commandStats();
    const perReq = (v) => (r.requests > 0 ? (v * 1000) / r.requests : NaN);
    return { ...r, cpuUsPerReq: perReq(cpu), redisCpuUsPerReq: perReq(redisCpu), redis: statsDelta(before, after) };
  }

  const results = { scenarios: {}, probes: {}, memory: [] };

  // Calibration: the upstream alone (plain node:http) under the same load, so a reader can
  // compare this machine with another (NOTES.md: ~95k req/s on a quiet 2-core machine).
  {
    const seconds = cfg.quick ? 1 : 3;
    const r = await load(tool, { url: `${upstreamUrl}/items`, headers: { 'x-api-key': API_KEY }, connections: cfg.connections, seconds });
    machine.calibration = `${Math.round(r.rps).toLocaleString('en-US')} req/s (p99 ${r.p99.toFixed(2)} ms) from the upstream alone (plain node:http), same load settings, ${seconds} s`;
    log(`calibration: ${machine.calibration}`);
  }
  const stackOf = (id) => stacks.find((s) => s.id === id);
  try {
    for (const sc of scenarios) {
      if (sc.stacks.length === 0) continue;
      log(`scenario ${sc.id}: ${sc.stacks.join(', ')}`);
      for (const id of sc.stacks) {
        const st = stackOf(id);
        await check(st, sc);
        if (cfg.warmup > 0) await load(tool, { url: urlOf(st, sc), headers: browserHeaders(cookies[id]), connections: cfg.connections, seconds: cfg.warmup });
        if (st.session) results.probes[`${sc.id}:${id}`] = await probe(st, sc);
      }
      const rounds = Object.fromEntries(sc.stacks.map((id) => [id, []]));
      for (let round = 0; round < cfg.rounds; round++) {
        // A B C ... then ... C B A: no stack always runs right after the same neighbour.
        const order = round % 2 === 0 ? sc.stacks : [...sc.stacks].reverse();
        for (const id of order) {
          const st = stackOf(id);
          if (cfg.rewarm > 0) await load(tool, { url: urlOf(st, sc), headers: browserHeaders(cookies[id]), connections: cfg.connections, seconds: cfg.rewarm });
          const r = await measure(st, sc, cfg.seconds);
          rounds[id].push(r);
          log(`  round ${round + 1}/${cfg.rounds} ${id.padEnd(16)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  cpu ${r.cpuUsPerReq.toFixed(0)} us/req (redis ${r.redisCpuUsPerReq.toFixed(0)})${r.errors ? `  ${r.errors} errors` : ''}`);
        }
      }
      results.scenarios[sc.id] = { summary: Object.fromEntries(sc.stacks.map((id) => [id, summarize(rounds[id])])) };
    }

    if (idp) {
      const baseEnv = { PORT: '0', REDIS_URL: redis.url, UPSTREAM_URL: upstreamUrl, API_KEY, ...secrets };
      results.stampede = await refreshStampede({ startNode, serversDir, idp, redis, baseEnv });
      for (const r of results.stampede) log(`refresh stampede round ${r.round}: ${r.refreshes} token request(s), ${JSON.stringify(r.statuses)}, p99 ${r.p99.toFixed(1)} ms`);
    }

    results.memory = await sessionMemory({ cfg, redis, servers, stackOf, log });
  } catch (e) {
    console.error(`[bench] ${e.stack ?? e}`);
    for (const s of Object.values(servers)) if (s.output().trim()) console.error(`--- ${s.name} output:\n${s.output().slice(-2000)}`);
    await cleanup();
    await redis.close();
    process.exit(1);
  }
  return results;
}

/** Redis memory per idle session: fresh sessions, one user each. */
async function sessionMemory({ cfg, redis, servers, stackOf, log }) {
  const memory = [];
  const memoryStacks = [
    { stack: 'adv-fetch', label: 'Advisory (express-session + connect-redis, `sess:<id>` + `sess:<id>:apiKey`)', keys: 2 },
    { stack: 'kw-express', label: 'Keyward (record hash; server key, nothing sealed in the session)', keys: 1 },
    { stack: 'kw-express-vault', label: 'Keyward with a key per session sealed in the vault (record hash)', keys: 1 },
  ].filter((m) => servers[m.stack]);
  for (const m of memoryStacks) {
    const st = stackOf(m.stack);
    const tag = `${m.stack}-${randomBytes(3).toString('hex')}`;
    const expBefore = st.session === 'keyward' ? await redis.memoryUsage('kw:exp') : 0;
    const made = [];
    for (let i = 0; i < cfg.sessions; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, cfg.sessions - i) }, (_, j) => login(servers, st, `${tag}-${i + j}`)));
      made.push(...batch.map((c, j) => ({ cookie: c, user: `${tag}-${i + j}` })));
    }
    let record = 0;
    let index = 0;
    for (const { cookie, user } of made) {
      for (const k of sessionKeys(st.session, cookie).record) record += await redis.memoryUsage(k);
      if (st.session === 'keyward') index += await redis.memoryUsage(`kw:u:{${user}}`);
    }
    const expAfter = st.session === 'keyward' ? await redis.memoryUsage('kw:exp') : 0;
    const perRecord = record / made.length;
    const withIndexes = st.session === 'keyward' ? perRecord + (index + (expAfter - expBefore)) / made.length : NaN;
    memory.push({ ...m, record: perRecord, withIndexes, count: made.length });
    log(`memory ${m.stack}: ${perRecord.toFixed(0)} B per session${Number.isFinite(withIndexes) ? ` (${withIndexes.toFixed(0)} B with index entries)` : ''}`);
  }
  return memory;
}
