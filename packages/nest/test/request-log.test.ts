// Issue 22, points 1 and 2: proxied calls are answered at the edge, before Nest, so the app's
// request logger (nestjs-pino's pino-http, a Nest middleware) never sees them. Keyward logs
// each one through Nest's Logger: with nestjs-pino, one pino line per call whose fields are
// the call's (and nothing secret); with Nest's default ConsoleLogger, one line per call and
// per security event (an object message used to print over seven lines).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { Logger as PinoNestLogger, LoggerModule } from 'nestjs-pino';
import { KeywardModule, MemoryStore, REDACT_PATHS, resolveKeywardOptions, ServerKeyProvider, type KeywardModuleOptions } from '../src/index.js';
import { ADAPTERS, type AdapterName } from './support/adapters.js';
import { upstreamService } from './support/bff-options.js';
import { Client, PageClient } from './support/clients.js';
import { configError, problemAt } from './support/config-errors.js';
import { nodeRequest } from './support/raw-http.js';
import { findSecrets, secret, vaultKey } from './support/secrets.js';
import { TestController } from './support/test.controller.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

const SERVER_KEY = `srv+K/${secret()}=`;
const SESSION_SECRET = secret();
const VAULT_KEY = vaultKey('k1');
const QUERY_SECRET = secret();
const HEADER_SECRET = secret();
const BODY_SECRET = secret();
let upstream: UpstreamHandle;
/**
 * Where pino writes. nestjs-pino builds ONE pino-http per process (the first LoggerModule's
 * options win), so every app of this file shares this sink; each test empties it first.
 */
const sink = { out: [] as string[], write(s: string): void { this.out.push(s); } };
const pinoLogging = () => LoggerModule.forRoot({ pinoHttp: [{ level: 'info', redact: [...REDACT_PATHS] }, sink] });

before(async () => {
  upstream = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: secret() });
});
after(() => upstream?.close());

function keywardOptions(extra: Partial<KeywardModuleOptions> = {}): KeywardModuleOptions {
  return {
    session: { secrets: [SESSION_SECRET], store: new MemoryStore(), sweepIntervalMs: 0 },
    vault: { keys: [VAULT_KEY] },
    credentials: { server: new ServerKeyProvider({ keys: [SERVER_KEY] }) },
    proxy: { services: { server: upstreamService(upstream.url, 'server') } },
    ...extra,
  };
}

/** What one proxied call, made by the test, answered: to find its log line by request id. */
interface Call {
  what: string;
  status: number;
  requestId: string;
  code?: string;
  bytes: number;
}

/** The proxied calls every suite makes: forwarded (with a query, a header and a body), refused at the proxy route and at the edge, failed upstream, unknown service. */
async function makeCalls(url: string): Promise<{ calls: Call[]; cookie: string }> {
  const page = new PageClient(url);
  assert.equal((await page.post('/login', { user: 'alice' })).status, 200);
  const calls: Call[] = [];
  const note = (what: string, r: { status: number; headers: Headers; text: string; body: any }) =>
    calls.push({ what, status: r.status, requestId: r.headers.get('x-request-id')!, code: r.body?.code, bytes: Buffer.byteLength(r.text) });
  note('forwarded GET', await page.get(`/api/proxy/server/echo?token=${QUERY_SECRET}&x=1`, { headers: { 'x-custom': HEADER_SECRET } }));
  note('forwarded POST', await page.post('/api/proxy/server/echo', { secret: BODY_SECRET }));
  note('upstream failure', await page.get('/api/proxy/server/status/503'));
  note('no session', await new Client(url).get('/api/proxy/server/echo?token=' + QUERY_SECRET));
  note('unknown service', await page.get('/api/proxy/nope/echo'));
  // A forged Host: refused by the edge's Host step, before the proxy route.
  const forged = await nodeRequest(url, 'GET', '/api/proxy/server/echo', { host: 'evil.example', cookie: page.cookieHeader });
  calls.push({ what: 'forged Host', status: forged.status, requestId: String(forged.headers['x-request-id']), code: forged.json?.code, bytes: Buffer.byteLength(forged.body) });
  return { calls, cookie: page.cookieHeader };
}

const EXPECTED: Record<string, { service: string | null; method: string; path: string; outcome: string; code?: string }> = {
  'forwarded GET': { service: 'server', method: 'GET', path: '/api/proxy/server/echo', outcome: 'forwarded' },
  'forwarded POST': { service: 'server', method: 'POST', path: '/api/proxy/server/echo', outcome: 'forwarded' },
  'upstream failure': { service: 'server', method: 'GET', path: '/api/proxy/server/status/503', outcome: 'failed', code: 'KW_UPSTREAM_ERROR' },
  'no session': { service: 'server', method: 'GET', path: '/api/proxy/server/echo', outcome: 'refused', code: 'KW_SESSION_REQUIRED' },
  'unknown service': { service: null, method: 'GET', path: '/api/proxy/nope/echo', outcome: 'refused', code: 'KW_PROXY_UNKNOWN_SERVICE' },
  'forged Host': { service: 'server', method: 'GET', path: '/api/proxy/server/echo', outcome: 'refused', code: 'KW_HOST_NOT_ALLOWED' },
};

/** Checks one proxied call's record (pino fields, or the JSON of a console line) against the call. */
function checkRecord(record: Record<string, unknown>, call: Call): void {
  const want = EXPECTED[call.what]!;
  const at = `${call.what}: ${JSON.stringify(record)}`;
  assert.equal(record.msg, 'proxied call', at);
  assert.equal(record.service, want.service, at);
  assert.equal(record.method, want.method, at);
  assert.equal(record.path, want.path, at);
  assert.equal(record.status, call.status, at);
  assert.equal(record.outcome, want.outcome, at);
  assert.equal(record.code, want.code, at);
  if (want.code) assert.equal(call.code, want.code, `${call.what}: the answer's own code`);
  assert.equal(record.bytes, call.bytes, at);
  assert.equal(typeof record.ms, 'number', at);
  assert.ok((record.ms as number) >= 0 && (record.ms as number) < 10_000, at);
}

for (const adapter of ADAPTERS) {
  describe(`proxied calls in the app's nestjs-pino log (${adapter})`, () => {
    let app: INestApplication;
    let url: string;
    const lines = (): Array<Record<string, any>> => sink.out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));

    before(async () => {
      @Module({
        imports: [
          // As the team's app has it: pino-http for Nest's routes, with redact paths for cookies and keys.
          pinoLogging(),
          KeywardModule.forRoot(keywardOptions()),
        ],
        controllers: [TestController],
      })
      class PinoAppModule {}
      app = adapter === 'fastify'
        ? await NestFactory.create(PinoAppModule, new FastifyAdapter(), { bufferLogs: true, rawBody: true })
        : await NestFactory.create(PinoAppModule, { bufferLogs: true, rawBody: true });
      app.useLogger(app.get(PinoNestLogger));
      await app.listen(0, '127.0.0.1');
      url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    });
    after(() => app?.close());

    it('one pino line per proxied call with its fields (service, method, path without query, status, ms, bytes, request id, outcome, code), and no secret anywhere in the output', async () => {
      sink.out = [];
      const { calls, cookie } = await makeCalls(url);
      const proxied = () => lines().filter((l) => l.context === 'KeywardProxy' && l.msg === 'proxied call');
      await waitFor(() => proxied().length >= calls.length, 5000, () => `${proxied().length} of ${calls.length} lines: ${sink.out.join('')}`);
      assert.equal(proxied().length, calls.length, `exactly one line per proxied call: ${JSON.stringify(proxied(), null, 1)}`);
      for (const call of calls) {
        const found = proxied().filter((l) => l.requestId === call.requestId);
        assert.equal(found.length, 1, `${call.what}: one line with request id ${call.requestId}`);
        assert.equal(found[0]!.level, 30, 'info');
        checkRecord(found[0]!, call);
      }
      // On Express, pino-http logs the Nest routes too (the login), so the output checked below is the app's
      // whole request log. (On Fastify, nestjs-pino's middleware did not log Nest 12's routes in this setup.)
      if (adapter === 'express') assert.ok(lines().some((l) => l.req?.url === '/login'), 'pino-http logged the Nest route');
      // Security events are pino fields too, not a message string.
      const refused = lines().find((l) => l.context === 'KeywardEvents' && l.event === 'request.refused' && l.code === 'KW_HOST_NOT_ALLOWED');
      assert.ok(refused, 'the forged Host is a request.refused event with top-level fields');
      assert.equal(refused.requestId, calls.find((c) => c.what === 'forged Host')!.requestId);
      const sessionId = cookie.split('=')[1]!;
      const all = sink.out.join('');
      assert.deepEqual(findSecrets(all, [SERVER_KEY, SESSION_SECRET, VAULT_KEY, sessionId, QUERY_SECRET, HEADER_SECRET, BODY_SECRET]), []);
      assert.ok(!all.includes('x=1'), 'no query string');
    });
  });
}

describe('logRequests: the option', () => {
  const base = () => ({ session: { secrets: [secret()], store: new MemoryStore() } });
  it("defaults to 'proxied'; true is every request; false is none", () => {
    assert.equal(resolveKeywardOptions(base()).logRequests, 'proxied');
    assert.equal(resolveKeywardOptions({ ...base(), logRequests: 'proxied' }).logRequests, 'proxied');
    assert.equal(resolveKeywardOptions({ ...base(), logRequests: true }).logRequests, 'all');
    assert.equal(resolveKeywardOptions({ ...base(), logRequests: false }).logRequests, 'none');
  });
  it('refuses anything else, saying what it accepts', () => {
    const problem = problemAt(configError(() => resolveKeywardOptions({ ...base(), logRequests: 'yes' })), 'logRequests');
    assert.match(problem, /'proxied'.*true.*false.*"yes"/);
  });

  for (const adapter of ADAPTERS) {
    it(`false: no line for proxied calls (${adapter})`, async () => {
      @Module({
        imports: [pinoLogging(), KeywardModule.forRoot(keywardOptions({ logRequests: false }))],
        controllers: [TestController],
      })
      class QuietModule {}
      const app = adapter === 'fastify' ? await NestFactory.create(QuietModule, new FastifyAdapter(), { bufferLogs: true }) : await NestFactory.create(QuietModule, { bufferLogs: true });
      app.useLogger(app.get(PinoNestLogger));
      await app.listen(0, '127.0.0.1');
      try {
        const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
        sink.out = [];
        const r = await new Client(url).get('/api/proxy/server/echo');
        assert.equal(r.status, 401);
        await new Promise((res) => setTimeout(res, 100));
        assert.ok(!sink.out.join('').includes('proxied call'), 'no proxied-call line');
      } finally {
        await app.close();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
// Nest's default ConsoleLogger, in a real app process: one line per event and per call.
// ---------------------------------------------------------------------------------------

const APP = fileURLToPath(new URL('./support/console-log-app.js', import.meta.url));
const ANSI = /\x1b\[[0-9;]*m/g;

async function runApp(adapter: AdapterName, logger: 'default' | 'json', work: (url: string) => Promise<Call[]>): Promise<{ stdout: string; calls: Call[] }> {
  const child: ChildProcess = spawn(process.execPath, [APP], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ADAPTER: adapter, LOGGER: logger, UPSTREAM_URL: upstream.url, SERVER_KEY, SESSION_SECRET, VAULT_KEY, NODE_ENV: 'development' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  try {
    await waitFor(() => /LISTENING \d+/.test(stdout), 20_000, () => `the app to listen; stderr: ${stderr}`);
    const port = Number(/LISTENING (\d+)/.exec(stdout)![1]);
    const calls = await work(`http://127.0.0.1:${port}`);
    await waitFor(() => (stdout.match(/proxied call/g) ?? []).length >= calls.length, 5000, () => 'the proxied-call lines');
    return { stdout: stdout.replace(ANSI, ''), calls };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

for (const adapter of ADAPTERS) {
  describe(`one line per security event and per proxied call with Nest's default logger (${adapter})`, () => {
    it('ConsoleLogger (the default): each event and each call is one line, a compact JSON object; no object is printed over several lines', async () => {
      const { stdout, calls } = await runApp(adapter, 'default', async (url) => (await makeCalls(url)).calls);
      assert.ok(!stdout.includes('Object('), 'no util.inspect of an object');
      // util.inspect's multi-line objects indent each property on a line of its own.
      assert.deepEqual(stdout.split('\n').filter((l) => /^\s+\w+: /.test(l)), [], 'no continuation lines');
      const jsonOf = (line: string): Record<string, unknown> => JSON.parse(line.slice(line.indexOf('{')));
      const events = stdout.split('\n').filter((l) => l.includes('[KeywardEvents]')).map(jsonOf);
      assert.ok(events.some((e) => e.event === 'session.created'), 'the login');
      const refused = events.filter((e) => e.event === 'request.refused');
      assert.equal(refused.length, 1, 'the forged Host, once');
      assert.equal(refused[0]!.code, 'KW_HOST_NOT_ALLOWED');
      assert.equal(refused[0]!.severity, 'warn');
      const proxied = stdout.split('\n').filter((l) => l.includes('[KeywardProxy]') && l.includes('"msg":"proxied call"'));
      assert.equal(proxied.length, calls.length, `one line per proxied call: ${proxied.join('\n')}`);
      for (const call of calls) checkRecord(proxied.map(jsonOf).find((r) => r.requestId === call.requestId)!, call);
      assert.deepEqual(findSecrets(stdout, [SERVER_KEY, SESSION_SECRET, VAULT_KEY, QUERY_SECRET, HEADER_SECRET, BODY_SECRET]), []);
    });

    it("ConsoleLogger({ json: true }): each line is one JSON object, the record nested as its message", async () => {
      const { stdout, calls } = await runApp(adapter, 'json', async (url) => (await makeCalls(url)).calls);
      const records = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { context?: string; message: any });
      const refused = records.filter((r) => r.context === 'KeywardEvents' && r.message?.event === 'request.refused');
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.message.code, 'KW_HOST_NOT_ALLOWED', 'a structured object, not a JSON string inside a string');
      const proxied = records.filter((r) => r.context === 'KeywardProxy' && r.message?.msg === 'proxied call');
      assert.equal(proxied.length, calls.length);
      for (const call of calls) checkRecord(proxied.map((r) => r.message).find((m) => m.requestId === call.requestId), call);
    });
  });
}
