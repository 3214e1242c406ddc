// Stack 5, the ceiling: plain NestJS on Express with no session at all. The session-check
// route returns the same small JSON; the proxy route forwards with undici and a keep-alive
// Agent (Keyward's client, same pool settings) and a key held in memory.
// Env: PORT, UPSTREAM_URL, API_KEY.
import { Controller, Get, Module, Res, Req } from '@nestjs/common';
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

class AppModule {}
klass(AppModule, [Module({ controllers: [MeController, ProxyController] })]);

await serve(AppModule);
