// What the sections of bench/scale.mjs run on: the load generator, a scratch directory, the
// harness's redis-server (one database per population), the upstream, and Keyward servers
// started per measurement (each stopped by PID by its section, or by stopAll at the end).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cookieFrom, httpCall } from '../harness/http.mjs';
import { detectTool } from '../harness/load.mjs';
import { startNode } from '../harness/processes.mjs';
import { startRedis } from '../harness/redis.mjs';
import { browserHeaders } from '../harness/stacks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const serversDir = join(root, 'bench/src/servers');
export const probeDir = join(root, 'bench/src/probe');
const { Redis } = createRequire(join(root, 'packages/nest/package.json'))('ioredis');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const fileSize = (f) => (existsSync(f) ? statSync(f).size : 0);
/** User ids `<tag>0`, `<tag>1`, ... for populate.mjs's `userOf`. */
export const userOfIndex = (tag) => (i) => `${tag}${i}`;

/** MEMORY USAGE of one key (0 when it does not exist). */
export async function memoryUsage(client, key) {
  const n = await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  return n === null ? 0 : Number(n);
}

// A sweep of 100k sessions under load takes minutes on a busy machine: no 10 s timeout here.
/** A call to a server's bench probe (BENCH_PROBE=1); its JSON answer. */
export const probeCall = async (s, method, path) => JSON.parse((await httpCall(s.probe, method, path, {}, undefined, 900_000)).body);

/** Logs `userId` in on a bench server; returns its session cookie (`name=value`). */
export async function login(s, userId = 'bench-user') {
  const r = await httpCall(s.port, 'POST', '/auth/login', browserHeaders(), { id: userId, name: 'Bench User' });
  if (r.status !== 200) throw new Error(`${s.name}: login answered ${r.status}: ${r.body.slice(0, 200)}`);
  return cookieFrom(r, s.name.startsWith('adv') ? 'adv_sid' : 'sid');
}

/**
 * Starts the shared pieces and returns the context every section takes: `tool`, `tmp`,
 * `redis`, `baseEnv` (what every bench server is started with), `secret` (the session
 * secret), and helpers bound to them (`startKeyward`, `startServer`, `redisAt`, `dbClient`,
 * `usedMemory`).
 */
export async function startScaleServers(log, loadStart) {
  const tool = await detectTool('wrk');
  const tmp = mkdtempSync(join(os.tmpdir(), 'kw-scale-'));
  const redis = await startRedis();
  log(`load average ${loadStart}; redis-server on ${redis.port}; scratch ${tmp}`);
  const API_KEY = `bench-${randomBytes(18).toString('base64url')}`;
  const SESSION_SECRET = randomBytes(32).toString('base64url');
  const VAULT_KEY = randomBytes(32).toString('base64');
  const upstream = await startNode('upstream', join(serversDir, 'upstream.mjs'), { PORT: '0', API_KEY });
  const UPSTREAM_URL = `http://127.0.0.1:${upstream.port}`;
  const baseEnv = { PORT: '0', UPSTREAM_URL, API_KEY, SESSION_SECRET, VAULT_KEY };

  /** Starts `src/servers/<server>.mjs` with the base environment, the harness's Redis and `env`. */
  const startServer = (name, server, env) => startNode(name, join(serversDir, `${server}.mjs`), { ...baseEnv, REDIS_URL: redis.url, ...env });
  /** A Keyward server; with BENCH_PROBE=1 its probe port is read from its output (`s.probe`). */
  async function startKeyward(name, env) {
    const s = await startServer(name, 'keyward', env);
    if (env.BENCH_PROBE === '1') {
      for (let i = 0; i < 100 && !/^probe (\d+)$/m.test(s.output()); i++) await sleep(20);
      s.probe = Number(/^probe (\d+)$/m.exec(s.output())[1]);
    }
    return s;
  }
  return {
    tool,
    tmp,
    redis,
    baseEnv,
    secret: SESSION_SECRET,
    startServer,
    startKeyward,
    redisAt: (db) => `${redis.url}/${db}`,
    dbClient: (db) => new Redis({ host: '127.0.0.1', port: redis.port, db, lazyConnect: false }),
    usedMemory: async () => Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))[1]),
  };
}
