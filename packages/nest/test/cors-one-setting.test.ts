// Issue 22, point 2: a front end on another origin needed the same list twice
// (`cors.origins` for CORS, `origin.allowedOrigins` for the origin/CSRF check: with only
// the first, the preflight passed and the request itself was refused 403), and
// `app.enableCors()` was silently bypassed by Keyward's edge. Now `cors.origins` is the one
// setting, `origin.allowedOrigins` its deprecated alias, and enableCors fails at startup
// naming the Keyward setting to use instead.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { KeywardConfigError, KeywardModule, MemoryStore, resolveKeywardOptions, type KeywardModuleOptions } from '../src/index.js';
import { ADAPTERS, type AdapterName } from './support/adapters.js';
import { Client } from './support/clients.js';
import { CapturingLogger } from './support/capturing.logger.js';
import { configError, problemAt } from './support/config-errors.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { TestController } from './support/test.controller.js';

const FRONT = 'https://front.example.com';
const OTHER = 'https://other.example.com';

const options = (extra: Partial<KeywardModuleOptions> = {}): KeywardModuleOptions => ({
  session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
  ...extra,
});

/** What a browser sends for a credentialed cross-origin fetch from `origin` with the CSRF header. */
const fromPage = (origin: string): Record<string, string> => ({ origin, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'x-csrf': '1' });

function preflight(url: string, origin: string, method = 'POST') {
  return new Client(url).request('OPTIONS', '/login', {
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type,x-csrf', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' },
  });
}

for (const adapter of ADAPTERS) {
  const configs: Array<[string, Partial<KeywardModuleOptions>]> = [
    ['cors.origins', { cors: { origins: [FRONT] } }],
    ['origin.allowedOrigins (deprecated alias)', { origin: { allowedOrigins: [FRONT] } }],
  ];
  for (const [name, config] of configs) {
    describe(`a front end on another origin, configured once with ${name}: ${adapter}`, () => {
      let app: RunningApp;
      before(async () => {
        app = await startTestApp(adapter, options(config));
      });
      after(() => app?.close());

      it('the allowed origin gets a working preflight and a credentialed request', async () => {
        const pre = await preflight(app.url, FRONT);
        assert.equal(pre.status, 204, pre.text);
        assert.equal(pre.headers.get('access-control-allow-origin'), FRONT);
        assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
        assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-csrf/);

        const page = new Client(app.url);
        const login = await page.post('/login', { user: 'alice' }, { headers: fromPage(FRONT) });
        assert.equal(login.status, 200, `the request itself passes the origin/CSRF check: ${login.text}`);
        assert.equal(login.headers.get('access-control-allow-origin'), FRONT);
        assert.equal(login.headers.get('access-control-allow-credentials'), 'true');
        const me = await page.get('/me', { headers: { origin: FRONT, 'sec-fetch-site': 'cross-site' } });
        assert.equal(me.status, 200, me.text);
        assert.equal(me.headers.get('access-control-allow-origin'), FRONT);
        assert.equal((await page.post('/logout-all', undefined, { headers: fromPage(FRONT) })).status, 204);
      });

      it('another origin is refused: preflight and request, without CORS headers', async () => {
        const pre = await preflight(app.url, OTHER);
        assert.equal(pre.status, 403);
        assert.equal(pre.body.code, 'KW_ORIGIN_REFUSED');
        assert.equal(pre.headers.get('access-control-allow-origin'), null);
        const r = await new Client(app.url).post('/login', { user: 'mallory' }, { headers: fromPage(OTHER) });
        assert.equal(r.status, 403);
        assert.equal(r.body.code, 'KW_ORIGIN_REFUSED');
        assert.equal(r.headers.get('access-control-allow-origin'), null);
      });

      it(name.startsWith('origin.') ? 'warns at startup that the alias is deprecated' : 'logs no deprecation', () => {
        const warned = app.logger.lines.some((l) => l.startsWith('warn') && l.includes('origin.allowedOrigins is deprecated') && l.includes(`cors: { origins: ["${FRONT}"] }`));
        assert.equal(warned, name.startsWith('origin.'), app.logger.text);
      });
    });
  }
}

describe('cors.origins and its deprecated alias, validated', () => {
  it('a conflicting pair is refused, naming the one list to keep', () => {
    const err = configError(() => resolveKeywardOptions(options({ cors: { origins: [FRONT] }, origin: { allowedOrigins: [OTHER] } })));
    const line = problemAt(err, 'origin.allowedOrigins');
    assert.match(line, /list different origins/);
    assert.ok(line.includes(`cors: { origins: ["${OTHER}","${FRONT}"] }`), line);
  });
  it('the alias with cors: false is refused', () => {
    const err = configError(() => resolveKeywardOptions(options({ cors: false as never, origin: { allowedOrigins: [FRONT] } })));
    assert.match(problemAt(err, 'origin.allowedOrigins'), /cannot be used with cors: false/);
  });
  it('the same list in both is accepted, with a warning to remove the alias', () => {
    const resolved = resolveKeywardOptions(options({ cors: { origins: [FRONT] }, origin: { allowedOrigins: [FRONT] } }));
    assert.deepEqual([...resolved.cors!.origins], [FRONT]);
    assert.ok(resolved.warnings.some((w) => w.includes('repeats cors.origins')));
  });
  it('cors.origins is what the origin check allows (and the Host allowlist)', () => {
    const resolved = resolveKeywardOptions(options({ cors: { origins: [FRONT] } }));
    assert.deepEqual([...resolved.origin.allowedOrigins], [FRONT]);
    assert.deepEqual(resolved.warnings, []);
  });
  it('a bad origin in the alias is still reported at its path', () => {
    const err = configError(() => resolveKeywardOptions(options({ origin: { allowedOrigins: ['https://*.example.com'] } })));
    assert.match(problemAt(err, 'origin.allowedOrigins'), /not an exact origin/);
  });
});

/**
 * Creates the app (as a bootstrap would) and runs `bootstrap` on it; closes it whatever
 * happens. `abortOnError: false`: by default Nest logs an error thrown at startup and exits
 * the process, which a test cannot observe.
 */
async function bootstrap(adapter: AdapterName, extra: Partial<KeywardModuleOptions>, run: (app: INestApplication) => Promise<void> | void, appOptions: { cors?: unknown } = {}): Promise<void> {
  @Module({ imports: [KeywardModule.forRoot(options(extra))], controllers: [TestController] })
  class AppModule {}
  const logger = new CapturingLogger();
  const app: INestApplication =
    adapter === 'fastify'
      ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger, abortOnError: false, ...appOptions } as never)
      : await NestFactory.create(AppModule, { logger, abortOnError: false, ...appOptions } as never);
  try {
    await run(app);
  } finally {
    await app.close();
  }
}

for (const adapter of ADAPTERS) {
  describe(`app.enableCors() beside Keyward fails at startup: ${adapter}`, () => {
    it('names the Keyward setting, with the origins enableCors was given', async () => {
      await bootstrap(adapter, {}, (app) => {
        assert.throws(
          () => app.enableCors({ origin: [FRONT, 'https://Admin.Example.com/'], credentials: true, methods: ['GET', 'POST'] }),
          (e: unknown) => {
            assert.ok(e instanceof KeywardConfigError, String(e));
            assert.match(e.message, /Remove app\.enableCors\(\.\.\.\)/);
            assert.ok(e.message.includes(`cors: { origins: ["${FRONT}","https://admin.example.com"], methods: ["GET","POST"] }`), e.message);
            return true;
          },
        );
      });
    });

    it('with Keyward CORS already set, says to keep it; enableCors() without options gives an example value', async () => {
      await bootstrap(adapter, { cors: { origins: [FRONT] } }, (app) => {
        assert.throws(() => app.enableCors(), (e: unknown) => e instanceof KeywardConfigError && e.message.includes(`keep KeywardModule.forRoot({ ..., cors: { origins: ["${FRONT}"] } }) (already set)`));
      });
      await bootstrap(adapter, {}, (app) => {
        assert.throws(() => app.enableCors(), (e: unknown) => e instanceof KeywardConfigError && /cors: \{ origins: \["https:\/\/app\.example\.com"\] \} \}\) with the exact origins of your front end/.test(e.message));
      });
    });

    it("NestFactory.create's `cors` option fails at listen", async () => {
      await bootstrap(
        adapter,
        {},
        async (app) => {
          await assert.rejects(app.listen(0, '127.0.0.1'), (e: unknown) => e instanceof KeywardConfigError && e.message.includes('app.enableCors() cannot be used with Keyward'));
        },
        { cors: { origin: FRONT, credentials: true } },
      );
    });

    it('a testing module (the adapter comes after the providers) is checked too', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [KeywardModule.forRoot(options())], controllers: [TestController] }).compile();
      const app = adapter === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
      try {
        assert.throws(() => app.enableCors({ origin: FRONT }), KeywardConfigError);
      } finally {
        await app.close();
      }
    });
  });
}
