// Issue 22, point 1 (and 3b): an app with its own catch-all exception filter, the kind
// NestJS apps already have (`exception instanceof HttpException ? getStatus() : 500`, body
// from getResponse()), registered with app.useGlobalFilters() or as an APP_FILTER. Before,
// every Keyward refusal reached it as a plain KeywardError and it answered 500; and an
// APP_FILTER of the app's root module was never asked at all (Keyward's own catch-all
// filter was asked first). Now Keyward's refusals reach it as KeywardHttpException with the
// catalogue's status and Keyward's body, the headers already set; and the store-outage log
// line names its cause.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Catch, Controller, HttpCode, HttpException, Inject, Logger, Module, Put, type ArgumentsHost, type ExceptionFilter, type INestApplication } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { connect, type AddressInfo } from 'node:net';
import { AllowAnonymous, KeyBodyLimit, KeywardModule, RedisStore, isKeywardHttpException, type ErrorBody, type KeywardModuleOptions } from '../src/index.js';
import { ADAPTERS, type AdapterName } from './support/adapters.js';
import { AppClient, Client, type Reply } from './support/clients.js';
import { CapturingLogger } from './support/capturing.logger.js';
import { RedisServer } from './support/redis-server.js';
import { findSecrets, secret } from './support/secrets.js';
import { startTestApp } from './support/test-app.js';
import { TestController } from './support/test.controller.js';
import { causeOf } from '../src/http/error-writer.js';
import { StoreUnavailableError } from '../src/index.js';

/** A catch-all filter as apps write it (no knowledge of Keyward), marking its answers. */
@Catch()
class AppCatchAllFilter implements ExceptionFilter {
  private readonly logger = new Logger('AppCatchAllFilter');
  constructor(@Inject(HttpAdapterHost) private readonly host: HttpAdapterHost) {}

  catch(exception: unknown, ctx: ArgumentsHost): void {
    const { httpAdapter } = this.host;
    const res = ctx.switchToHttp().getResponse();
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const body = exception instanceof HttpException ? exception.getResponse() : { statusCode: 500, message: 'Internal server error' };
    // Apps log what they catch: nothing secret may be in it.
    this.logger.warn(`${status} ${JSON.stringify(body)}`);
    if (status >= 500) this.logger.error(exception);
    httpAdapter.setHeader(res, 'X-App-Filter', exception instanceof HttpException ? exception.constructor.name : 'unknown');
    httpAdapter.reply(res, body, status);
  }
}

/** A key route with a small body limit, for the 413. */
@Controller('limited')
class LimitedController {
  @Put()
  @AllowAnonymous()
  @KeyBodyLimit(64)
  @HttpCode(204)
  put(): void {}
}

type Registration = 'useGlobalFilters' | 'APP_FILTER' | 'none';

async function startApp(adapter: AdapterName, registration: Registration, options: KeywardModuleOptions): Promise<{ app: INestApplication; url: string; logger: CapturingLogger }> {
  @Module({
    imports: [KeywardModule.forRoot(options)],
    controllers: [TestController, LimitedController],
    providers: registration === 'APP_FILTER' ? [{ provide: APP_FILTER, useClass: AppCatchAllFilter }] : [],
  })
  class AppModule {}
  const logger = new CapturingLogger();
  const app = adapter === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger }) : await NestFactory.create(AppModule, { logger });
  if (registration === 'useGlobalFilters') app.useGlobalFilters(new AppCatchAllFilter(app.get(HttpAdapterHost)));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, logger };
}

/** One inline command on a fresh connection; resolves with the first reply line. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`${command}\r\n`));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().split('\r\n')[0]!);
    });
    s.once('error', reject);
  });
}

let redis: RedisServer;
before(async () => {
  redis = await RedisServer.launch();
});
after(async () => {
  await redis?.destroy();
});

for (const adapter of ADAPTERS) {
  for (const registration of ['useGlobalFilters', 'APP_FILTER'] as const) {
    describe(`an app's own catch-all exception filter (${registration}) answers Keyward's refusals: ${adapter}`, () => {
      const sessionSecret = secret();
      let app: INestApplication;
      let url: string;
      let logger: CapturingLogger;
      const bodies: string[] = [];
      const cookies: string[] = [];

      before(async () => {
        ({ app, url, logger } = await startApp(adapter, registration, {
          session: { secrets: [sessionSecret], store: new RedisStore({ url: redis.url, prefix: `filters-${adapter}-${registration}:` }), sweepIntervalMs: 0 },
        }));
      });
      after(() => app?.close());

      /** A Keyward refusal as the app's filter wrote it: status, code, Keyward's body and headers. */
      function assertRefusal(r: Reply, status: number, code: string): void {
        bodies.push(r.text);
        assert.equal(r.status, status, `${code}: ${r.status} ${r.text}`);
        assert.equal(r.headers.get('x-app-filter'), 'KeywardHttpException', 'the app filter answered, with an HttpException');
        const body = r.body as ErrorBody;
        assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'requestId']);
        assert.equal(body.code, code);
        assert.equal(typeof body.error, 'string');
        assert.equal(body.requestId, r.headers.get('x-request-id'), 'the request id of the answer');
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }

      it('401 without a session', async () => {
        assertRefusal(await new Client(url).get('/me'), 401, 'KW_SESSION_REQUIRED');
      });

      it('401 for a forged cookie, the cookie cleared', async () => {
        const forged = `sid=${'A'.repeat(43)}.${'B'.repeat(43)}`;
        const r = await new Client(url).get('/me', { cookie: forged });
        assertRefusal(r, 401, 'KW_SESSION_INVALID');
        assert.ok(r.setCookies.some((c) => /^sid=;/.test(c) && /max-age=0/i.test(c)), `the bad cookie is cleared: ${r.setCookies.join(' | ')}`);
      });

      it('403 from a foreign origin, and without X-CSRF', async () => {
        assertRefusal(await new Client(url).post('/login', { user: 'mallory' }, { headers: { origin: 'https://evil.example', 'x-csrf': '1' } }), 403, 'KW_ORIGIN_REFUSED');
        const c = new AppClient(url);
        assert.equal((await c.post('/login', { user: 'alice' })).status, 200);
        cookies.push(c.jar.get('sid')!);
        assertRefusal(await c.post('/logout-all', undefined, { headers: { 'x-csrf': '' } }), 403, 'KW_CSRF_HEADER_MISSING');
      });

      it('413 past a @KeyBodyLimit', async () => {
        assertRefusal(await new AppClient(url).put('/limited', { key: 'k'.repeat(200) }), 413, 'KW_BODY_TOO_LARGE');
      });

      it('404 KW_SESSION_NOT_FOUND thrown by RequestSession.revoke() in a handler', async () => {
        const c = new AppClient(url);
        assert.equal((await c.post('/login', { user: 'bob' })).status, 200);
        cookies.push(c.jar.get('sid')!);
        assertRefusal(await c.delete('/sessions/no-such-handle-0000'), 404, 'KW_SESSION_NOT_FOUND');
      });

      it('503 while the store is down, logged once with its cause', async () => {
        const c = new AppClient(url);
        assert.equal((await c.post('/login', { user: 'carol' })).status, 200);
        cookies.push(c.jar.get('sid')!);
        await redis.stop();
        try {
          const r = await c.get('/me');
          assertRefusal(r, 503, 'KW_STORE_UNAVAILABLE');
          const id = r.headers.get('x-request-id')!;
          const keywardLines = logger.lines.filter((l) => l.includes(`id=${id}`) && l.includes('KW_STORE_UNAVAILABLE'));
          assert.equal(keywardLines.length, 1, `Keyward logs the outage once:\n${keywardLines.join('\n')}`);
          // 3b: the line names the cause (class and code), never a URL or the rest of the message.
          // Once the client has tried to reconnect, the connection's own last error follows (ECONNREFUSED).
          assert.match(keywardLines[0]!, / cause=Error\(not connected\)(?: <- Error\(ECONNREFUSED\))? id=/, keywardLines[0]);
          assert.doesNotMatch(keywardLines[0]!, /redis:\/\/|127\.0\.0\.1:\d+/, 'no address in the line');
        } finally {
          await redis.start();
        }
      });

      it('no secret, session ID or cookie value in the bodies or the logs', () => {
        assert.ok(cookies.length >= 3);
        const ids = cookies.map((c) => c.split('.')[0]!);
        const hits = findSecrets(bodies.join('\n') + logger.text, [sessionSecret, ...cookies, ...ids]);
        assert.deepEqual(hits, []);
      });
    });
  }

  describe(`Keyward's own filter alone answers as before: ${adapter}`, () => {
    let app: INestApplication;
    let url: string;
    let logger: CapturingLogger;
    before(async () => {
      ({ app, url, logger } = await startApp(adapter, 'none', { session: { secrets: [secret()], store: new RedisStore({ url: redis.url, prefix: `filters-${adapter}-none:` }), sweepIntervalMs: 0 } }));
    });
    after(() => app?.close());

    it('401, 403, 413, 404 and 503 with Keyward body and headers, the outage logged once', async () => {
      const expect = async (r: Reply, status: number, code: string) => {
        assert.equal(r.status, status, r.text);
        assert.deepEqual(r.body, { error: r.body.error, code, requestId: r.headers.get('x-request-id') });
        assert.equal(r.headers.get('cache-control'), 'no-store');
        assert.equal(r.headers.get('x-app-filter'), null);
      };
      await expect(await new Client(url).get('/me'), 401, 'KW_SESSION_REQUIRED');
      await expect(await new Client(url).post('/login', {}, { headers: { origin: 'https://evil.example', 'x-csrf': '1' } }), 403, 'KW_ORIGIN_REFUSED');
      await expect(await new AppClient(url).put('/limited', { key: 'k'.repeat(200) }), 413, 'KW_BODY_TOO_LARGE');
      const c = new AppClient(url);
      assert.equal((await c.post('/login', { user: 'dave' })).status, 200);
      await expect(await c.delete('/sessions/no-such-handle-0000'), 404, 'KW_SESSION_NOT_FOUND');
      await redis.stop();
      try {
        const r = await c.get('/me');
        await expect(r, 503, 'KW_STORE_UNAVAILABLE');
        const id = r.headers.get('x-request-id')!;
        assert.equal(logger.lines.filter((l) => l.includes(`id=${id}`)).length, 1, 'logged once');
      } finally {
        await redis.start();
      }
    });
  });
}

// 3b: what broke, named in the log line of the outage (the answer stays generic).
for (const adapter of ADAPTERS) {
  describe(`the store-outage log line names its cause: ${adapter}`, () => {
    it('NOAUTH: Redis wants a password the app does not send (the line names a cause, never the password)', async () => {
      const locked = await RedisServer.launch();
      const password = secret();
      // A password set after launch (the suite's helper pings without one), before the app's first connection.
      assert.equal(await redisCommand(locked.port, `CONFIG SET requirepass ${password}`), '+OK');
      const app = await startTestApp(adapter, { session: { secrets: [secret()], store: new RedisStore({ url: locked.url, prefix: 'noauth:' }), sweepIntervalMs: 0 } });
      try {
        const r = await new AppClient(app.url).post('/login', { user: 'erin' });
        assert.equal(r.status, 503, r.text);
        assert.deepEqual(r.body, { error: 'The session store is unavailable. Retry shortly.', code: 'KW_STORE_UNAVAILABLE', requestId: r.headers.get('x-request-id') });
        const line = app.logger.lines.find((l) => l.includes(`id=${r.headers.get('x-request-id')}`));
        // ioredis never gets ready, so each command fails as "not connected"; the store names the
        // connection's own last error after it (the NOAUTH of the handshake).
        assert.match(line ?? '', / cause=\w+\(not connected\) <- ReplyError\(NOAUTH\) id=/, line);
        assert.deepEqual(findSecrets(app.logger.text + r.text, [password]), []);
      } finally {
        await app.close();
        await locked.destroy();
      }
    });

    it('READONLY: the app writes to a replica', async () => {
      const replica = await RedisServer.launch(['--replicaof', '127.0.0.1', String(redis.port)]);
      const app = await startTestApp(adapter, { session: { secrets: [secret()], store: new RedisStore({ url: replica.url, prefix: 'readonly:' }), sweepIntervalMs: 0 } });
      try {
        const r = await new AppClient(app.url).post('/login', { user: 'frank' });
        assert.equal(r.status, 503, r.text);
        assert.equal(r.body.code, 'KW_STORE_UNAVAILABLE');
        assert.doesNotMatch(r.text, /READONLY|replica/i, 'the answer stays generic');
        const line = app.logger.lines.find((l) => l.includes(`id=${r.headers.get('x-request-id')}`));
        assert.match(line ?? '', / cause=ReplyError\(READONLY\) id=/, line);
      } finally {
        await app.close();
        await replica.destroy();
      }
    });
  });
}

describe('causeOf names class and code, never the rest of a message', () => {
  const outage = (cause: unknown) => causeOf(new StoreUnavailableError({ cause }));
  it('a code property, an errno in a message, a Redis prefix, a timeout', () => {
    assert.equal(outage(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6379'), { code: 'ECONNREFUSED' })), ' cause=Error(ECONNREFUSED)');
    assert.equal(outage(new Error('Error: connect ECONNREFUSED 10.0.0.5:6379')), ' cause=Error(ECONNREFUSED)');
    assert.equal(outage(new Error('ReplyError: WRONGPASS invalid username-password pair or user is disabled.')), ' cause=ReplyError(WRONGPASS)');
    assert.equal(outage(new Error('Error: Command timed out')), ' cause=Error(timeout)');
    assert.equal(outage(Object.assign(new Error('x'), { name: 'TimeoutError' })), ' cause=TimeoutError(timeout)');
    assert.equal(causeOf(new Error('no cause')), '');
  });
  it('no URL, password or key from the message', () => {
    const password = secret();
    const key = secret();
    const line = outage(new Error(`Error: getaddrinfo ENOTFOUND redis://app:${password}@cache.internal:6379 while reading kw:s:${key}`));
    assert.equal(line, ' cause=Error(ENOTFOUND)');
    const quoted = outage(new Error(`ReplyError: ERR wrong number of arguments for 'hset' ${key}`));
    assert.equal(quoted, ' cause=ReplyError(ERR)');
    assert.deepEqual(findSecrets(line + quoted, [password, key]), []);
    // A message shaped like "<word>: ..." names a class only when it looks like one.
    assert.equal(outage(new Error(`${password}: refused`)), ' cause=Error');
  });
});

describe('isKeywardHttpException', () => {
  it('tells a Keyward refusal from other exceptions', () => {
    assert.equal(isKeywardHttpException(new HttpException('x', 400)), false);
    assert.equal(isKeywardHttpException(new Error('x')), false);
    assert.equal(isKeywardHttpException(undefined), false);
  });
});

// The Fastify fallback: requests that bypass the HTTP server (`inject()`, serverless
// adapters) get the edge as a Nest middleware; its refusals reached the app's filter as a
// plain KeywardError (500).
describe("Fastify inject(): the edge's refusals reach the app's own filter with their status", () => {
  let app: INestApplication;
  before(async () => {
    ({ app } = await startApp('fastify', 'useGlobalFilters', { session: { secrets: [secret()], store: new RedisStore({ url: redis.url, prefix: 'filters-inject:' }), sweepIntervalMs: 0 } }));
  });
  after(() => app?.close());

  it('a foreign Host answers 421 KW_HOST_NOT_ALLOWED through the app filter, not 500', async () => {
    const fastify = app.getHttpAdapter().getInstance() as { inject(o: object): Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }> };
    const r = await fastify.inject({ method: 'GET', url: '/me', headers: { host: 'evil.example' } });
    assert.equal(r.statusCode, 421, r.body);
    assert.equal((JSON.parse(r.body) as ErrorBody).code, 'KW_HOST_NOT_ALLOWED');
    assert.equal(r.headers['x-app-filter'], 'KeywardHttpException');
  });
});
