// Section "check" of bench/scale.mjs: the session check and the proxied call on Express:
// the advisory stack, Keyward with ioredis auto-pipelining on and off, plain NestJS.
import { stop } from '../../harness/processes.mjs';
import { login } from '../servers.mjs';

export async function check(ctx) {
  const { log, results, startServer, interleave } = ctx;
  log('session check on Express: advisory, Keyward (auto-pipelining on / off), plain NestJS');
  const defs = [
    { id: 'adv-fetch', label: 'Advisory: express-session + connect-redis 9 (1)', server: 'advisory', env: { CLIENT: 'fetch' } },
    { id: 'kw-express', label: 'Keyward on Express, ioredis auto-pipelining on (the store\'s default) (3)', server: 'keyward', env: {} },
    { id: 'kw-express-noap', label: 'Keyward on Express, auto-pipelining off (`REDIS_OPTIONS={"enableAutoPipelining":false}`)', server: 'keyward', env: { REDIS_OPTIONS: '{"enableAutoPipelining":false}' } },
    { id: 'ceiling', label: 'Plain NestJS on Express, no session (5)', server: 'ceiling', env: {} },
  ];
  const servers = {};
  for (const d of defs) {
    const s = await startServer(d.id, d.server, d.env);
    if (d.server !== 'ceiling') s.cookie = await login(s);
    servers[d.id] = s;
  }
  const rows = [];
  for (const [scenario, path] of [['session', '/api/me'], ['proxy', '/api/proxy/up/items']]) {
    const r = await interleave(defs.map((d) => ({ id: d.id, port: servers[d.id].port, pid: servers[d.id].proc.pid, path, cookie: servers[d.id].cookie })));
    rows.push(...defs.map((d) => ({ scenario, ...d, ...r[d.id] })));
  }
  results.check = rows;
  await Promise.all(Object.values(servers).map((s) => stop(s.proc)));
}
