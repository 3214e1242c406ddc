// Stacks 3 and 4: Keyward (the built packages/nest/dist) on Express or Fastify, with the
// Redis store, the vault and the proxy at /api/proxy/up/<path>.
// Env: PORT, REDIS_URL, UPSTREAM_URL, API_KEY, SESSION_SECRET, VAULT_KEY,
//      ADAPTER=express|fastify, CREDENTIAL=server|minted,
//      KEYWARD_DIST (optional: another build's dist/src/index.js, for an A/B of a fix),
//      REDIS_OPTIONS (optional JSON: extra ioredis options for the store, e.g. {"enableAutoPipelining":false}).
//   server: the upstream key is the app's own (ServerKeyProvider, held in memory);
//   minted: a key per session, sealed in the session record by the vault (MintedKeyProvider
//           with an issuer that hands out the upstream's key): the closest match to the
//           advisory's per-session `sess:<id>:apiKey`.
import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { klass, method } from '../lib/decorate.mjs';
import { meBody, serve } from '../lib/serve.mjs';

const dist = process.env.KEYWARD_DIST ? pathToFileURL(process.env.KEYWARD_DIST) : new URL('../../../packages/nest/dist/src/index.js', import.meta.url);
const { AllowAnonymous, CurrentSession, KeywardModule, MintedKeyProvider, RedisStore, ServerKeyProvider } = await import(dist.href);

const ADAPTER = process.env.ADAPTER === 'fastify' ? 'fastify' : 'express';
const API_KEY = process.env.API_KEY;

const issuer = {
  async mint() {
    return { id: randomBytes(9).toString('base64url'), key: API_KEY };
  },
  async revoke() {},
};
const credential = process.env.CREDENTIAL === 'minted' ? new MintedKeyProvider({ issuer }) : new ServerKeyProvider({ keys: [API_KEY] });

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

class AppModule {}
klass(AppModule, [
  Module({
    imports: [
      KeywardModule.forRoot({
        session: { secrets: [process.env.SESSION_SECRET], store: new RedisStore({ url: process.env.REDIS_URL, redisOptions: JSON.parse(process.env.REDIS_OPTIONS ?? '{}') }) },
        vault: { keys: [`k1:${process.env.VAULT_KEY}`] },
        credentials: { up: credential },
        proxy: {
          services: {
            up: { baseUrl: `${process.env.UPSTREAM_URL.replace(/\/$/, '')}/`, credential: 'up', key: { header: 'x-api-key' }, allowHttpToLoopback: true,
              // wrk drives every connection with one session: give it the whole pool, as the advisory's stack has.
              maxConcurrentPerSession: 64 },
          },
        },
      }),
    ],
    controllers: [AuthController, MeController],
  }),
]);

await serve(AppModule, { adapter: ADAPTER });
