// Turns one run's measurements into the Markdown that goes to bench/results/ and the README.

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const ms = (n) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const x = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');

export function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Summary of one target's rounds. */
export function summarize(rounds) {
  const requests = rounds.reduce((a, r) => a + r.requests, 0);
  const calls = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.redis)) calls[k] = (calls[k] ?? 0) + v;
  const totalCalls = Object.values(calls).reduce((a, b) => a + b, 0);
  return {
    rps: median(rounds.map((r) => r.rps)),
    rpsAll: rounds.map((r) => r.rps),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    cpuUsPerReq: median(rounds.map((r) => r.cpuUsPerReq)),
    redisCpuUsPerReq: median(rounds.map((r) => r.redisCpuUsPerReq)),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    requests,
    cmdsPerReq: requests > 0 ? totalCalls / requests : NaN,
    calls,
  };
}

function breakdown(s, probe) {
  const inner = new Set(probe?.innerNames ?? []);
  const outer = new Set(probe?.outerNames ?? []);
  const parts = Object.entries(s.calls)
    .map(([k, v]) => [k, v / s.requests])
    .filter(([, v]) => v >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}${inner.has(k) && !outer.has(k) ? '*' : ''}`);
  return parts.length ? parts.join(', ') : '0';
}

function probeCell(probe) {
  if (!probe) return 'n/a';
  const names = Object.entries(probe.outer).map(([k, v]) => `${k.toUpperCase()}${v !== 1 ? ` x${v.toFixed(2)}` : ''}`);
  return `**${fmt(probe.perRequest, probe.perRequest % 1 ? 2 : 0)}**${names.length ? ` (${names.join(', ')})` : ''}`;
}

/** Computes each target of the issue from the summaries: { text, measured, need, met }. */
export function evaluateTargets(res) {
  const s = res.scenarios.session?.summary ?? {};
  const p = res.scenarios.proxy?.summary ?? {};
  const probes = res.probes;
  const t = [];
  const add = (target, measured, need, value, threshold, lowerIsBetter = false) => {
    const met = Number.isFinite(value) ? (lowerIsBetter ? value <= threshold : value >= threshold) : null;
    t.push({ target, measured, need, met });
  };
  if (p['kw-express'] && p['adv-undici']) {
    const r = ratio(p['kw-express'].rps, p['adv-undici'].rps);
    add('Proxied call, Express: req/s vs advisory with the same client (2)', `${fmt(p['kw-express'].rps)} vs ${fmt(p['adv-undici'].rps)} req/s = **${x(r)}**`, '>= 1.3x', r, 1.3);
  }
  if (p['kw-express'] && p.ceiling) {
    const r = ratio(p['kw-express'].rps, p.ceiling.rps);
    add('Proxied call, Express: req/s vs no-session ceiling (5)', `${fmt(p['kw-express'].rps)} vs ${fmt(p.ceiling.rps)} req/s = **${x(r)}**`, '>= 0.9x', r, 0.9);
  }
  if (p['kw-express'] && p['adv-undici']) {
    const r = ratio(p['kw-express'].p99, p['adv-undici'].p99);
    const r1 = p['adv-fetch'] ? ratio(p['kw-express'].p99, p['adv-fetch'].p99) : NaN;
    add(
      'Proxied call, Express: p99 vs the advisory\'s (2; vs 1 in brackets)',
      `${ms(p['kw-express'].p99)} vs ${ms(p['adv-undici'].p99)} ms = **${x(r)}** (vs 1: ${x(r1)})`,
      '<= 0.7x',
      r,
      0.7,
      true,
    );
  }
  if (s['kw-express'] && s['adv-fetch']) {
    const r = ratio(s['kw-express'].rps, s['adv-fetch'].rps);
    add('Session check, Express: req/s vs advisory (1)', `${fmt(s['kw-express'].rps)} vs ${fmt(s['adv-fetch'].rps)} req/s = **${x(r)}**`, '>= 1.3x', r, 1.3);
  }
  if (s['kw-express'] && s.ceiling) {
    const r = ratio(s['kw-express'].rps, s.ceiling.rps);
    add('Session check, Express: req/s vs plain NestJS (5)', `${fmt(s['kw-express'].rps)} vs ${fmt(s.ceiling.rps)} req/s = **${x(r)}**`, '>= 0.8x', r, 0.8);
  }
  // Row 3ou (a connection kept for the user) reads the user's entries too: one more round trip by design, shown in its row.
  const kwProbes = Object.entries(probes).filter(([k]) => k.includes(':kw-') && !k.includes('-oauth-user'));
  if (kwProbes.length > 0) {
    const worst = Math.max(...kwProbes.map(([, v]) => v.perRequest));
    const adv = Object.entries(probes).filter(([k]) => k.includes(':adv-')).map(([, v]) => v.perRequest);
    add(
      'Store round trips per authenticated request, steady state (Keyward, every row but 3ou; advisory in brackets)',
      `**${fmt(worst, worst % 1 ? 2 : 0)}** (advisory: ${adv.length ? fmt(Math.max(...adv), 0) : 'n/a'})`,
      '1',
      worst,
      1,
      true,
    );
  }
  if (p['kw-fastify'] && p['adv-fetch']) {
    const r = ratio(p['kw-fastify'].rps, p['adv-fetch'].rps);
    const r2 = p['adv-undici'] ? ratio(p['kw-fastify'].rps, p['adv-undici'].rps) : NaN;
    add('Proxied call, Fastify: req/s vs the advisory\'s Express stack (1; vs 2 in brackets)', `${fmt(p['kw-fastify'].rps)} vs ${fmt(p['adv-fetch'].rps)} req/s = **${x(r)}** (vs 2: ${x(r2)})`, '>= 2x', r, 2);
  }
  const mem = res.memory?.find((m) => m.stack === 'kw-express');
  if (mem) {
    add('Redis memory per idle session (Keyward record hash)', `**${fmt(mem.record)} B** (with its index entries: ${fmt(mem.withIndexes)} B)`, '<= 300 B', mem.record, 300, true);
  }
  return t;
}

export function targetsTable(targets) {
  const lines = ['| Target | Measured | Needed | Status |', '| --- | --- | --- | --- |'];
  for (const t of targets) lines.push(`| ${t.target} | ${t.measured} | ${t.need} | ${t.met === null ? 'n/a' : t.met ? 'met' : '**missed**'} |`);
  return lines.join('\n');
}

function scenarioTable(res, scenario, stacks) {
  const sum = res.scenarios[scenario.id].summary;
  const hasTwo = scenario.stacks.includes('adv-undici');
  const head = ['#', 'Stack', 'req/s (median)', 'rounds', 'p50 ms', 'p99 ms', 'CPU µs/req: server (Redis)', 'Redis round trips/req', 'Redis cmds/req under load', 'vs 1'];
  if (hasTwo) head.push('vs 2');
  head.push('vs 5');
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const id of scenario.stacks) {
    const st = stacks.find((s) => s.id === id);
    const s = sum[id];
    if (!s) continue;
    const probe = res.probes[`${scenario.id}:${id}`];
    const n = scenario.id === 'session' && id === 'adv-fetch' ? '1 (= 2)' : st.n;
    const row = [
      n,
      st.label + (s.errors > 0 ? ` ⚠ ${fmt(s.errors)} errors` : ''),
      `**${fmt(s.rps)}**`,
      s.rpsAll.map((v) => fmt(v)).join(' / '),
      ms(s.p50),
      ms(s.p99),
      `${fmt(s.cpuUsPerReq)} (${fmt(s.redisCpuUsPerReq)})`,
      probeCell(probe),
      `${fmt(s.cmdsPerReq, 2)} (${breakdown(s, probe)})`,
      x(ratio(s.rps, sum['adv-fetch']?.rps)),
    ];
    if (hasTwo) row.push(x(ratio(s.rps, sum['adv-undici']?.rps)));
    row.push(x(ratio(s.rps, sum.ceiling?.rps)));
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}

function memoryTable(res) {
  const lines = [
    '| Stack | Keys per session | Bytes per idle session (`MEMORY USAGE`) | With index entries | Sessions measured |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const m of res.memory) {
    lines.push(`| ${m.label} | ${m.keys} | **${fmt(m.record)}** | ${Number.isFinite(m.withIndexes) ? fmt(m.withIndexes) : 'same'} | ${m.count} |`);
  }
  return lines.join('\n');
}

/** The whole results page. */
export function renderResults(res, stacks, scenarios) {
  const m = res.machine;
  const out = [];
  out.push(`# Keyward benchmark, ${res.date}${res.quick ? ' (quick smoke run: not for comparison)' : ''}`);
  out.push('');
  out.push(`Command: \`${res.command}\` (${res.settings})`);
  out.push('');
  out.push('## Machine and versions');
  out.push('');
  out.push(`- Date: ${res.startedAt} (run took ${Math.round(res.elapsedMs / 1000)} s)`);
  out.push(`- Machine: ${m.nproc} cores (\`nproc\`), ${m.cpu}, ${m.memGiB} GiB RAM, ${m.os}`);
  out.push(`- Load average (1/5/15 min): at start ${m.loadStart}, at end ${m.loadEnd}${m.busy ? ' (**busy machine: other jobs were running; treat absolute numbers with care, ratios from interleaved rounds are more robust**)' : ''}`);
  out.push(`- Node ${m.node}; NestJS ${m.nest} (platform-express ${m.platformExpress}, platform-fastify ${m.platformFastify}); express-session ${m.expressSession}; connect-redis ${m.connectRedis} with node-redis ${m.nodeRedis}; undici ${m.undici}; ioredis ${m.ioredis}`);
  out.push(`- ${m.redis}; load generator: ${m.tool}`);
  if (m.calibration) out.push(`- Calibration: ${m.calibration}`);
  out.push(`- Keyward: ${m.keyward}`);
  out.push('');
  out.push('Everything runs on this one machine over 127.0.0.1: the load generator, the server under test (its own process), the upstream (its own process), Redis and the idle servers of the other stacks share the cores.');
  out.push('');
  for (const sc of scenarios) {
    if (!res.scenarios[sc.id]) continue;
    out.push(`## ${sc.title}`);
    out.push('');
    out.push(scenarioTable(res, sc, stacks));
    out.push('');
  }
  out.push('CPU µs/req: CPU time (user + system, from /proc) of the server process under test during a round, per request served (median of rounds), and in brackets that of redis-server; they exclude the upstream and wrk, and are less sensitive to a busy machine than req/s.');
  out.push('Redis round trips/req: commands the app sends per request, counted with `MONITOR` over sequential requests after the warm-up (steady state).');
  out.push('Redis cmds/req under load: `INFO commandstats` deltas over the measured rounds divided by the requests served; `*` marks commands that run inside a Lua script (counted by Redis, but no extra round trip).');
  out.push('');
  if (res.memory?.length) {
    out.push('## Redis memory per idle session');
    out.push('');
    out.push(memoryTable(res));
    out.push('');
    out.push('Keyward: the session record hash `kw:s:{<hash of id>}`; "with index entries" adds its share of the per-user index set and the expiry index (one user per session). Advisory: `sess:<id>` (express-session JSON) + `sess:<id>:apiKey`.');
    out.push('');
  }
  out.push('## Targets of issue 7');
  out.push('');
  out.push(targetsTable(res.targets));
  out.push('');
  out.push('## Notes');
  out.push('');
  for (const n of res.notes) out.push(`- ${n}`);
  out.push('');
  return out.join('\n');
}
