// Stacks 3 and 4: Keyward (the built packages/nest/dist) on Express or Fastify, with the
// Redis store, the vault and the proxy at /api/proxy/up/<path>.
// Env: PORT, REDIS_URL, UPSTREAM_URL, API_KEY, SESSION_SECRET, VAULT_KEY,
//      ADAPTER=express|fastify, CREDENTIAL=server|minted,
//      KEYWARD_DIST (optional: another build's dist/src/index.js, for an A/B of a fix),
//      REDIS_OPTIONS (optional JSON: extra ioredis options for the store, e.g. {"enableAutoPipelining":false}),
//      PROXY_LIMIT=1 (issue 22): proxy call limits per session and per user (proxy.limits, counted in the
//        store: one more round trip per proxied call), high enough never to refuse a call of the bench;
//        ignored by a build without call limits (the --compare twin of an older build), which says so.
//   Opt-in, for bench/scale.mjs (issue 18); none of them is set by bench/run.mjs:
//      STORE=redis|sqlite (default redis), SQLITE_FILE (with STORE=sqlite),
//      SWEEP_MS (session.sweepIntervalMs; 0 turns the sweeper's timer off),
//      LOG_REQUESTS=1 (logRequests), LOGGER=redacting|plain with LOG_FILE: Nest's logger goes to a
//        pino logger writing to LOG_FILE, Keyward's redacting preset (KeywardLogger) or a plain
//        pino logger (same pino, no redact paths, no live-secret scrub),
//      LIVE_SECRETS=N: N extra run-time secrets in the redaction registry (as N live minted keys),
//      EXTRA_ROUTES=1: GET /api/sessions, DELETE /api/sessions/:handle, POST /auth/logout-all,
//      BENCH_PROBE=1: a side server on another loopback port (printed as "probe <port>") with
//        GET /eld (event-loop delay histogram since the last ?reset=1, perf_hooks.monitorEventLoopDelay),
//        GET /mem (process.memoryUsage), POST /sweep (SessionService.sweep(), timed),
//        POST /clock?advance=ms (moves the app's session clock), GET /secrets (registry and issuer counts).
//   oauth (issue 24): a connected account `up` at OAUTH_ISSUER (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET,
//           OAUTH_SKEW_MS = refreshSkewMs): the proxy sends the session's access token as
//           `Authorization: Bearer`, sealed in the session record, refreshed on the server;
//   server: the upstream key is the app's own (ServerKeyProvider, held in memory);
//   minted: a key per session, sealed in the session record by the vault (MintedKeyProvider
//           with an issuer that hands out the upstream's key): the closest match to the
//           advisory's per-session `sess:<id>:apiKey`.
import { Body, Controller, Delete, Get, HttpCode, Module, Param, Post } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { klass, method } from '../lib/decorate.mjs';
import { meBody, serve } from '../lib/serve.mjs';

const dist = process.env.KEYWARD_DIST ? pathToFileURL(process.env.KEYWARD_DIST) : new URL('../../../packages/nest/dist/src/index.js', import.meta.url);
const { AllowAnonymous, CurrentSession, ERROR_CATALOGUE, KeywardModule, KeywardLogger, MintedKeyProvider, RedisStore, ServerKeyProvider, SessionService, SqliteStore, liveSecrets } =
  await import(dist.href);

// PROXY_LIMIT=1: a per-session and a per-user limit that the bench never reaches (both counted in one round trip).
const hasLimits = Object.hasOwn(ERROR_CATALOGUE ?? {}, 'KW_PROXY_RATE_LIMITED');
if (process.env.PROXY_LIMIT === '1' && !hasLimits) console.log('PROXY_LIMIT=1 ignored: this build has no proxy call limits');
const proxyLimits =
  process.env.PROXY_LIMIT === '1' && hasLimits
    ? { limits: [{ per: 'session', max: 1_000_000_000, windowMs: 60_000 }, { per: 'user', max: 1_000_000_000, windowMs: 86_400_000 }] }
    : {};

const ADAPTER = process.env.ADAPTER === 'fastify' ? 'fastify' : 'express';
const API_KEY = process.env.API_KEY;

const issued = { minted: 0, revoked: 0 };
// LIVE_KEYS=distinct: each minted key is a distinct value (as a real issuer's), so the
// redaction registry holds one entry per live key; by default every session gets the upstream's key.
const distinctKeys = process.env.LIVE_KEYS === 'distinct';
const issuer = {
  async mint() {
    issued.minted++;
    return { id: randomBytes(9).toString('base64url'), key: distinctKeys ? `mk_${randomBytes(24).toString('base64url')}` : API_KEY };
  },
  async revoke() {
    issued.revoked++;
  },
};
const OAUTH = process.env.CREDENTIAL === 'oauth';
const credential = process.env.CREDENTIAL === 'minted' ? new MintedKeyProvider({ issuer }) : new ServerKeyProvider({ keys: [API_KEY] });
const oauthOptions = OAUTH
  ? {
      oauth: {
        connections: {
          up: {
            issuer: process.env.OAUTH_ISSUER, clientId: process.env.OAUTH_CLIENT_ID, clientAuth: { secret: process.env.OAUTH_CLIENT_SECRET },
            scopes: ['api:read'], allowHttpToLoopback: true, refreshSkewMs: Number(process.env.OAUTH_SKEW_MS ?? 60_000),
          },
        },
      },
    }
  : { credentials: { up: credential } };

class AuthController {
  async login(session, body) {
    await session.login({ id: String(body.id), name: String(body.name ?? body.id) });
    return { ok: true };
  }
}
method(AuthController, 'login', [Post('login'), HttpCode(200), AllowAnonymous()], [[0, CurrentSession()], [1, Body()]]);
klass(AuthController, [Controller('auth')]);

class MeController {
  me(session) {
    return meBody(session.user);
  }
}
method(MeController, 'me', [Get('me')], [[0, CurrentSession()]]);
klass(MeController, [Controller('api')]);

// EXTRA_ROUTES=1: a user's session list, revoke one, logout everywhere.
class SessionsController {
  list(session) {
    return session.list();
  }
  async revoke(session, handle) {
    await session.revoke(handle);
    return { ok: true };
  }
  async logoutAll(session) {
    return { ended: await session.logoutAll() };
  }
}
method(SessionsController, 'list', [Get('api/sessions')], [[0, CurrentSession()]]);
method(SessionsController, 'revoke', [Delete('api/sessions/:handle')], [[0, CurrentSession()], [1, Param('handle')]]);
method(SessionsController, 'logoutAll', [Post('auth/logout-all'), HttpCode(200)], [[0, CurrentSession()]]);
klass(SessionsController, [Controller()]);

let clockOffset = 0;
const clock = { now: () => Date.now() + clockOffset };
const store =
  process.env.STORE === 'sqlite'
    ? new SqliteStore({ file: process.env.SQLITE_FILE })
    : new RedisStore({ url: process.env.REDIS_URL, redisOptions: JSON.parse(process.env.REDIS_OPTIONS ?? '{}') });
const sessionExtra = {
  ...(process.env.SWEEP_MS !== undefined ? { sweepIntervalMs: Number(process.env.SWEEP_MS) } : {}),
  ...(process.env.BENCH_PROBE === '1' ? { clock } : {}),
};

class AppModule {}
klass(AppModule, [
  Module({
    imports: [
      KeywardModule.forRoot({
        session: { secrets: [process.env.SESSION_SECRET], store, ...sessionExtra },
        vault: { keys: [`k1:${process.env.VAULT_KEY}`] },
        ...(process.env.LOG_REQUESTS === '1' ? { logRequests: true } : {}),
        ...oauthOptions,
        proxy: {
          services: {
            up: { baseUrl: `${process.env.UPSTREAM_URL.replace(/\/$/, '')}/`, credential: 'up', ...(OAUTH ? {} : { key: { header: 'x-api-key' } }), allowHttpToLoopback: true,
              // wrk drives every connection with one session: give it the whole pool, as the advisory's stack has.
              maxConcurrentPerSession: 64,
              // The refresh stampede (bench/src/harness/oauth.mjs) sends 200 calls of one session at once.
              ...(process.env.MAX_CONCURRENT ? { maxConcurrent: Number(process.env.MAX_CONCURRENT), maxConcurrentPerSession: Number(process.env.MAX_CONCURRENT) } : {}) },
          },
          ...proxyLimits,
        },
      }),
    ],
    controllers: [AuthController, MeController, ...(process.env.EXTRA_ROUTES === '1' ? [SessionsController] : [])],
  }),
]);
for (let i = 0, n = Number(process.env.LIVE_SECRETS ?? 0); i < n; i++) liveSecrets.add(`mk_${randomBytes(24).toString('base64url')}`);

async function pinoDestination() {
  const { pino } = await import('pino');
  return { pino, dest: pino.destination({ dest: process.env.LOG_FILE, sync: false, minLength: 4096 }) };
}

const app = await serve(AppModule, {
  adapter: ADAPTER,
  async setup(app) {
    if (process.env.LOGGER === 'redacting') {
      const { dest } = await pinoDestination();
      const { createRedactingLogger } = await import(dist.href);
      app.useLogger(new KeywardLogger(createRedactingLogger({ destination: dest })));
    } else if (process.env.LOGGER === 'plain') {
      const { pino, dest } = await pinoDestination();
      app.useLogger(new KeywardLogger(pino({ level: 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest)));
    }
  },
});

if (process.env.BENCH_PROBE === '1') {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const sessions = app.get(SessionService);
  const probe = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    let body;
    if (url.pathname === '/eld') {
      body = { count: eld.count, min: ms(eld.min), mean: ms(eld.mean), p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max) };
      if (url.searchParams.has('reset')) eld.reset();
    } else if (url.pathname === '/mem') {
      body = process.memoryUsage();
    } else if (url.pathname === '/sweep') {
      const t0 = performance.now();
      const ended = await sessions.sweep();
      body = { ended, ms: Math.round(performance.now() - t0) };
    } else if (url.pathname === '/clock') {
      clockOffset += Number(url.searchParams.get('advance') ?? 0);
      body = { offset: clockOffset };
    } else if (url.pathname === '/secrets') {
      body = { ...liveSecrets.stats(), size: liveSecrets.size, ...issued };
    }
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  probe.listen(0, '127.0.0.1', () => console.log(`probe ${probe.address().port}`));
}
