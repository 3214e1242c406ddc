// Starting what bench/run.mjs measures: its redis-server, the upstream, the authorization
// server when an OAuth row runs, one server process per stack (each by PID, stopped by the
// caller's cleanup), and the bench session of every stack (login, and the OAuth connection).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cookieFrom, httpCall } from '../harness/http.mjs';
import { connectOAuth, startOAuthServer } from '../harness/oauth.mjs';
import { startNode } from '../harness/processes.mjs';
import { startRedis } from '../harness/redis.mjs';
import { COOKIE_NAME, PLACEHOLDER_COOKIE, browserHeaders } from '../harness/stacks.mjs';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const serversDir = join(benchDir, 'src/servers');
/** Where --profile writes its CPU profile. */
export const profDir = join(benchDir, '.prof');

/** The OAuth row (3o, issue 24) needs an authorization server; the upstream then also takes its access tokens. */
export const isOAuth = (st) => st.env.CREDENTIAL === 'oauth';

/** Logs `userId` in on a stack's server; returns its session cookie (`name=value`). */
export async function login(servers, st, userId) {
  const port = servers[st.id].port;
  const res = await httpCall(port, 'POST', '/auth/login', browserHeaders(), { id: userId, name: 'Bench User' });
  if (res.status !== 200) throw new Error(`${st.id}: login answered ${res.status}: ${res.body}`);
  const cookie = cookieFrom(res, COOKIE_NAME[st.session]);
  if (!cookie) throw new Error(`${st.id}: login set no ${COOKIE_NAME[st.session]} cookie`);
  return cookie;
}

/**
 * Starts redis-server, the upstream (and the authorization server), the server of every
 * needed stack (the --profile one under --cpu-prof), then opens the bench session on each.
 * A server that fails to start ends the run (exit 1) after `cleanup`.
 */
export async function startStacks({ neededStacks, profile, log, cleanup }) {
  const redis = await startRedis();
  log(`redis-server on 127.0.0.1:${redis.port}`);
  const API_KEY = `bench-${randomBytes(18).toString('base64url')}`;
  const secrets = { SESSION_SECRET: randomBytes(32).toString('base64url'), VAULT_KEY: randomBytes(32).toString('base64') };
  const idp = neededStacks.some(isOAuth) ? await startOAuthServer(startNode, serversDir) : null;
  const upstream = await startNode('upstream', join(serversDir, 'upstream.mjs'), { PORT: '0', API_KEY, ...(idp ? { BEARER_CHECK_URL: idp.checkUrl } : {}) });
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  log(`upstream on ${upstreamUrl}`);

  const servers = {};
  try {
    await Promise.all(
      neededStacks.map(async (st) => {
        const nodeArgs = profile === st.id ? (mkdirSync(profDir, { recursive: true }), ['--cpu-prof', '--cpu-prof-dir', profDir]) : [];
        const s = await startNode(st.id, join(serversDir, st.server), { PORT: '0', REDIS_URL: redis.url, UPSTREAM_URL: upstreamUrl, API_KEY, ...secrets, ...(isOAuth(st) ? idp.env : {}), ...st.env }, { nodeArgs });
        servers[st.id] = s;
      }),
    );
  } catch (e) {
    console.error(`[bench] ${e.message}`);
    await cleanup();
    await redis.close();
    process.exit(1);
  }
  log(`servers up: ${neededStacks.map((s) => `${s.id}:${servers[s.id].port}`).join(' ')}`);

  const cookies = {};
  if (idp) await idp.register(neededStacks.filter(isOAuth).map((st) => servers[st.id].port));
  for (const st of neededStacks) cookies[st.id] = st.session ? await login(servers, st, 'bench-user') : PLACEHOLDER_COOKIE;
  for (const st of neededStacks.filter(isOAuth)) cookies[st.id] = await connectOAuth(servers[st.id].port, cookies[st.id]);
  return { redis, idp, upstreamUrl, API_KEY, secrets, servers, cookies };
}
