// Section "logging" of bench/scale.mjs: the cost of request logging. Keyward's logRequests
// with redaction on and off (and with many live secrets) against the advisory stack with
// nestjs-pino, interleaved; log bytes per request and one sample line of each.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stop } from '../../harness/processes.mjs';
import { fileSize, login, sleep } from '../servers.mjs';

export async function logging(ctx) {
  const { cfg, log, results, tmp, startServer, interleave } = ctx;
  log('request logging: Keyward logRequests (redaction on/off, 20k live secrets) and the advisory stack with nestjs-pino');
  const defs = [
    { id: 'kw-nolog', label: 'Keyward on Express, no request log', server: 'keyward', env: {} },
    { id: 'kw-log-redact', label: 'Keyward, `logRequests` + `KeywardLogger` (pino, redact paths, live-secret scrub)', server: 'keyward', env: { LOG_REQUESTS: '1', LOGGER: 'redacting' } },
    { id: 'kw-log-plain', label: 'Keyward, `logRequests` + plain pino (no redaction)', server: 'keyward', env: { LOG_REQUESTS: '1', LOGGER: 'plain' } },
    { id: 'kw-log-redact-20k', label: `Keyward, \`logRequests\` + \`KeywardLogger\`, ${cfg.minted.toLocaleString('en-US')} live secrets in the registry`, server: 'keyward', env: { LOG_REQUESTS: '1', LOGGER: 'redacting', LIVE_SECRETS: String(cfg.minted) } },
    { id: 'adv-nolog', label: 'Advisory stack, no request log', server: 'advisory', env: {} },
    { id: 'adv-pino', label: 'Advisory stack + `nestjs-pino` (pino-http, cookie headers redacted)', server: 'advisory', env: { LOGGER: 'nestjs-pino' } },
  ];
  const servers = {};
  for (const d of defs) {
    const logFile = join(tmp, `${d.id}.log`);
    const s = await startServer(d.id, d.server, { ...d.env, ...(d.env.LOGGER ? { LOG_FILE: logFile } : {}) });
    s.logFile = logFile;
    s.cookie = await login(s);
    servers[d.id] = s;
  }
  const sizes0 = Object.fromEntries(defs.map((d) => [d.id, fileSize(servers[d.id].logFile)]));
  const r = await interleave(defs.map((d) => ({ id: d.id, port: servers[d.id].port, pid: servers[d.id].proc.pid, path: '/api/me', cookie: servers[d.id].cookie })));
  await sleep(500);
  results.logging = defs.map((d) => ({ ...d, ...r[d.id], logBytesPerReq: (fileSize(servers[d.id].logFile) - sizes0[d.id]) / Math.max(1, r[d.id].requests) }));
  const sample = readFileSync(servers['kw-log-redact'].logFile, 'utf8').split('\n').find((l) => l.includes('GET /api/me'));
  const advSample = readFileSync(servers['adv-pino'].logFile, 'utf8').split('\n').find((l) => l.includes('"url":"/api/me"'));
  results.loggingSamples = { keyward: sample, advisory: advSample };
  await Promise.all(Object.values(servers).map((s) => stop(s.proc)));
}
