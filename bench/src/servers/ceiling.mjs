// Stack 5, the ceiling: plain NestJS on Express with no session at all. The session-check
// route returns the same small JSON; the proxy route forwards with undici and a keep-alive
// Agent (Keyward's client, same pool settings) and a key held in memory.
// Env: PORT, UPSTREAM_URL, API_KEY.
//   Opt-in, to take the session check apart (stacks ceiling-headers and ceiling-read, run only
//   when named in --only; see bench/README.md, "The session check on Express"):
//      HEADERS=keyward: every response gets the headers Keyward's edge sets on a session check
//        (X-Request-Id, the five security headers, Vary, Cache-Control: no-store), set by a
//        listener ahead of Express (as Keyward's edge is), with no Express layer added;
//      SESSION_READ=redis (with REDIS_URL): a global Nest guard awaits one HGETALL of a hash
//        shaped like Keyward's session record, through ioredis with auto-pipelining (as
//        Keyward's RedisStore reads it), and checks that it is there.
import { Controller, Get, Injectable, Module, Res, Req } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { klass, method } from '../lib/decorate.mjs';
import { meBody, serve, upstreamTarget } from '../lib/serve.mjs';

const UPSTREAM = process.env.UPSTREAM_URL;
const API_KEY = process.env.API_KEY;
const agent = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
const user = { id: 'bench-user', name: 'Bench User' };

class MeController {
  me() {
    return meBody(user);
  }
}
method(MeController, 'me', [Get('me')]);
klass(MeController, [Controller('api')]);

class ProxyController {
  async forward(req, res) {
    const r = await request(upstreamTarget(UPSTREAM, req), { headers: { 'x-api-key': API_KEY, accept: req.headers.accept ?? 'application/json' }, dispatcher: agent });
    const body = Buffer.from(await r.body.arrayBuffer());
    res.statusCode = r.statusCode;
    if (r.headers['content-type']) res.setHeader('content-type', r.headers['content-type']);
    res.setHeader('cache-control', 'no-store');
    res.end(body);
  }
}
method(ProxyController, 'forward', [Get('*path')], [[0, Req()], [1, Res()]]);
klass(ProxyController, [Controller('api/proxy/up')]);

const providers = [];
if (process.env.SESSION_READ === 'redis') {
  const { Redis } = await import('ioredis');
  const redis = new Redis(process.env.REDIS_URL, { enableAutoPipelining: true });
  const key = `kw:s:{ceiling-${randomUUID()}}`;
  const now = Date.now();
  await redis.hset(key, 'u', user.id, 'h', 'x'.repeat(22), 'c', now, 'l', now, 'ie', now + 3_600_000, 'ae', now + 43_200_000, 'v', 1, 'd.kw.user', JSON.stringify(user));
  await redis.expire(key, 3600);
  class SessionReadGuard {
    async canActivate() {
      const fields = await redis.call('HGETALL', key);
      return fields.length > 0;
    }
  }
  klass(SessionReadGuard, [Injectable()]);
  providers.push({ provide: APP_GUARD, useClass: SessionReadGuard });
}

class AppModule {}
klass(AppModule, [Module({ controllers: [MeController, ProxyController], providers })]);

const SECURITY_HEADERS = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

await serve(AppModule, {
  setup(app) {
    if (process.env.HEADERS !== 'keyward') return;
    app.getHttpAdapter().getInstance().disable('x-powered-by');
    app.getHttpServer().prependListener('request', (req, res) => {
      res.setHeader('X-Request-Id', randomUUID());
      for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
      res.appendHeader('Vary', 'Origin, Sec-Fetch-Site');
      res.setHeader('Cache-Control', 'no-store');
    });
  },
});
