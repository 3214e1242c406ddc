import 'reflect-metadata';
import { Body, Controller, Delete, Get, HttpCode, Inject, Module, Param, Post, Put, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import {
  AllowAnonymous,
  CurrentSession,
  InvalidArgumentError,
  KeywardModule,
  MintedKeyProvider,
  NotFoundError,
  RequestSession,
  ServerKeyProvider,
  SessionService,
  SkipOriginCheck,
  StartupReport,
  UserKeyProvider,
  Vault,
  maskSecret,
  type Clock,
  type KeyIssuer,
  type KeywardModuleOptions,
  type ProxyServiceOptions,
  type SessionStore,
} from '../../src/index.js';
import { Client, type Reply } from './http-client.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];

// ---------------------------------------------------------------------------------------
// The demo upstream (a real HTTP server; never a mock)
// ---------------------------------------------------------------------------------------

/** The parts of the demo upstream's handle the tests use (see apps/demo-upstream/src/types.ts). */
export interface UpstreamHandle {
  readonly url: string;
  readonly port: number;
  readonly serverKeyIds: readonly string[];
  close(): Promise<void>;
  mint(options?: { ttlMs?: number; label?: string }): { id: string; key: string; expiresAt: string };
  revoke(id: string): boolean;
  keyStatus(id: string): { id: string; active: boolean } | undefined;
  addServerKey(key: string, id?: string): string;
  removeServerKey(id: string): boolean;
  stats(): { internalHits: number; requests: number; lastRequest: { method: string; path: string; headerNames: readonly string[] } | null; slowCancelled: number };
  adminStats(): { minted: number; revoked: number; active: number; requests: number };
  resetStats(): void;
}

/** Built output of the demo upstream (packages/nest/dist/test/support -> apps/demo-upstream/dist/src). */
export const UPSTREAM_DIST = fileURLToPath(new URL('../../../../../apps/demo-upstream/dist/src/', import.meta.url));
/** Built output of the demo app. */
export const DEMO_DIST = fileURLToPath(new URL('../../../../../apps/demo/dist/src/', import.meta.url));

/**
 * Starts the real demo upstream in this process. Imported by path at run time (the
 * package is not a dependency of @keyward/nest, and a static import would make this
 * package's build depend on the app's build order).
 */
export async function startUpstream(options: { serverKeys: Array<string | { id: string; key: string }>; adminToken: string; mintedKeyTtlMs?: number }): Promise<UpstreamHandle> {
  const mod = (await import(`${UPSTREAM_DIST}index.js`)) as { startUpstream(o: unknown): Promise<UpstreamHandle> };
  return mod.startUpstream({ port: 0, host: '127.0.0.1', ...options });
}

/** The demo upstream as a child process (its own CPU), for load tests. */
export interface UpstreamProcess {
  url: string;
  port: number;
  output(): string;
  close(): Promise<void>;
}

export async function spawnUpstream(env: { serverKey: string; adminToken: string; port: number }): Promise<UpstreamProcess> {
  const proc = spawn(process.execPath, [`${UPSTREAM_DIST}main.js`], {
    env: { PATH: process.env.PATH, UPSTREAM_PORT: String(env.port), HOST: '127.0.0.1', DEMO_UPSTREAM_KEY: env.serverKey, DEMO_UPSTREAM_ADMIN_TOKEN: env.adminToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('listening on'), 10_000, () => `upstream did not start: ${out}`);
  return {
    url: `http://127.0.0.1:${env.port}`,
    port: env.port,
    output: () => out,
    close: () => stopProcess(proc),
  };
}

/** Stops a child process we started, by its PID, and waits for it. */
export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  process.kill(proc.pid!, signal);
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A {@link KeyIssuer} over the upstream's real admin API (POST/DELETE /admin/keys).
 * Remembers, for the tests, which session each key was minted for and the key values (so
 * a test can check that a rotated-out key still works during its grace period).
 */
export class HttpKeyIssuer implements KeyIssuer {
  readonly minted = new Map<string, { key: string; sessionHandle: string; userId: string }>();
  readonly revoked: string[] = [];
  private readonly agent = new Agent({ connections: 32, keepAliveTimeout: 10_000 });

  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string,
  ) {}

  async mint(req: { userId: string; sessionHandle: string; expiresAt: Date }): Promise<{ id: string; key: string }> {
    // The tests run on a fake clock; give the key a real-time TTL long enough for the test.
    const res = await request(`${this.baseUrl}/admin/keys`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlMs: 3_600_000, label: `test:${req.sessionHandle}` }),
    });
    const body = (await res.body.json()) as { id: string; key: string };
    if (res.statusCode !== 201) throw new Error(`mint failed: ${res.statusCode}`);
    this.minted.set(body.id, { key: body.key, sessionHandle: req.sessionHandle, userId: req.userId });
    return { id: body.id, key: body.key };
  }

  async revoke(id: string): Promise<void> {
    const res = await request(`${this.baseUrl}/admin/keys/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}` },
    });
    await res.body.dump();
    if (res.statusCode !== 204 && res.statusCode !== 404) throw new Error(`revoke failed: ${res.statusCode}`);
    this.revoked.push(id);
  }

  /** The upstream's own record of a key: GET /admin/keys/:id. */
  async status(id: string): Promise<{ id: string; active: boolean } | null> {
    const res = await request(`${this.baseUrl}/admin/keys/${encodeURIComponent(id)}`, {
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}` },
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    return (await res.body.json()) as { id: string; active: boolean };
  }

  /** Key ids minted for a session handle, oldest first. */
  idsFor(sessionHandle: string): string[] {
    return [...this.minted].filter(([, v]) => v.sessionHandle === sessionHandle).map(([id]) => id);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

// ---------------------------------------------------------------------------------------
// The Nest app under test
// ---------------------------------------------------------------------------------------

@Controller()
class BffTestController {
  constructor(
    @Inject(Vault) private readonly vault: Vault,
  ) {}

  @Get('healthz')
  @AllowAnonymous()
  health() {
    return { status: 'ok' };
  }

  @Post('login')
  @AllowAnonymous()
  @HttpCode(200)
  async login(@CurrentSession() session: RequestSession, @Body() body: { user?: string }) {
    const id = String(body?.user ?? 'alice');
    const info = await session.login({ id, name: id });
    return { user: info.user, handle: info.id };
  }

  @Get('me')
  me(@CurrentSession() session: RequestSession) {
    const info = session.info!;
    return { user: session.user, handle: info.id, expiresAt: info.expiresAt, absoluteExpiresAt: info.absoluteExpiresAt };
  }

  @Post('logout')
  @AllowAnonymous()
  @HttpCode(204)
  async logout(@CurrentSession() session: RequestSession) {
    await session.logout();
  }

  @Post('logout-all')
  @HttpCode(204)
  async logoutAll(@CurrentSession() session: RequestSession) {
    await session.logoutAll();
  }

  @Get('sessions')
  sessions(@CurrentSession() session: RequestSession) {
    return session.list();
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  async revoke(@CurrentSession() session: RequestSession, @Param('id') id: string) {
    await session.revoke(id);
  }

  @Post('elevate')
  @HttpCode(200)
  async elevate(@CurrentSession() session: RequestSession) {
    const info = await session.regenerate();
    return { handle: info.id };
  }

  /** Bring your own key (write-only). */
  @Put('keys/:service')
  @HttpCode(204)
  async putKey(@CurrentSession() session: RequestSession, @Param('service') service: string, @Body() body: { key?: unknown }) {
    if (typeof body?.key !== 'string') throw new InvalidArgumentError('Send JSON { "key": "..." }.');
    await this.vault.putUser(session.user!.id, service, body.key);
  }

  @Get('keys')
  async listKeys(@CurrentSession() session: RequestSession) {
    return (await this.vault.listUser(session.user!.id)).map((k) => ({ service: k.name, masked: k.masked, updatedAt: k.updatedAt.toISOString() }));
  }

  @Delete('keys/:service')
  @HttpCode(204)
  async deleteKey(@CurrentSession() session: RequestSession, @Param('service') service: string) {
    if (!(await this.vault.removeUser(session.user!.id, service))) throw new NotFoundError('KW_KEY_NOT_FOUND', 'No key stored for this service.');
  }

  /** A session-scoped vault entry (dies with the session). */
  @Put('session-keys/:name')
  @HttpCode(204)
  async putSessionKey(@CurrentSession() session: RequestSession, @Param('name') name: string, @Body() body: { key?: unknown }) {
    if (typeof body?.key !== 'string') throw new InvalidArgumentError('Send JSON { "key": "..." }.');
    await this.vault.putSession(session.storedRecord!, name, body.key);
  }

  /** Whether a session-scoped entry opens, as a mask (never the value). */
  @Get('session-keys/:name')
  async getSessionKey(@CurrentSession() session: RequestSession, @Param('name') name: string) {
    const secret = await this.vault.openSession(session.storedRecord!, name);
    return { present: secret !== undefined, masked: secret ? maskSecret(secret.reveal()) : null };
  }

  /** A server-to-server route that opts out of the origin check, with its reason. */
  @Post('webhook')
  @AllowAnonymous()
  @HttpCode(200)
  @SkipOriginCheck({ reason: 'server-to-server webhook, verified by its signature' })
  webhook() {
    return { received: true };
  }
}

/** Collects every log line, so tests can assert that no key is ever logged. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private push(level: string, args: unknown[]): void {
    this.lines.push(`${level} ${args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  }
  log(...a: unknown[]): void {
    this.push('log', a);
  }
  error(...a: unknown[]): void {
    this.push('error', a);
  }
  warn(...a: unknown[]): void {
    this.push('warn', a);
  }
  debug(...a: unknown[]): void {
    this.push('debug', a);
  }
  verbose(...a: unknown[]): void {
    this.push('verbose', a);
  }
  fatal(...a: unknown[]): void {
    this.push('fatal', a);
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface RunningBff {
  app: INestApplication;
  url: string;
  port: number;
  logger: CapturingLogger;
  sessions: SessionService;
  vault: Vault;
  report: StartupReport;
  close(): Promise<void>;
}

export interface StartOptions {
  https?: { key: string | Buffer; cert: string | Buffer };
  /** Extra controllers. */
  controllers?: Array<new (...a: never[]) => unknown>;
  /** Runs after the app is created, before it serves (e.g. `app.use` of the app's own middleware). */
  setup?: (app: INestApplication) => void;
  /**
   * `listen` (default): the app's own server. `instance`: the framework instance behind a
   * server of its own, as serverless adapters do, so no request passes the app's server.
   */
  serve?: 'listen' | 'instance';
}

/** Starts a Nest app with Keyward and the test controller on a free loopback port. */
export async function startBffApp(adapter: AdapterName, options: KeywardModuleOptions, start: StartOptions = {}): Promise<RunningBff> {
  @Module({ imports: [KeywardModule.forRoot(options)], controllers: [BffTestController, ...(start.controllers ?? [])] })
  class BffTestModule {}
  const logger = new CapturingLogger();
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(BffTestModule, new FastifyAdapter(start.https ? { https: start.https } : {}), { logger, rawBody: true })
      : await NestFactory.create(BffTestModule, { logger, rawBody: true, ...(start.https ? { httpsOptions: start.https } : {}) });
  start.setup?.(app);
  let server: Server = app.getHttpServer();
  if (start.serve === 'instance') {
    await app.init();
    server = await serveInstance(app, adapter);
  } else {
    await app.listen(0, '127.0.0.1');
  }
  const { port } = server.address() as AddressInfo;
  return {
    app,
    url: `${start.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    logger,
    sessions: app.get(SessionService),
    vault: app.get(Vault),
    report: app.get(StartupReport),
    close: async () => {
      if (server !== app.getHttpServer()) await new Promise((r) => server.close(r));
      await app.close();
    },
  };
}

/** Serves the app's framework instance (Express app or Fastify) from a separate node:http server. */
async function serveInstance(app: INestApplication, adapter: AdapterName): Promise<Server> {
  const instance = app.getHttpAdapter().getInstance();
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  if (adapter === 'fastify') {
    await instance.ready();
    handler = (req, res) => instance.routing(req, res);
  } else {
    handler = instance;
  }
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

export const secret = (): string => randomBytes(32).toString('base64url');
export const vaultKey = (id: string): string => `${id}:${randomBytes(32).toString('base64')}`;

/** A proxy service on the demo upstream's `/v1/`, with the key in `x-api-key`. */
export function upstreamService(upstreamUrl: string, credential: string, extra: Partial<ProxyServiceOptions> = {}): ProxyServiceOptions {
  return {
    baseUrl: `${upstreamUrl}/v1/`,
    credential,
    key: { header: 'x-api-key' },
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowHttpToLoopback: true,
    timeoutMs: 5000,
    ...extra,
  };
}

/**
 * Options of a BFF with the three providers (`server`, `minted`, `byok`) and a proxy
 * service for each, all on the real upstream.
 */
export function bffOptions(o: {
  store: SessionStore;
  upstreamUrl: string;
  serverKeys: string[];
  issuer: KeyIssuer;
  clock?: Clock;
  rotateEveryMs?: number;
  graceMs?: number;
  revokeRetryDelaysMs?: number[];
  vaultKeys?: string[];
  extraServices?: Record<string, ProxyServiceOptions>;
  session?: Partial<KeywardModuleOptions['session']>;
  rest?: Partial<KeywardModuleOptions>;
}): KeywardModuleOptions {
  return {
    session: { secrets: [secret()], store: o.store, sweepIntervalMs: 0, ...(o.clock ? { clock: o.clock } : {}), ...o.session },
    vault: { keys: o.vaultKeys ?? [vaultKey('k1')] },
    credentials: {
      server: new ServerKeyProvider({ keys: o.serverKeys }),
      minted: new MintedKeyProvider({ issuer: o.issuer, rotateEveryMs: o.rotateEveryMs ?? 900_000, graceMs: o.graceMs ?? 60_000, revokeRetryDelaysMs: o.revokeRetryDelaysMs }),
      byok: new UserKeyProvider(),
    },
    proxy: {
      services: {
        server: upstreamService(o.upstreamUrl, 'server'),
        minted: upstreamService(o.upstreamUrl, 'minted'),
        byok: upstreamService(o.upstreamUrl, 'byok'),
        ...o.extraServices,
      },
    },
    ...o.rest,
  };
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/** A cookie-keeping client that behaves like the app's own page: `x-csrf: 1` and its own Origin on every request. */
export class PageClient extends Client {
  override request(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; cookie?: string } = {}): Promise<Reply> {
    return super.request(method, path, { ...init, headers: { 'x-csrf': '1', origin: new URL(this.baseUrl).origin, ...init.headers } });
  }
  put(path: string, body?: unknown, init?: { headers?: Record<string, string> }): Promise<Reply> {
    return this.request('PUT', path, { ...init, body });
  }
  delete(path: string, init?: { headers?: Record<string, string> }): Promise<Reply> {
    return this.request('DELETE', path, init);
  }
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[]>;
  rawHeaders: string;
  body: string;
  json: any;
}

/**
 * Sends bytes exactly as given (no URL normalisation of any kind) over a fresh TCP
 * connection and reads the answer until the server closes it.
 */
export function rawHttp(port: number, head: string | Buffer, body: Buffer | string = ''): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('connect', () => {
      socket.write(head);
      if (body.length > 0) socket.write(body);
    });
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const headText = end < 0 ? all : all.slice(0, end);
      let bodyText = end < 0 ? '' : all.slice(end + 4);
      const [statusLine, ...lines] = headText.split('\r\n');
      const headers: Record<string, string | string[]> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim().toLowerCase();
        const value = line.slice(i + 1).trim();
        const prev = headers[name];
        headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
      }
      if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) bodyText = dechunk(bodyText);
      let json: unknown;
      try {
        json = JSON.parse(bodyText);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, rawHeaders: headText, body: bodyText, json });
    });
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!size) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

/** A request with a raw request target and exactly the given headers (default `Connection: close`). */
export function rawGet(port: number, target: string | Buffer, headers: Record<string, string>, method = 'GET'): Promise<RawReply> {
  const lines = Object.entries({ host: `127.0.0.1:${port}`, connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const head = Buffer.concat([Buffer.from(`${method} `, 'latin1'), Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'), Buffer.from(` HTTP/1.1\r\n${lines}\r\n`, 'latin1')]);
  return rawHttp(port, head);
}

/** node:http request with an explicit raw path (node does not normalise it). */
export function nodeRequest(url: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<RawReply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string | string[]>, rawHeaders: res.rawHeaders.join('\n'), body: text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------
// Looking for a secret in bytes
// ---------------------------------------------------------------------------------------

/**
 * Every way a secret could sit in stored or sent bytes: raw, base64 and base64url (at the
 * three possible byte alignments inside a longer encoded blob), hex (both cases) and
 * URL-encoded.
 */
export function encodedForms(value: string): string[] {
  const raw = Buffer.from(value, 'utf8');
  const forms = new Set<string>([value, encodeURIComponent(value), raw.toString('hex'), raw.toString('hex').toUpperCase()]);
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), raw]);
    for (const enc of ['base64', 'base64url'] as const) {
      let s = padded.toString(enc).replace(/=+$/, '');
      // Drop the characters that mix in the neighbouring bytes, at both ends.
      const lead = Math.ceil((shift * 4) / 3);
      s = s.slice(lead, s.length - 2);
      if (s.length >= 16) forms.add(s);
    }
  }
  return [...forms];
}

/** Count of occurrences of any form of any secret in the haystack. */
export function findSecrets(haystack: Buffer | string, secrets: readonly string[]): Array<{ secret: number; form: string }> {
  const hay = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack, 'utf8');
  const hits: Array<{ secret: number; form: string }> = [];
  secrets.forEach((s, i) => {
    for (const form of encodedForms(s)) if (hay.includes(Buffer.from(form, 'latin1'))) hits.push({ secret: i, form: form === s ? 'raw' : form.slice(0, 6) + '…' });
  });
  return hits;
}
