// The OAuth rows of the bench (issue 24): the authorization server process, the connect flow
// that gives a bench session its tokens, and the refresh stampede (200 concurrent calls of one
// session at expiry, spread over 3 instances sharing one Redis: how many token requests).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cookieFrom, httpCall } from './http.mjs';
import { stop } from './processes.mjs';
import { statsDelta } from './redis.mjs';
import { browserHeaders } from './stacks.mjs';

export const OAUTH_CLIENT_ID = 'bench-keyward';

/** Starts the authorization server (bench/src/servers/idp.mjs); its control port and issuer. */
export async function startOAuthServer(startNode, serversDir) {
  const clientSecret = randomBytes(32).toString('base64url');
  const proc = await startNode('idp', join(serversDir, 'idp.mjs'), {});
  const issuer = /^issuer (\S+)$/m.exec(proc.output())[1];
  const control = `http://127.0.0.1:${proc.port}`;
  return {
    proc,
    issuer,
    clientSecret,
    /** The environment a Keyward server with CREDENTIAL=oauth needs. */
    env: { OAUTH_ISSUER: issuer, OAUTH_CLIENT_ID: OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET: clientSecret },
    /** What the upstream asks about a bearer token. */
    checkUrl: `${control}/active`,
    async register(appPorts) {
      await post(`${control}/client`, { clientId: OAUTH_CLIENT_ID, clientSecret, redirectUris: appPorts.map((p) => `http://127.0.0.1:${p}/api/connect/up/callback`) });
    },
    async setAccessTokenTtl(seconds) {
      await post(`${control}/ttl?s=${seconds}`, {});
    },
    async stats() {
      return (await fetch(`${control}/stats`)).json();
    },
  };
}

async function post(url, json) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
}

/**
 * Connects the session of `cookie` at the app on `port` to the `up` account: the app's start
 * route, the provider's login (as the test provider's form takes it), the app's callback.
 * Returns the session's Cookie header (unchanged unless the app set a new one).
 */
export async function connectOAuth(port, cookie) {
  const app = `http://127.0.0.1:${port}`;
  const appJar = new Map(cookie.split('; ').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
  const idpJar = new Map();
  const send = async (url, init = {}) => {
    const u = new URL(url, app);
    const ownApp = u.origin === app;
    const jar = ownApp ? appJar : idpJar;
    const headers = { ...(ownApp ? browserHeaders() : {}), ...init.headers, cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    const r = await fetch(u, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual' });
    for (const sc of r.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      if (value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
    const text = await r.text();
    return { status: r.status, location: r.headers.get('location') && new URL(r.headers.get('location'), u).href, text, url: u.href };
  };
  const isCallback = (href) => new URL(href).pathname === '/api/connect/up/callback';
  let hop = await send('/api/connect/up?returnTo=/');
  if (hop.status !== 302) throw new Error(`connect start answered ${hop.status}: ${hop.text.slice(0, 200)}`);
  // To the provider's login page.
  for (let i = 0; i < 10 && hop.location && !/\/interaction\/[A-Za-z0-9_-]+$/.test(hop.url); i++) hop = await send(hop.location);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)$/.exec(hop.url)?.[1];
  if (!uid) throw new Error(`no login page at the provider: ${hop.status} ${hop.url}`);
  hop = await send(`${new URL(hop.url).origin}/interaction/${uid}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: 'bench-user' }).toString(),
  });
  for (let i = 0; i < 10 && hop.location && !isCallback(hop.location); i++) hop = await send(hop.location);
  if (!hop.location || !isCallback(hop.location)) throw new Error(`the provider did not send the browser back: ${hop.status} ${hop.url}`);
  const back = await send(hop.location);
  if (back.status !== 302) throw new Error(`connect callback answered ${back.status}: ${back.text.slice(0, 200)}`);
  return [...appJar].filter(([k]) => !k.startsWith('kw-oauth')).map(([k, v]) => `${k}=${v}`).join('; ');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * The refresh stampede: 3 Keyward instances (Express, Fastify, Express) on one Redis, one
 * connected session whose 4 s access token is refreshed 2 s early; each round waits until the
 * token is due, then sends `calls` concurrent proxied calls of that session, round robin over
 * the instances, and counts the provider's token requests, the answers, the latency and the
 * Redis commands of the burst.
 */
export async function refreshStampede({ startNode, serversDir, idp, redis, baseEnv, rounds = 3, calls = 200 }) {
  const login = async (port, user) => cookieFrom(await httpCall(port, 'POST', '/auth/login', browserHeaders(), { id: user, name: 'Bench User' }), 'sid');
  const instances = [];
  for (const adapter of ['express', 'fastify', 'express']) {
    instances.push(await startNode(`stampede-${instances.length}`, join(serversDir, 'keyward.mjs'), { ...baseEnv, ...idp.env, ADAPTER: adapter, CREDENTIAL: 'oauth', OAUTH_SKEW_MS: '2000', MAX_CONCURRENT: '512' }));
  }
  await idp.register(instances.map((s) => s.port));
  const out = [];
  try {
    await idp.setAccessTokenTtl(4);
    const cookie = await connectOAuth(instances[0].port, await login(instances[0].port, `stampede-${randomBytes(3).toString('hex')}`));
    const call = (i) => {
      const t0 = performance.now();
      return fetch(`http://127.0.0.1:${instances[i % 3].port}/api/proxy/up/items`, { headers: browserHeaders(cookie) }).then(async (r) => {
        await r.arrayBuffer();
        return { status: r.status, ms: performance.now() - t0 };
      });
    };
    // Every instance answers with the current token, and the connections are open.
    for (let i = 0; i < 3; i++) if ((await call(i)).status !== 200) throw new Error(`stampede: instance ${i} did not answer 200 before the burst`);
    for (let round = 0; round < rounds; round++) {
      await sleep(2_300); // the token is now due (issued <= 4 s ago, refreshed 2 s early)
      const before = await idp.stats();
      const redisBefore = await redis.commandStats();
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: calls }, (_, i) => call(i)));
      const wallMs = performance.now() - t0;
      const after = await idp.stats();
      const redisAfter = await redis.commandStats();
      const statuses = {};
      for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      const ms = answers.map((a) => a.ms).sort((x, y) => x - y);
      const commands = Object.values(statsDelta(redisBefore, redisAfter)).reduce((n, v) => n + v, 0);
      out.push({ round: round + 1, refreshes: after.refresh_token - before.refresh_token, statuses, p50: pct(ms, 50), p99: pct(ms, 99), max: ms.at(-1), wallMs, redisCommandsPerCall: commands / calls });
    }
  } finally {
    await idp.setAccessTokenTtl(3600);
    await Promise.all(instances.map((s) => stop(s.proc)));
  }
  return out;
}

/** The stampede's rounds as a Markdown table. */
export function stampedeTable(rounds, calls = 200) {
  const lines = [
    `| Round | ${calls} concurrent calls at expiry, 3 instances | token requests (refresh_token) | answers | p50 ms | p99 ms | max ms | Redis cmds/call |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rounds) {
    lines.push(`| ${r.round} | ${r.wallMs.toFixed(0)} ms for the burst | **${r.refreshes}** | ${Object.entries(r.statuses).map(([s, n]) => `${n} x ${s}`).join(', ')} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.redisCommandsPerCall.toFixed(2)} |`);
  }
  return lines.join('\n');
}
