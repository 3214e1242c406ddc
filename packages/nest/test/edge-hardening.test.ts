import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BadRequestException, ConflictException, Controller, Get, HttpException, BadGatewayException } from '@nestjs/common';
import { AllowAnonymous, KeywardConfigError, SqliteStore, resolveKeywardOptions, type KeywardModuleOptions, type TransportOptions } from '../src/index.js';
import { ADAPTERS, type AdapterName } from './support/adapters.js';
import { bffOptions } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { nodeRequest } from './support/raw-http.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';

// Security review, issue 13 (HTTP edge) and issue 14 point 4 (the app-wide filter): each
// test is named after the bug it pins, and runs on both adapters over real sockets.

const tmp = mkdtempSync(join(tmpdir(), 'kw-edge-hardening-'));
const SERVER_KEY = secret();
const ADMIN = secret();
let upstream: UpstreamHandle;
let seq = 0;

upstreamSuite({ serverKeys: [{ id: 'server-1', key: SERVER_KEY }], adminToken: ADMIN }, (u) => (upstream = u));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The app's own errors, thrown the ordinary Nest way. */
@Controller('app-errors')
class AppErrorsController {
  @Get('bad')
  @AllowAnonymous()
  bad(): never {
    throw new BadRequestException('username must be 3 to 32 letters');
  }

  @Get('object')
  @AllowAnonymous()
  object(): never {
    throw new ConflictException({ reason: 'taken', field: 'username' });
  }

  @Get('teapot')
  @AllowAnonymous()
  teapot(): never {
    throw new HttpException('short and stout', 418);
  }

  @Get('wrapped')
  @AllowAnonymous()
  wrapped(): never {
    // An app's own answer that wraps an upstream client's error (which carries a status, as axios' and undici's do).
    const upstream = Object.assign(new Error('upstream said no'), { status: 404, statusCode: 404 });
    throw new BadGatewayException('The catalogue service is down; try again later.', { cause: upstream });
  }

  @Get('crash')
  @AllowAnonymous()
  crash(): never {
    throw new Error('internal detail: token=sk-live-123');
  }
}

interface RawAnswer {
  /** Everything the server sent. */
  text: string;
  /** Whether the server closed the connection before the deadline. */
  closed: boolean;
  ms: number;
}

/**
 * Writes `head` on a raw socket (so Host and header bytes go out exactly as written),
 * then `trickle` one byte per `everyMs`; collects what comes back until the server closes
 * or `deadlineMs` passes.
 */
function rawExchange(port: number, head: string | Buffer, o: { trickle?: string; everyMs?: number; deadlineMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, ms: Date.now() - started });
    };
    const deadline = setTimeout(() => finish(false), o.deadlineMs ?? 5000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.write(head);
    if (o.trickle) {
      const bytes = o.trickle;
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        socket.write(bytes[i++ % bytes.length]!);
      }, o.everyMs ?? 100);
    }
  });
}

/** Status line, headers (lower-case names, repeated ones joined) and body of a raw answer. */
function parseAnswer(text: string): { status: number; headers: Record<string, string>; body: string; json: any } {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end < 0 ? text.length : end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const c = l.indexOf(':');
    const name = l.slice(0, c).trim().toLowerCase();
    headers[name] = headers[name] === undefined ? l.slice(c + 1).trim() : `${headers[name]}, ${l.slice(c + 1).trim()}`;
  }
  let body = end < 0 ? '' : text.slice(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body, json };
}

// Option objects are typed loosely so that this file also compiles against the code before the fix.
const options = (adapter: AdapterName, rest: Record<string, unknown> = {}, issuer?: HttpKeyIssuer): KeywardModuleOptions =>
  bffOptions({
    store: new SqliteStore({ file: join(tmp, `${adapter}-${++seq}.sqlite`) }),
    upstreamUrl: upstream.url,
    serverKeys: [SERVER_KEY],
    issuer: issuer ?? new HttpKeyIssuer(upstream.url, ADMIN),
    rest: rest as Partial<KeywardModuleOptions>,
  });

/** Production options: strong secret, Secure cookie, embedded store on disk. */
// Production behind a TLS-terminating proxy on this host (trustProxy 'loopback'): requests that
// come without its X-Forwarded-Proto: https are plain HTTP, as a probe's are.
const production = (adapter: AdapterName, transport: Record<string, unknown>): KeywardModuleOptions => ({
  ...options(adapter, { transport: { trustProxy: 'loopback', ...transport } as TransportOptions }),
  production: true,
});

for (const adapter of ADAPTERS) {
  describe(`edge hardening (issue 13) on ${adapter}`, () => {
    const apps: RunningApp[] = [];
    const issuers: HttpKeyIssuer[] = [];
    let bff: RunningApp;
    let page: PageClient;
    let port: number;
    const start = async (o: KeywardModuleOptions, extra: Parameters<typeof startTestApp>[2] = {}): Promise<RunningApp> => {
      const app = await startTestApp(adapter, o, { controllers: [AppErrorsController], ...extra });
      apps.push(app);
      return app;
    };

    before(async () => {
      const issuer = new HttpKeyIssuer(upstream.url, ADMIN);
      issuers.push(issuer);
      bff = await start(options(adapter, { logRequests: true }, issuer));
      port = bff.port;
      page = new PageClient(bff.url);
      assert.equal((await page.post('/login', { user: `hardening-${adapter}` })).status, 200);
    });
    after(async () => {
      for (const a of apps) await a.close();
      for (const i of issuers) await i.close();
    });

    // -- 4 ------------------------------------------------------------------------------
    describe('regression: DNS rebinding (any Host counted as our own origin in development)', () => {
      const rebound = (cookie: string): Record<string, string> => ({
        host: `evil.example:${port}`,
        origin: `http://evil.example:${port}`,
        'sec-fetch-site': 'same-origin',
        'x-csrf': '1',
        cookie,
      });

      it('a rebinding page cannot spend the key through the proxy: 421 KW_HOST_NOT_ALLOWED, nothing forwarded', async () => {
        const before = upstream.stats().requests;
        const r = await nodeRequest(bff.url, 'GET', '/api/proxy/server/echo', rebound(page.cookieHeader));
        assert.equal(r.status, 421, r.body);
        assert.equal((r.json as { code: string }).code, 'KW_HOST_NOT_ALLOWED');
        assert.equal(upstream.stats().requests, before, 'the upstream was not called');
        assert.ok(!r.body.includes(page.cookieHeader.split('=')[1]!), 'no cookie value in the answer');
      });

      it("a rebinding page cannot use the app's own routes (state-changing or not)", async () => {
        for (const [method, path] of [['GET', '/me'], ['GET', '/keys'], ['POST', '/logout-all'], ['GET', '/healthz']] as const) {
          const r = await nodeRequest(bff.url, method, path, rebound(page.cookieHeader));
          assert.equal(r.status, 421, `${method} ${path}: ${r.status} ${r.body}`);
          assert.equal((r.json as { code: string }).code, 'KW_HOST_NOT_ALLOWED');
          assert.equal(r.headers['set-cookie'], undefined, `${method} ${path}: no cookie effect`);
        }
        assert.equal((await page.get('/me')).status, 200, 'the session survived');
      });

      it('a rebinding page cannot open a WebSocket: 421 on the upgrade', async () => {
        const r = await rawExchange(
          port,
          `GET /socket HTTP/1.1\r\nHost: evil.example:${port}\r\nOrigin: http://evil.example:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${page.cookieHeader}\r\n\r\n`,
        );
        assert.match(r.text, /^HTTP\/1\.1 421 /, JSON.stringify(r.text));
      });

      it('the same refusal when the app is served by another server (the layer runs as a middleware)', async () => {
        const app = await start(options(adapter), { serve: 'instance' });
        const r = await nodeRequest(app.url, 'GET', '/healthz', { host: `evil.example:${app.port}` });
        assert.equal(r.status, 421, r.body);
        assert.equal((r.json as { code: string }).code, 'KW_HOST_NOT_ALLOWED');
        assert.equal((await nodeRequest(app.url, 'GET', '/healthz', {})).status, 200);
      });

      it('a missing, malformed or repeated Host is refused the same way', async () => {
        for (const head of [
          'GET /healthz HTTP/1.0\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: evil.example:1:2\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1.evil.example\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: localhost.evil.example\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1\r\n\r\n',
        ]) {
          const a = parseAnswer((await rawExchange(port, head)).text);
          assert.ok(a.status === 421 || a.status === 400, `${JSON.stringify(head)}: ${a.status} ${a.body}`);
          // 400 is Node's own answer to a header it cannot parse; a 421 is ours and says why.
          if (a.status === 421) assert.match(a.body, /"code":"KW_HOST_NOT_ALLOWED"/);
        }
      });

      it('loopback names and IP addresses (the demo, tests, local probes) are served', async () => {
        for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost', `app.localhost:${port}`, `10.1.2.3:${port}`]) {
          const r = await nodeRequest(bff.url, 'GET', '/healthz', { host });
          assert.equal(r.status, 200, `${host}: ${r.status} ${r.body}`);
        }
        // A same-origin call addressed by name works as before.
        const local = await nodeRequest(bff.url, 'GET', '/api/proxy/server/echo', { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'x-csrf': '1', cookie: page.cookieHeader });
        assert.equal(local.status, 200, local.body);
      });

      it('origin.allowedHosts and the host of transport.publicOrigin are served; other names are not', async () => {
        const app = await start(options(adapter, { origin: { allowedHosts: ['app.test', '.preview.test'] }, transport: { publicOrigin: 'https://public.test' } }));
        for (const host of ['app.test', `app.test:${app.port}`, 'pr-1.preview.test', 'preview.test', 'public.test']) {
          assert.equal((await nodeRequest(app.url, 'GET', '/healthz', { host })).status, 200, host);
        }
        for (const host of ['evil.test', 'app.test.evil.example', 'evilpreview.test', 'public.test.evil.example']) {
          assert.equal((await nodeRequest(app.url, 'GET', '/healthz', { host })).status, 421, host);
        }
      });

      it('origin.allowedHosts is validated with a fix for each mistake', () => {
        assert.throws(
          () => resolveKeywardOptions({ ...options(adapter), origin: { allowedHosts: ['https://app.example.com', '*.example.com', 'app.example.com:443', 'App.Example.com', 7] } as never }),
          (e: unknown) => {
            assert.ok(e instanceof KeywardConfigError);
            const text = e.problems.join('\n');
            for (const hint of ["not an origin: 'app.example.com'", "'.example.com'", "'app.example.com' (no port", "'app.example.com' (lower case)", '7 is not a host name']) {
              assert.ok(text.includes(hint), `${hint} missing in:\n${text}`);
            }
            return true;
          },
        );
        assert.throws(() => resolveKeywardOptions({ ...options(adapter), origin: { allowedHost: ['a.test'] } as never }), /origin\.allowedHosts/);
      });
    });

    // -- 6 ------------------------------------------------------------------------------
    describe('regression: authenticated answers were cacheable', () => {
      it('every answer that depends on the session says Cache-Control: no-store', async () => {
        for (const path of ['/me', '/sessions', '/keys']) {
          const r = await page.get(path);
          assert.equal(r.status, 200, `${path}: ${r.text}`);
          assert.equal(r.headers.get('cache-control'), 'no-store', `${path}: ${r.headers.get('cache-control')}`);
        }
        const anonymousRouteWithSession = await page.get('/healthz');
        assert.equal(anonymousRouteWithSession.headers.get('cache-control'), 'no-store', 'an anonymous route answered to a session');
        const refused = await page.get('/me', { cookie: 'sid=garbage' });
        assert.equal(refused.headers.get('cache-control'), 'no-store');
      });

      it('an answer that cannot depend on a session (anonymous route, no cookie) is left to the app', async () => {
        const r = await nodeRequest(bff.url, 'GET', '/healthz', {});
        assert.equal(r.status, 200);
        assert.equal(r.headers['cache-control'], undefined);
      });
    });

    // -- 7 ------------------------------------------------------------------------------
    it('regression: a client-chosen X-Request-Id was echoed and logged as given', async () => {
      const long = 'a'.repeat(65);
      const cases: Array<[string, string, boolean]> = [
        // No proxy is trusted here: since issue 23.4 a client never chooses the id (request-id-trust.test.ts).
        ['plain id', 'X-Request-Id: abcdefgh-123_X.Y\r\n', false],
        ['64 characters', `X-Request-Id: ${'b'.repeat(64)}\r\n`, false],
        ['65 characters', `X-Request-Id: ${long}\r\n`, false],
        ['empty', 'X-Request-Id: \r\n', false],
        ['unicode', 'X-Request-Id: abcdefgh\u00e9\u2028x\r\n', false],
        ['space', 'X-Request-Id: abcdefgh zz\r\n', false],
        ['tab', 'X-Request-Id: abcdefgh\tzz\r\n', false],
        ['duplicated header', 'X-Request-Id: aaaaaaaa1\r\nX-Request-Id: bbbbbbbb2\r\n', false],
        ['comma list', 'X-Request-Id: aaaaaaaa1,bbbbbbbb2\r\n', false],
        ['log-forging text', 'X-Request-Id: x id=forged session=deadbeef\r\n', false],
        ['CR injection', 'X-Request-Id: abcdefgh\rSet-Cookie: injected=1\r\n', false],
      ];
      for (const [what, header, kept] of cases) {
        const given = /X-Request-Id: ([^\r\n]*)/.exec(header)![1]!;
        const raw = await rawExchange(port, Buffer.from(`GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${header}Connection: close\r\n\r\n`, 'utf8'));
        const a = parseAnswer(raw.text);
        assert.ok(!/injected=1/.test(raw.text), `${what}: header injected`);
        if (a.status === 400 && a.headers['x-request-id'] === undefined) continue; // refused by Node's parser before any app code
        const id = a.headers['x-request-id'];
        assert.match(id ?? '', /^[A-Za-z0-9._-]{8,64}$/, `${what}: ${JSON.stringify(id)}`);
        if (kept) assert.equal(id, given, what);
        else assert.notEqual(id, given, what);
        assert.equal(a.json?.requestId, id, `${what}: body and header agree`);
        if (!kept) assert.ok(!bff.logger.text.includes(given) || given === '', `${what}: the hostile value was logged`);
      }
      assert.ok(!bff.logger.text.includes('id=forged'), 'no forged log fields');
    });

    // -- 8 ------------------------------------------------------------------------------
    describe('regression: a body trickled one byte at a time held a connection for minutes', () => {
      let timed: RunningApp;
      before(async () => {
        timed = await start(options(adapter, { transport: { requestTimeoutMs: 1000, headersTimeoutMs: 600 } }));
      });

      it('a trickled body is cut (408) once transport.requestTimeoutMs has passed', async () => {
        const head = `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${timed.port}\r\nOrigin: ${timed.url}\r\nX-CSRF: 1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"user":"`;
        const r = await rawExchange(timed.port, head, { trickle: 'a', everyMs: 100, deadlineMs: 10_000 });
        assert.ok(r.closed, `still open after ${r.ms} ms`);
        assert.match(r.text, /^HTTP\/1\.1 408 |^$/, JSON.stringify(r.text.slice(0, 60)));
      });

      it('trickled headers are cut once transport.headersTimeoutMs has passed', async () => {
        const r = await rawExchange(timed.port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${timed.port}\r\n`, { trickle: 'X-Slow: aaaa\r\n', everyMs: 100, deadlineMs: 10_000 });
        assert.ok(r.closed, `still open after ${r.ms} ms`);
      });

      it('defaults tighten the server (Node: 300 s / 60 s; Fastify: no request limit, 72 s keep-alive) to 30 s / 10 s / 5 s', () => {
        const server = bff.app.getHttpServer() as Server;
        assert.equal(server.requestTimeout, 30_000);
        assert.equal(server.headersTimeout, 10_000);
        assert.equal(server.keepAliveTimeout, 5_000);
      });

      it("an app's own stricter value is kept, and null leaves a server value alone", async () => {
        const app = await start(options(adapter, { transport: { keepAliveTimeoutMs: null } }), {
          setup: (a) => {
            const s = a.getHttpServer() as Server;
            s.requestTimeout = 7_000;
            s.keepAliveTimeout = 61_000;
          },
        });
        const server = app.app.getHttpServer() as Server;
        assert.equal(server.requestTimeout, 7_000);
        assert.equal(server.headersTimeout, 7_000, 'never longer than the request timeout');
        assert.equal(server.keepAliveTimeout, 61_000);
      });
    });

    // -- 10 ------------------------------------------------------------------------------
    describe('regression: probes over plain HTTP in production (transport.plainHttpPaths)', () => {
      let prod: RunningApp;
      before(async () => {
        prod = await start(production(adapter, { plainHttpPaths: ['/healthz'] }));
      });

      it('GET and HEAD of a listed path are served over plain HTTP; other methods and paths are not', async () => {
        assert.equal((await nodeRequest(prod.url, 'GET', '/healthz', {})).status, 200);
        assert.equal((await nodeRequest(prod.url, 'HEAD', '/healthz', {})).status, 200);
        for (const [method, path] of [['POST', '/healthz'], ['DELETE', '/healthz'], ['GET', '/healthz/'], ['GET', '/me'], ['GET', '/healthz/../me']] as const) {
          const r = await nodeRequest(prod.url, method, path, { origin: prod.url, 'x-csrf': '1' });
          assert.equal(r.status, 403, `${method} ${path}: ${r.status} ${r.body}`);
          assert.equal((r.json as { code: string }).code, 'KW_HTTPS_REQUIRED');
        }
      });

      it('a probe never reads or touches the session cookie', async () => {
        const r = await nodeRequest(prod.url, 'GET', '/healthz', { cookie: `__Host-sid=${'A'.repeat(43)}.${'B'.repeat(43)}` });
        assert.equal(r.status, 200);
        assert.equal(r.headers['set-cookie'], undefined, 'a bad cookie is not even cleared: it was not read');
      });

      it('a listed path that needs a session or is proxied is still refused over plain HTTP', async () => {
        const app = await start(production(adapter, { plainHttpPaths: ['/me', '/api/proxy/server/echo'] }));
        const before = upstream.stats().requests;
        for (const path of ['/me', '/api/proxy/server/echo']) {
          const r = await nodeRequest(app.url, 'GET', path, { origin: app.url, 'x-csrf': '1' });
          assert.equal(r.status, 403, `${path}: ${r.status} ${r.body}`);
          assert.equal((r.json as { code: string }).code, 'KW_HTTPS_REQUIRED');
        }
        assert.equal(upstream.stats().requests, before);
      });

      it('plainHttpPaths takes exact paths only, and a misspelt option is reported', () => {
        assert.throws(
          () => resolveKeywardOptions(production(adapter, { plainHttpPaths: ['/health*', '/a/../b', 'healthz', '/x?y=1', '/%2e%2e/me', '//x'] })),
          (e: unknown) => {
            assert.ok(e instanceof KeywardConfigError);
            assert.equal(e.problems.filter((p) => p.startsWith('transport.plainHttpPaths')).length, 6, e.message);
            return true;
          },
        );
        assert.throws(() => resolveKeywardOptions(production(adapter, { plainHttpPath: ['/healthz'] })), /Did you mean `transport\.plainHttpPaths`/);
      });
    });

    // -- 18 ------------------------------------------------------------------------------
    describe("regression: the HTTPS redirect copied the client's Host into a cacheable 308", () => {
      it('redirects to transport.publicOrigin, whatever Host the client sent', async () => {
        const app = await start(production(adapter, { redirectHttp: true, publicOrigin: 'https://app.example.com', trustProxy: false }));
        const r = await nodeRequest(app.url, 'GET', '/healthz?x=1', {});
        assert.equal(r.status, 308);
        assert.equal(r.headers.location, 'https://app.example.com/healthz?x=1');
        const forged = await nodeRequest(app.url, 'GET', '/healthz', { host: 'evil.example' });
        assert.ok(!String(forged.headers.location ?? '').includes('evil.example'), `Location: ${forged.headers.location}`);
        assert.equal(forged.status, 421, 'a forged Host is refused before any redirect is built');
        const slashes = await rawExchange(app.port, `GET //evil.example/x HTTP/1.1\r\nHost: 127.0.0.1:${app.port}\r\n\r\n`);
        assert.match(slashes.text, /\r\nLocation: https:\/\/app\.example\.com\/\r\n/i);
      });

      it('redirectHttp without transport.publicOrigin is refused at startup', () => {
        assert.throws(() => resolveKeywardOptions(production(adapter, { redirectHttp: true })), /transport\.redirectHttp: needs transport\.publicOrigin/);
        assert.throws(() => resolveKeywardOptions(production(adapter, { publicOrigin: 'https://app.example.com/path' })), /transport\.publicOrigin/);
      });
    });

    // -- issue 14, point 4 -----------------------------------------------------------------
    describe("regression: the app's own HttpExceptions were rewritten to {\"error\":\"Bad request.\"}", () => {
      it('pass through exactly as Nest answers them (status and body)', async () => {
        const expected: Array<[string, number, unknown]> = [
          ['/app-errors/bad', 400, { message: 'username must be 3 to 32 letters', error: 'Bad Request', statusCode: 400 }],
          ['/app-errors/object', 409, { reason: 'taken', field: 'username' }],
          ['/app-errors/teapot', 418, { statusCode: 418, message: 'short and stout' }],
          // Regression (review): a cause with a numeric status was taken for a framework error and rewritten.
          ['/app-errors/wrapped', 502, { message: 'The catalogue service is down; try again later.', error: 'Bad Gateway', statusCode: 502 }],
        ];
        for (const [path, status, body] of expected) {
          const r = await nodeRequest(bff.url, 'GET', path, {});
          assert.equal(r.status, status, `${path}: ${r.body}`);
          assert.deepEqual(r.json, body, path);
        }
      });

      it("Keyward's own errors and unknown errors keep Keyward's safe answer", async () => {
        const crash = await nodeRequest(bff.url, 'GET', '/app-errors/crash', {});
        assert.equal(crash.status, 500);
        assert.deepEqual(Object.keys(crash.json as object).sort(), ['code', 'error', 'requestId']);
        assert.equal((crash.json as { code: string }).code, 'KW_INTERNAL');
        assert.ok(!crash.body.includes('sk-live-123'));
        const anon = await nodeRequest(bff.url, 'GET', '/me', {});
        assert.equal(anon.status, 401);
        assert.equal((anon.json as { code: string }).code, 'KW_SESSION_REQUIRED');
        const cross = await nodeRequest(bff.url, 'POST', '/logout-all', { origin: 'https://evil.example', 'x-csrf': '1', cookie: page.cookieHeader });
        assert.equal(cross.status, 403);
        assert.deepEqual(Object.keys(cross.json as object).sort(), ['code', 'error', 'requestId']);
        assert.equal((cross.json as { code: string }).code, 'KW_ORIGIN_REFUSED');
        // Framework errors quote the request (V8's JSON errors quote the body): they stay generic.
        const badJson = await nodeRequest(bff.url, 'POST', '/login', { origin: bff.url, 'x-csrf': '1', 'content-type': 'application/json' }, '{"user": "sk-live-789", ');
        assert.equal(badJson.status, 400, badJson.body);
        assert.deepEqual(Object.keys(badJson.json as object).sort(), ['code', 'error', 'requestId']);
        assert.ok(!badJson.body.includes('sk-live-789'), badJson.body);
        // Nest's own route-not-found quotes the URL (and its query): it stays generic.
        const missing = await nodeRequest(bff.url, 'GET', '/nowhere?token=sk-live-456', {});
        assert.equal(missing.status, 404);
        assert.ok(!missing.body.includes('sk-live-456'), missing.body);
      });
    });
  });
}
