// Stacks 1 and 2: the advisory's prescribed fix, written the way the advisory shows it.
// NestJS on Express + express-session (hardened cookie options) + connect-redis 9 with a
// node-redis client; the API key lives under a separate Redis key `sess:<id>:apiKey` and
// a middleware reads it on every authenticated request (3 Redis commands per request:
// GET session, GET key, EXPIRE on touch). The origin/CSRF check the advisory asks for
// runs on state-changing requests and on the proxy route.
// Env: PORT, REDIS_URL, UPSTREAM_URL, API_KEY, SESSION_SECRET, CLIENT=fetch|undici.
//      LOGGER=nestjs-pino with LOG_FILE (opt-in, bench/scale.mjs): a mainstream request logger,
//      nestjs-pino's LoggerModule (pino-http, one line per request with its req/res), writing to
//      LOG_FILE, with the cookie and set-cookie headers redacted as its docs suggest.
import { Body, Controller, Get, HttpCode, Injectable, Module, Post, Req, Res, UnauthorizedException, ForbiddenException } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { Agent, request } from 'undici';
import { klass, method } from '../lib/decorate.mjs';
import { meBody, serve, upstreamTarget } from '../lib/serve.mjs';

const CLIENT = process.env.CLIENT === 'undici' ? 'undici' : 'fetch';
const UPSTREAM = process.env.UPSTREAM_URL;
const API_KEY = process.env.API_KEY;
const MAX_AGE_MS = 30 * 60 * 1000;

const redis = createClient({ url: process.env.REDIS_URL });
redis.on('error', () => {});
await redis.connect();

const apiKeyOf = (sid) => `sess:${sid}:apiKey`;
// Same pool settings as Keyward's proxy (maxConcurrent 64, keep-alive, no pipelining).
const agent = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });

/** The advisory's origin check: custom header plus same-origin fetch metadata (or Origin). */
function originOk(req) {
  if (req.headers['x-csrf'] !== '1') return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  return req.headers.origin === `http://${req.headers.host}`;
}

class SessionAuthGuard {
  canActivate(context) {
    const req = context.switchToHttp().getRequest();
    const path = req.path;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path.startsWith('/api/proxy/')) {
      if (!originOk(req)) throw new ForbiddenException('origin refused');
    }
    if (path === '/auth/login') return true;
    if (!req.session?.user) throw new UnauthorizedException();
    return true;
  }
}
klass(SessionAuthGuard, [Injectable()]);

class AuthController {
  async login(req, body) {
    await new Promise((ok, ko) => req.session.regenerate((e) => (e ? ko(e) : ok())));
    req.session.user = { id: String(body.id), name: String(body.name ?? body.id) };
    await redis.set(apiKeyOf(req.sessionID), API_KEY, { expiration: { type: 'EX', value: MAX_AGE_MS / 1000 } });
    return { ok: true };
  }
}
method(AuthController, 'login', [Post('login'), HttpCode(200)], [[0, Req()], [1, Body()]]);
klass(AuthController, [Controller('auth')]);

class MeController {
  me(req) {
    return meBody(req.session.user);
  }
}
method(MeController, 'me', [Get('me')], [[0, Req()]]);
klass(MeController, [Controller('api')]);

class ProxyController {
  async forward(req, res) {
    const target = upstreamTarget(UPSTREAM, req);
    const headers = { 'x-api-key': req.apiKey, accept: req.headers.accept ?? 'application/json' };
    let status;
    let type;
    let body;
    if (CLIENT === 'fetch') {
      const r = await fetch(target, { headers });
      status = r.status;
      type = r.headers.get('content-type');
      body = Buffer.from(await r.arrayBuffer());
    } else {
      const r = await request(target, { headers, dispatcher: agent });
      status = r.statusCode;
      type = r.headers['content-type'];
      body = Buffer.from(await r.body.arrayBuffer());
    }
    res.statusCode = status;
    if (type) res.setHeader('content-type', type);
    res.setHeader('cache-control', 'no-store');
    res.end(body);
  }
}
method(ProxyController, 'forward', [Get('*path')], [[0, Req()], [1, Res()]]);
klass(ProxyController, [Controller('api/proxy/up')]);

const pinoLogging = process.env.LOGGER === 'nestjs-pino' ? await import('nestjs-pino') : null;
const loggingImports = [];
if (pinoLogging) {
  const { pino } = await import('pino');
  const dest = pino.destination({ dest: process.env.LOG_FILE, sync: false, minLength: 4096 });
  loggingImports.push(pinoLogging.LoggerModule.forRoot({ pinoHttp: [{ redact: ['req.headers.cookie', 'res.headers["set-cookie"]'] }, dest] }));
}

class AppModule {}
klass(AppModule, [Module({ imports: loggingImports, controllers: [AuthController, MeController, ProxyController], providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }] })]);

await serve(AppModule, {
  setup(app) {
    if (pinoLogging) app.useLogger(app.get(pinoLogging.Logger));
    app.use(
      session({
        store: new RedisStore({ client: redis, prefix: 'sess:' }),
        name: 'adv_sid', // custom name, not the fingerprinting default `connect.sid`
        secret: process.env.SESSION_SECRET, // from the environment, never a literal fallback
        resave: false,
        saveUninitialized: false,
        rolling: false, // express-session's default; the advisory does not ask for rolling
        cookie: {
          httpOnly: true,
          secure: false, // the advisory says `true` in production; the bench runs on plain-HTTP loopback
          sameSite: 'strict',
          maxAge: MAX_AGE_MS,
          path: '/',
        },
      }),
    );
    // The advisory's pattern: the key for this session, read from Redis on every request.
    app.use((req, _res, next) => {
      if (!req.session?.user) return next();
      redis.get(apiKeyOf(req.sessionID)).then((key) => {
        req.apiKey = key;
        next();
      }, next);
    });
  },
});
