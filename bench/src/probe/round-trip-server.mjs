// Probe server for bench/src/probe/round-trip.mjs: plain NestJS on Express answering
// GET /api/me, in variants (VARIANT): plain | mwguard (a no-op middleware on every route and
// a no-op global guard) | redis (the guard also awaits one HGETALL through ioredis with
// auto-pipelining, as Keyward's store does) | redis-nopipe (the same without auto-pipelining).
import { Controller, Get, Module, Injectable } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Redis } from 'ioredis';
import { klass, method } from '../lib/decorate.mjs';
import { meBody, serve } from '../lib/serve.mjs';
const V = process.env.VARIANT;
const user = { id: 'bench-user', name: 'Bench User' };
const redis = V.includes('redis') ? new Redis(process.env.REDIS_URL, { enableAutoPipelining: !V.includes('nopipe') }) : null;
if (redis) await redis.hset('kw:s:{abc}', 'u', 'bench-user', 'h', 'x'.repeat(22), 'c', Date.now(), 'l', Date.now(), 'ie', Date.now() + 1e7, 'ae', Date.now() + 1e7, 'v', 1, 'd.kw.user', JSON.stringify(user));
class MeController { me() { return meBody(user); } }
method(MeController, 'me', [Get('me')]);
klass(MeController, [Controller('api')]);
class G { async canActivate(ctx) { if (redis) { const r = await redis.call('HGETALL', 'kw:s:{abc}'); ctx.switchToHttp().getRequest().x = r; } return true; } }
klass(G, [Injectable()]);
class AppModule { configure(c) { if (V !== 'plain') c.apply((req, res, next) => next()).forRoutes('{*splat}'); } }
klass(AppModule, [Module({ controllers: [MeController], providers: V === 'plain' ? [] : [{ provide: APP_GUARD, useClass: G }] })]);
await serve(AppModule);
