/**
 * The canary harness: plants random, recognisable canary values for every kind of secret
 * the demo holds, runs the demo app (a child process) against the demo upstream, drives
 * mixed traffic through it, and collects everything that could leak a secret: every
 * response (status, headers, body), every byte the app writes to stdout/stderr, and the
 * store's raw bytes (Redis DUMP payloads and values, SQLite database/WAL/SHM files).
 *
 * What it knows as canaries:
 * - planted: the server keys, the upstream admin token, the session secrets, the vault
 *   keys (their base64 text and their raw 32 bytes), the users' own (BYOK) keys;
 * - learned: every key the upstream mints (recorded by {@link MintRecorder}) and every
 *   session cookie the app issues (value, session id and signature).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import type { UpstreamHandle, UpstreamOptions } from '../../../demo-upstream/dist/src/index.js';
import { CanaryDetector, countLines, type Canary, type Hit } from './canary-detector.js';
import { MintRecorder } from './mint-recorder.js';
import { OAuthSide, TOKEN_TAP, UPSTREAM_AUDIENCE, runOAuthPhase } from './canary-oauth.js';
import { dumpRedis } from './redis-dump.js';
export { freePort } from './ports.js';
import { freePort } from './ports.js';

// Paths as seen from the compiled file (apps/demo/dist/test/support/).
const DEMO_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const UPSTREAM_INDEX = new URL('../../../../demo-upstream/dist/src/index.js', import.meta.url).href;
const REDIS_SUPPORT = new URL('../../../../../packages/nest/dist/test/support/redis-server.js', import.meta.url).href;

/** The subset of the nest test helper the harness uses. */
export interface RedisServerHandle {
  readonly url: string;
  readonly pid: number | undefined;
  /** Kills the server by PID (an outage; the data is lost). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Starts a real redis-server on a free loopback port (packages/nest's test helper). */
export async function launchRedis(): Promise<RedisServerHandle> {
  const mod = (await import(REDIS_SUPPORT)) as { RedisServer: { launch(): Promise<RedisServerHandle> } };
  return mod.RedisServer.launch();
}

async function startUpstream(options: UpstreamOptions): Promise<UpstreamHandle> {
  const mod = (await import(UPSTREAM_INDEX)) as { startUpstream(o: UpstreamOptions): Promise<UpstreamHandle> };
  return mod.startUpstream(options);
}

/** A free TCP port on 127.0.0.1. */

const tag = (bytes = 24): string => randomBytes(bytes).toString('hex');

// ------------------------------------------------------------------ planted secrets

/** The secrets planted in one run: random per run, recognisable by their `kwcanary` prefix. */
export interface PlantedSecrets {
  serverKeys: string[];
  adminToken: string;
  sessionSecrets: string[];
  /** Key-encryption keys: raw bytes start with the ASCII `kwcanary`. */
  vaultKeys: Array<{ id: string; bytes: Buffer; base64: string }>;
  /** Demo users (passwords are not canaries: the app scrubs them, but they are not secrets it holds for users). */
  users: Array<{ name: string; password: string }>;
}

export function plantSecrets(userCount: number): PlantedSecrets {
  const vaultKey = (id: string) => {
    const bytes = Buffer.concat([Buffer.from('kwcanary', 'ascii'), randomBytes(24)]);
    return { id, bytes, base64: bytes.toString('base64') };
  };
  const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj'];
  return {
    serverKeys: [`kwcanary-server-new-${tag()}`, `kwcanary-server-old-${tag()}`],
    adminToken: `kwcanary-admin-${tag()}`,
    sessionSecrets: [`kwcanary-session-new-${tag()}`, `kwcanary-session-old-${tag()}`],
    vaultKeys: [vaultKey('kwv2'), vaultKey('kwv1')],
    users: names.slice(0, userCount).map((name) => ({ name, password: `pw-${name}-${tag(8)}` })),
  };
}

/** The planted canaries (learned ones are added as the run goes). */
export function plantedCanaries(s: PlantedSecrets): Canary[] {
  return [
    ...s.serverKeys.map((value, i) => ({ kind: 'server-key' as const, label: `server key #${i + 1}`, value })),
    { kind: 'admin-token', label: 'upstream admin token', value: s.adminToken },
    ...s.sessionSecrets.map((value, i) => ({ kind: 'session-secret' as const, label: `session secret #${i + 1}`, value })),
    ...s.vaultKeys.flatMap((k) => [
      { kind: 'vault-key' as const, label: `vault key ${k.id} (raw bytes)`, value: k.bytes },
      { kind: 'vault-key' as const, label: `vault key ${k.id} (base64 text)`, value: k.base64 },
    ]),
  ];
}

// ------------------------------------------------------------------ the app process

/** A running demo app, its output captured byte for byte. */
export class DemoProcess {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  private exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => this.stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => this.stderr.push(c));
    // 'close', not 'exit': the last output bytes are in hand only once stdio has closed.
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `tap`: the token tap (token-tap.ts) preloaded, its fd 3 handed to `tap`. */
  static async start(env: Record<string, string>, tap?: (chunk: Buffer) => void): Promise<DemoProcess> {
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(KEYWARD_|DEMO_|REDIS_URL$|UPSTREAM_PORT$|PORT$|HOST$|NODE_ENV$|NODE_OPTIONS$|NODE_TEST)/.test(k)) continue;
      base[k] = v;
    }
    const child = spawn(process.execPath, [...(tap ? ['--import', TOKEN_TAP] : []), DEMO_MAIN], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe', tap ? 'pipe' : 'ignore'] });
    if (tap) child.stdio[3]!.on('data', tap);
    const demo = new DemoProcess(child, `http://127.0.0.1:${env.PORT}`);
    track(demo);
    const deadline = Date.now() + 20_000;
    // Ready when *this* process says it listens (a port picked as free may be taken by another
    // process, which could answer /healthz too) and /healthz answers.
    const banner = `listening on ${demo.url} `;
    while (Date.now() < deadline) {
      if (!demo.running) throw new Error(`demo exited during startup:\n${demo.output().toString('utf8').slice(-2000)}`);
      if (!Buffer.concat(demo.stdout).includes(banner)) {
        await sleep(50);
        continue;
      }
      try {
        const res = await fetch(`${demo.url}/healthz`);
        await res.arrayBuffer();
        if (res.status === 200) return demo;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await demo.stop();
    throw new Error(`demo did not print "${banner.trim()}" and answer /healthz within 20 s:\n${demo.output().toString('utf8').slice(-2000)}`);
  }

  /** stdout then stderr, as captured so far. */
  output(): Buffer {
    return Buffer.concat([...this.stdout, ...this.stderr]);
  }

  /** SIGTERM by PID (graceful shutdown hooks run), SIGKILL after 5 s. Idempotent. */
  async stop(): Promise<void> {
    if (this.child.pid === undefined) return;
    if (!this.running) return this.exited;
    process.kill(this.child.pid, 'SIGTERM');
    const killed = await Promise.race([this.exited.then(() => false), sleep(5000, true, { ref: false })]);
    if (killed && this.running) {
      process.kill(this.child.pid, 'SIGKILL');
      await this.exited;
    }
  }
}

const running = new Set<DemoProcess>();
function track(p: DemoProcess): void {
  running.add(p);
  p.child.once('close', () => running.delete(p));
}

/**
 * Stops everything a test may have left running (for `after()`): every rig (app by PID,
 * Redis by PID, upstream and recorder closed, data dir removed), then any app process.
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...rigs].map((r) => r.stop()));
  await Promise.all([...running].map((p) => p.stop()));
}

// ------------------------------------------------------------------ traffic

interface SendOptions {
  /** Allowed statuses; 0 stands for a request the server cut off (connection reset). */
  expect: number[];
  json?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  /** Exact Cookie header; null sends none; undefined sends the visitor's own. */
  cookie?: string | null;
  /** Send `X-CSRF: 1` (default true). */
  csrf?: boolean;
  /** Origin header; null sends none; undefined sends the app's own. */
  origin?: string | null;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any;
}

const SESSION_COOKIE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)=([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})(?=;|$)/;

/** Counts, captures and checks every request of one combination. */
export class Traffic {
  readonly agent = new Agent({ connections: 40, pipelining: 1, keepAliveTimeout: 30_000 });
  /** Captured responses: the text a leak would have to appear in. */
  readonly responses: Array<{ source: string; bytes: Buffer }> = [];
  readonly statusCounts = new Map<string, number>();
  readonly unexpected: string[] = [];
  requests = 0;
  errors = 0;
  /** Responses in which the app replaced an echoed key with [REDACTED] (the reflecting upstream did reflect). */
  redactedEchoes = 0;
  /** Cookie names and values the app issued. */
  readonly cookies = new Set<string>();

  constructor(
    readonly base: string,
    private readonly learn: (c: Canary) => void,
  ) {}

  async send(name: string, method: string, path: string, o: SendOptions, ownCookie?: string): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (o.csrf !== false) headers['x-csrf'] = '1';
    if (o.origin !== null) headers.origin = o.origin ?? this.base;
    const cookie = o.cookie === undefined ? ownCookie : o.cookie;
    if (cookie) headers.cookie = cookie;
    let body: string | Buffer | undefined;
    if (o.json !== undefined) body = JSON.stringify(o.json);
    if (o.raw !== undefined) body = o.raw;
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    Object.assign(headers, o.headers);
    this.requests++;
    let reply: Reply;
    try {
      // origin + path: the path goes out byte for byte (a URL object would resolve `%2e%2e` segments client-side).
      const res = await this.agent.request({ origin: this.base, path, method: method as 'GET', headers, body, headersTimeout: 20_000, bodyTimeout: 20_000 });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      let json: unknown;
      try {
        json = bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : undefined;
      } catch {
        json = undefined;
      }
      reply = { status: res.statusCode, headers: res.headers as Reply['headers'], body: bytes, json };
    } catch (e) {
      this.errors++;
      reply = { status: 0, headers: {}, body: Buffer.from(e instanceof Error ? `${e.name}: ${e.message}` : 'error'), json: undefined };
    }
    if (reply.body.includes('[REDACTED]')) this.redactedEchoes++;
    this.capture(name, method, path, reply);
    const key = `${name} ${reply.status}`;
    this.statusCounts.set(key, (this.statusCounts.get(key) ?? 0) + 1);
    if (!o.expect.includes(reply.status)) {
      this.unexpected.push(`${name}: ${method} ${path.slice(0, 80)} -> ${reply.status} (expected ${o.expect.join('|')}) ${reply.body.toString('utf8').slice(0, 160)}`);
    }
    return reply;
  }

  /** Status line, every header, body. Session cookies the app issues are learned as canaries and masked in their own Set-Cookie. */
  private capture(name: string, method: string, path: string, reply: Reply): void {
    const lines: string[] = [`HTTP ${reply.status}`];
    for (const [h, v] of Object.entries(reply.headers)) {
      for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
        let shown = value;
        if (h.toLowerCase() === 'set-cookie') {
          const m = SESSION_COOKIE.exec(value);
          if (m) {
            this.learnCookie(m[2]!, m[3]!);
            // The one place a session cookie legitimately appears: its own Set-Cookie.
            shown = `${m[1]}=«issued session cookie»${value.slice(m[0].length)}`;
          }
        }
        lines.push(`${h}: ${shown}`);
      }
    }
    this.responses.push({ source: `response ${name} ${method} ${path.slice(0, 60)} -> ${reply.status}`, bytes: Buffer.concat([Buffer.from(`${lines.join('\n')}\n\n`, 'latin1'), reply.body]) });
  }

  private learnCookie(id: string, sig: string): void {
    const value = `${id}.${sig}`;
    if (this.cookies.has(value)) return;
    this.cookies.add(value);
    this.learn({ kind: 'session-cookie', label: `session cookie #${this.cookies.size}`, value });
    this.learn({ kind: 'session-id', label: `session id #${this.cookies.size}`, value: id });
    this.learn({ kind: 'session-cookie', label: `session cookie signature #${this.cookies.size}`, value: sig });
  }

  bytes(): number {
    return this.responses.reduce((n, r) => n + r.bytes.length, 0);
  }

  private closing: Promise<void> | undefined;

  /** Closes the keep-alive connections (idempotent). */
  close(): Promise<void> {
    this.closing ??= this.agent.close();
    return this.closing;
  }
}

/** The session cookie from a reply's Set-Cookie, if it carries a fresh one. */
function issuedCookie(reply: Reply): string | undefined {
  const v = reply.headers['set-cookie'];
  for (const value of Array.isArray(v) ? v : v ? [v] : []) {
    const m = SESSION_COOKIE.exec(value);
    if (m) return `${m[1]}=${m[2]}.${m[3]}`;
  }
  return undefined;
}

/** One browser-like client with its own session cookie. */
class Visitor {
  cookie: string | undefined;
  constructor(
    readonly traffic: Traffic,
    readonly user: { name: string; password: string },
  ) {}

  send(name: string, method: string, path: string, o: SendOptions): Promise<Reply> {
    return this.traffic.send(name, method, path, o, this.cookie);
  }

  async login(name = 'login-ok'): Promise<Reply> {
    const r = await this.send(name, 'POST', '/api/auth/login', { json: { username: this.user.name, password: this.user.password }, cookie: null, expect: [200] });
    this.cookie = issuedCookie(r) ?? this.cookie;
    return r;
  }
}

/** Variations of a valid cookie that must all be refused. */
function hostileCookies(cookie: string): Array<[string, string]> {
  const eq = cookie.indexOf('=');
  const name = cookie.slice(0, eq);
  const value = cookie.slice(eq + 1);
  const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  return [
    ['cookie-tampered-signature', `${name}=${flip(value, value.length - 2)}`],
    ['cookie-tampered-id', `${name}=${flip(value, 5)}`],
    ['cookie-truncated', `${name}=${value.slice(0, -7)}`],
    ['cookie-duplicated', `${name}=${value}; ${name}=${value}`],
    ['cookie-oversized', `${name}=${value}${'x'.repeat(6000)}`],
    ['cookie-unsigned', `${name}=${value.slice(0, 43)}`],
    ['cookie-json', `${name}=j:${encodeURIComponent(JSON.stringify({ id: value }))}`],
  ];
}

// ------------------------------------------------------------------ one combination

export interface CombinationOptions {
  adapter: 'express' | 'fastify';
  store: 'sqlite' | 'redis';
  secrets: PlantedSecrets;
  detector: CanaryDetector;
  /** Concurrent visitors (the bound on concurrency). */
  workers: number;
  /** Rounds of the full request mix per visitor. */
  rounds: number;
  /** Extra environment for the app (e.g. KEYWARD_DEMO_LEAK_ROUTE). */
  extraEnv?: Record<string, string>;
  /** Run the demo identity provider too, and the OAuth phase (canary-oauth.ts). */
  oauth?: boolean;
}

export interface CombinationResult {
  name: string;
  requests: number;
  transportErrors: number;
  logLines: number;
  bytes: { responses: number; logs: number; store: number };
  /** Canaries of this combination (planted + learned here). */
  canaries: number;
  /** Canaries searched for (every one known so far, earlier combinations' included). */
  canariesSearched: number;
  patterns: number;
  storeSources: number;
  minted: number;
  redactedEchoes: number;
  /** Tokens the app received from the identity provider (learned through the tap), by field. */
  oauthTokens: { access_token: number; refresh_token: number; id_token: number } | undefined;
  /** RP-initiated logout answers whose id_token_hint (the one token handed out on purpose) was masked, and how many of them the detector caught unmasked. */
  idTokenHints: { masked: number; detected: number };
  hits: Hit[];
  unexpected: string[];
  statusCounts: Map<string, number>;
  ms: number;
}

const rigs = new Set<CombinationRig>();

/** Everything a combination needs, started; `stop()` ends it all (by PID for processes). */
export class CombinationRig {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly upstream: UpstreamHandle,
    readonly recorder: MintRecorder,
    readonly demo: DemoProcess,
    readonly redis: RedisServerHandle | undefined,
    readonly dataDir: string,
    readonly oauth: OAuthSide | undefined,
  ) {
    rigs.add(this);
  }

  static async start(o: Pick<CombinationOptions, 'adapter' | 'store' | 'secrets' | 'detector' | 'extraEnv' | 'oauth'>): Promise<CombinationRig> {
    const s = o.secrets;
    // With OAuth: the upstream also takes the identity provider's access tokens (its port is chosen now, it starts with the app's).
    const idpPort = o.oauth ? await freePort() : 0;
    const accessTokens = o.oauth ? { accessTokens: { issuer: `http://127.0.0.1:${idpPort}`, audience: UPSTREAM_AUDIENCE } } : {};
    const upstream = await startUpstream({ port: 0, serverKeys: s.serverKeys, adminToken: s.adminToken, ...accessTokens });
    const recorder = await MintRecorder.start(upstream.url, (key, id) => o.detector.add({ kind: 'minted-key', label: `minted key ${id}`, value: key }));
    const dataDir = mkdtempSync(join(tmpdir(), 'kw-canary-'));
    let redis: RedisServerHandle | undefined;
    try {
      if (o.store === 'redis') redis = await launchRedis();
      const env: Record<string, string> = {
        KEYWARD_ADAPTER: o.adapter,
        HOST: '127.0.0.1',
        UPSTREAM_PORT: String(recorder.port),
        KEYWARD_DATA_DIR: dataDir,
        KEYWARD_SESSION_SECRETS: s.sessionSecrets.join(','),
        KEYWARD_VAULT_KEYS: s.vaultKeys.map((k) => `${k.id}:${k.base64}`).join(','),
        DEMO_UPSTREAM_KEY: s.serverKeys.join(','),
        DEMO_UPSTREAM_ADMIN_TOKEN: s.adminToken,
        KEYWARD_DEMO_USERS: s.users.map((u) => `${u.name}:${u.password}`).join(','),
        // Short lifetimes so expiry, the sweeper, key rotation and revocation all run during the traffic.
        KEYWARD_IDLE_TIMEOUT_MS: '8000',
        KEYWARD_SWEEP_INTERVAL_MS: '500',
        KEYWARD_MINT_ROTATE_MS: '1000',
        KEYWARD_MINT_GRACE_MS: '300',
        // 24 visitors' logins would queue behind the OWASP-cost password hashing (2 at a time)
        // past the 8 s idle timeout on a loaded machine; this suite is about leaks, not hashing.
        KEYWARD_DEMO_TEST_PASSWORD_HASH: '1',
        ...(redis ? { REDIS_URL: redis.url } : {}),
        ...o.extraEnv,
      };
      // A free port can be taken by another process before the app binds it: try another one then.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const oauth = o.oauth ? await OAuthSide.start({ idpPort, appPort: port, users: s.users, adminToken: s.adminToken, detector: o.detector }) : undefined;
        try {
          const demo = await DemoProcess.start({ ...env, ...oauth?.env, PORT: String(port) }, oauth && ((c) => oauth.onTap(c)));
          return new CombinationRig(upstream, recorder, demo, redis, dataDir, oauth);
        } catch (e) {
          await oauth?.close();
          if (attempt >= 3 || !(e instanceof Error) || !e.message.includes('EADDRINUSE')) throw e;
        }
      }
    } catch (e) {
      await redis?.destroy();
      await recorder.close();
      await upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The SQLite files' bytes (database, WAL, SHM and anything else in the data dir). */
  sqliteFiles(): Array<{ name: string; bytes: Buffer }> {
    const out: Array<{ name: string; bytes: Buffer }> = [];
    const walk = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir)) {
        const p = join(dir, entry);
        if (statSync(p).isDirectory()) walk(p);
        else out.push({ name: p.slice(this.dataDir.length + 1), bytes: readFileSync(p) });
      }
    };
    walk(this.dataDir);
    return out;
  }

  /** Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.demo.stop();
        await this.recorder.close();
        await this.upstream.close();
        await this.oauth?.close();
        await this.redis?.destroy();
      } finally {
        rmSync(this.dataDir, { recursive: true, force: true });
        rigs.delete(this);
      }
    })();
    return this.stopping;
  }
}

/** One visitor's rounds of the request mix. Statuses a concurrent visitor may cause are allowed as alternatives. */
async function visit(v: Visitor, w: number, rounds: number, byokKey: (w: number, r: number) => string, canaryKey: (label: string) => string): Promise<void> {
  const P = '/api/proxy';
  await v.login();
  for (let r = 0; r < rounds; r++) {
    await v.send('session', 'GET', '/api/auth/session', { expect: [200] });
    await v.send('sessions', 'GET', '/api/auth/sessions', { expect: [200] });
    // The reflecting upstream: the key comes back raw, base64 and URL-encoded, in the body and a header.
    for (const reflect of ['1', 'b64', 'url']) {
      await v.send(`demo-reflect-${reflect}`, 'GET', `${P}/demo/echo?reflect=${reflect}&r=${r}`, { expect: [200] });
      await v.send(`session-reflect-${reflect}`, 'GET', `${P}/demo-session/echo?reflect=${reflect}`, { expect: [200] });
    }
    await v.send('demo-post-reflect', 'POST', `${P}/demo/echo?reflect=1`, { json: { hello: 'world', n: r, unicode: 'ünïcødé ✓', ctl: 'a\r\nb' }, expect: [200] });
    await v.send('session-put-reflect', 'PUT', `${P}/demo-session/echo?reflect=url`, { raw: 'plain body', contentType: 'text/plain', expect: [200] });
    // Bring your own key: PUT (write-only), list masked, use it through the proxy. Keys are per user,
    // and several visitors share a user, so a neighbour may have just replaced or deleted it.
    await v.send('byok-put', 'PUT', '/api/keys/demo-byok', { json: { key: byokKey(w, r) }, expect: [204] });
    await v.send('byok-list', 'GET', '/api/keys', { expect: [200] });
    for (const reflect of ['1', 'b64', 'url']) {
      await v.send(`byok-reflect-${reflect}`, 'GET', `${P}/demo-byok/echo?reflect=${reflect}`, { expect: [200, 409] });
    }
    // Upstream behaviours the proxy must contain.
    await v.send('upstream-set-cookie', 'GET', `${P}/demo/set-cookie`, { expect: [200] });
    await v.send('upstream-redirect', 'GET', `${P}/demo-session/redirect`, { expect: [502] });
    await v.send('upstream-500', 'GET', `${P}/demo/status/500`, { expect: [502] });
    await v.send('upstream-401', 'GET', `${P}/demo-byok/status/401`, { expect: [502, 409] });
    await v.send('upstream-404', 'GET', `${P}/demo-session/status/404`, { expect: [404] });
    await v.send('upstream-big', 'GET', `${P}/demo/big?bytes=${2048 * (1 + ((w + r) % 8))}`, { expect: [200] });
    await v.send('upstream-slow', 'GET', `${P}/demo-session/slow?ms=${5 + (w % 10)}`, { expect: [200] });
    await v.send('upstream-hop', 'GET', `${P}/demo/hop`, { expect: [200] });
    // Refusals: no CSRF header, foreign origin, no origin, no session, bad paths, unknown service.
    await v.send('proxy-no-csrf', 'GET', `${P}/demo/echo?reflect=1`, { csrf: false, expect: [403] });
    await v.send('proxy-foreign-origin', 'POST', `${P}/demo/echo?reflect=1`, { origin: 'http://evil.example', json: {}, expect: [403] });
    await v.send('logout-no-csrf', 'POST', '/api/auth/logout', { csrf: false, expect: [403] });
    await v.send('byok-put-no-origin', 'PUT', '/api/keys/demo-byok', { origin: null, json: { key: canaryKey(`no-origin-${w}-${r}`) }, expect: [403] });
    await v.send('proxy-no-session', 'GET', `${P}/demo/echo?reflect=1`, { cookie: null, expect: [401] });
    await v.send('session-no-session', 'GET', '/api/auth/session', { cookie: null, expect: [401] });
    await v.send('proxy-escape-encoded', 'GET', `${P}/demo/..%2f..%2finternal/marker`, { expect: [400] });
    await v.send('proxy-escape-dots', 'GET', `${P}/demo/%2e%2e/%2e%2e/internal/marker`, { expect: [400] });
    await v.send('proxy-escape-backslash', 'GET', `${P}/demo/..%5c..%5cinternal%5cmarker`, { expect: [400] });
    await v.send('proxy-crlf', 'GET', `${P}/demo/echo%0d%0aX-Injected:%201?reflect=1`, { expect: [400] });
    await v.send('proxy-nul', 'GET', `${P}/demo/echo%00?reflect=1`, { expect: [400] });
    await v.send('proxy-unknown-service', 'GET', `${P}/nope/echo`, { expect: [404] });
    await v.send('proxy-no-path', 'GET', `${P}/demo`, { expect: [400] });
    // Bad input: malformed JSON (one carrying a key), wrong types, unknown key service, control characters.
    const badJsonKey = canaryKey(`bad-json-${w}-${r}`);
    await v.send('login-bad-json', 'POST', '/api/auth/login', { raw: '{"username":"alice","password":', cookie: null, expect: [400] });
    await v.send('byok-bad-json', 'PUT', '/api/keys/demo-byok', { raw: `{"key":"${badJsonKey}"`, expect: [400] });
    await v.send('byok-not-json-key', 'PUT', '/api/keys/demo-byok', { raw: badJsonKey, expect: [400] });
    await v.send('byok-wrong-type', 'PUT', '/api/keys/demo-byok', { json: { key: { nested: badJsonKey } }, expect: [400] });
    await v.send('byok-control-chars', 'PUT', '/api/keys/demo-byok', { json: { key: `${badJsonKey}\r\nx` }, expect: [400] });
    await v.send('byok-padded', 'PUT', '/api/keys/demo-byok', { json: { key: ` ${badJsonKey} ` }, expect: [400] });
    await v.send('byok-unknown-service', 'PUT', '/api/keys/demo', { json: { key: badJsonKey }, expect: [404] });
    await v.send('login-wrong-types', 'POST', '/api/auth/login', { json: { username: { $ne: 1 }, password: 1 }, cookie: null, expect: [400] });
    await v.send('login-proto', 'POST', '/api/auth/login', { raw: '{"__proto__":{"admin":true},"constructor":{"prototype":{}}}', cookie: null, expect: [400] });
    // Hostile cookies.
    for (const [name, cookie] of hostileCookies(v.cookie!)) {
      await v.send(name, 'GET', '/api/auth/session', { cookie, expect: [401] });
    }
    await v.send('cookie-quoted', 'GET', '/api/auth/session', { cookie: v.cookie!.replace('=', '="') + '"', expect: [200] });
    // Delete the user key (a neighbour may have deleted it first).
    await v.send('byok-delete', 'DELETE', '/api/keys/demo-byok', { expect: [204, 404] });
    await v.send('byok-missing', 'GET', `${P}/demo-byok/echo`, { expect: [200, 409] });

    // Less frequent paths, spread over the visitors.
    if (r === 0 && w % 4 === 1) {
      await v.send('login-wrong-password', 'POST', '/api/auth/login', { json: { username: v.user.name, password: `${v.user.password}-wrong` }, cookie: null, expect: [401] });
      await v.send('login-unknown-user', 'POST', '/api/auth/login', { json: { username: `nobody-${w}\r\nforged log line`, password: 'x' }, cookie: null, expect: [401] });
    }
    if (r === 0 && w % 2 === 0) {
      // Logout, then the old cookie must never work again.
      const old = v.cookie!;
      await v.send('logout', 'POST', '/api/auth/logout', { expect: [204] });
      await v.send('replay-after-logout', 'GET', `${P}/demo-session/echo?reflect=1`, { cookie: old, expect: [401] });
      await v.login('login-again');
    }
    if (r === 1 && w % 4 === 0) {
      // A second session, revoked from the first one.
      const other = new Visitor(v.traffic, v.user);
      await other.login('login-second');
      const me = await other.send('sessions-second', 'GET', '/api/auth/sessions', { expect: [200] });
      const id = (me.json as Array<{ id: string; current: boolean }> | undefined)?.find((s) => s.current)?.id ?? 'unknown';
      await other.send('second-session-minted', 'GET', `${P}/demo-session/echo?reflect=b64`, { expect: [200] });
      await v.send('revoke-session', 'DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`, { expect: [204] });
      await other.send('replay-after-revoke', 'GET', '/api/auth/session', { expect: [401] });
      await v.send('revoke-unknown-session', 'DELETE', '/api/auth/sessions/not-a-real-handle', { expect: [404] });
    }
    if (r === 1 && w < 2) {
      // Oversized bodies (one carrying a user key) and an upstream answer over the size limit.
      const big = `{"key":"${canaryKey(`oversized-${w}`)}","pad":"${'p'.repeat(1_100_000)}"}`;
      await v.send('byok-oversized', 'PUT', '/api/keys/demo-byok', { raw: big, expect: [413, 0] });
      await v.send('proxy-oversized', 'POST', `${P}/demo/echo?reflect=1`, { raw: big, expect: [413, 0] });
      await v.send('upstream-too-big', 'GET', `${P}/demo/big?bytes=11000000`, { expect: [502] });
    }
  }
}

/**
 * Runs one adapter x store combination: starts everything, drives the traffic with
 * `workers` concurrent visitors, ends every session (logout-all per user), collects the
 * app's output and the store's bytes, stops everything and scans it all.
 */
export async function runCombination(o: CombinationOptions): Promise<CombinationResult> {
  const started = Date.now();
  const name = `${o.adapter}+${o.store}`;
  const planted = plantedCanaries(o.secrets);
  for (const c of planted) o.detector.add(c);
  const knownBefore = o.detector.canaryCount;
  const rig = await CombinationRig.start(o);
  const traffic = new Traffic(rig.demo.url, (c) => o.detector.add(c));
  const storeSources: Array<{ source: string; bytes: Buffer }> = [];
  let idTokenHints = { masked: 0, detected: 0 };
  const snapshotStore = async (when: string): Promise<void> => {
    if (o.store === 'sqlite') {
      for (const f of rig.sqliteFiles()) storeSources.push({ source: `sqlite (${when}) ${f.name}`, bytes: f.bytes });
      return;
    }
    for (const k of await dumpRedis(rig.redis!.url)) {
      const label = k.key.toString('utf8').slice(0, 60);
      storeSources.push({ source: `redis (${when}) key ${label}`, bytes: k.key });
      storeSources.push({ source: `redis (${when}) DUMP ${label}`, bytes: k.dump });
      storeSources.push({ source: `redis (${when}) ${k.type} values ${label}`, bytes: k.values });
    }
  };
  try {
    // Users' own keys: registered at the upstream (so proxied calls with them succeed), all canaries.
    const byok = new Map<string, string>();
    const byokKey = (w: number, r: number): string => {
      const id = `byok-${w}-${r}`;
      let key = byok.get(id);
      if (!key) {
        key = `kwcanary-byok-${w}-${r}-${tag(20)}`;
        byok.set(id, key);
        rig.upstream.addServerKey(key, id);
        o.detector.add({ kind: 'user-key', label: `user key ${id}`, value: key });
      }
      return key;
    };
    // User keys that the app must refuse (bad JSON, control characters, no origin, oversized): canaries too.
    const canaryKey = (label: string): string => {
      const key = `kwcanary-byok-refused-${label}-${tag(16)}`;
      o.detector.add({ kind: 'user-key', label: `refused user key ${label}`, value: key });
      return key;
    };
    await traffic.send('healthz', 'GET', '/healthz', { expect: [200] });
    await traffic.send('page', 'GET', '/', { expect: [200] });
    const visitors = Array.from({ length: o.workers }, (_, w) => new Visitor(traffic, o.secrets.users[w % o.secrets.users.length]!));
    await Promise.all(visitors.map((v, w) => visit(v, w, o.rounds, byokKey, canaryKey)));
    // Sign-in with OpenID Connect and the demo-oauth connection; some stay signed in and connected for the snapshot.
    if (rig.oauth) idTokenHints = await runOAuthPhase(rig.demo.url, rig.oauth, o.secrets.users.slice(0, 6), traffic, o.detector);
    await snapshotStore('after traffic');

    if (rig.redis) {
      // A store outage: requests must fail closed (503), and the failure paths must not leak either.
      await rig.redis.stop();
      await Promise.all(visitors.slice(0, 6).map(async (v, w) => {
        await v.send('outage-session', 'GET', '/api/auth/session', { expect: [503] });
        await v.send('outage-proxy', 'GET', '/api/proxy/demo-session/echo?reflect=1', { expect: [503] });
        await v.send('outage-byok-put', 'PUT', '/api/keys/demo-byok', { json: { key: byokKey(2000 + w, 0) }, expect: [503] });
        await v.send('outage-logout', 'POST', '/api/auth/logout', { expect: [503] });
      }));
      await rig.redis.start();
      // The store is back (empty: the outage lost its data) once a known cookie reads as unknown, not 503.
      const probe = visitors[0]!;
      for (let i = 0; i < 100; i++) {
        if ((await probe.send('outage-recovery', 'GET', '/api/auth/session', { expect: [503, 401] })).status === 401) break;
        await sleep(100);
      }
    }

    // Every user holds a stored key and a live session with a minted key: snapshot the store like that.
    const closers: Visitor[] = [];
    for (const [i, user] of o.secrets.users.entries()) {
      const v = new Visitor(traffic, user);
      closers.push(v);
      await v.login('login-for-logout-all');
      await v.send('byok-put', 'PUT', '/api/keys/demo-byok', { json: { key: byokKey(1000 + i, 0) }, expect: [204] });
      await v.send('session-reflect-1', 'GET', '/api/proxy/demo-session/echo?reflect=1', { expect: [200] });
    }
    await snapshotStore('live');
    // Log out everywhere, one user at a time, then replay every visitor's cookie.
    for (const v of closers) await v.send('logout-all', 'POST', '/api/auth/logout-all', { expect: [204] });
    await Promise.all(visitors.map((v) => v.send('replay-after-logout-all', 'GET', '/api/proxy/demo-session/echo?reflect=1', { expect: [401] })));
    // Let the sweeper and background revocations run, and their log lines land.
    await sleep(800);
    await snapshotStore('after logout-all');
    await traffic.close();
    await rig.demo.stop();
    await snapshotStore('after shutdown');
    if (rig.recorder.keys.length !== rig.upstream.adminStats().minted) {
      throw new Error(`mint recorder saw ${rig.recorder.keys.length} keys, the upstream minted ${rig.upstream.adminStats().minted}: some minted keys are not canaries`);
    }
  } finally {
    await traffic.close();
    await rig.stop();
  }

  // Scan everything against every canary known now.
  const hits: Hit[] = [];
  for (const r of traffic.responses) hits.push(...o.detector.scan(`${name} ${r.source}`, r.bytes));
  const stdout = Buffer.concat(rig.demo.stdout);
  const stderr = Buffer.concat(rig.demo.stderr);
  hits.push(...o.detector.scan(`${name} app stdout`, stdout), ...o.detector.scan(`${name} app stderr`, stderr));
  if (rig.oauth) hits.push(...o.detector.scan(`${name} identity provider log`, Buffer.from(rig.oauth.idpLog.join('\n'))));
  for (const s of storeSources) hits.push(...o.detector.scan(`${name} ${s.source}`, s.bytes));

  return {
    name,
    requests: traffic.requests,
    transportErrors: traffic.errors,
    logLines: countLines(stdout) + countLines(stderr),
    bytes: { responses: traffic.bytes(), logs: stdout.length + stderr.length, store: storeSources.reduce((n, s) => n + s.bytes.length, 0) },
    canaries: planted.length + o.detector.canaryCount - knownBefore,
    canariesSearched: o.detector.canaryCount,
    patterns: o.detector.patternTotal,
    storeSources: storeSources.length,
    minted: rig.recorder.keys.length,
    redactedEchoes: traffic.redactedEchoes,
    oauthTokens: rig.oauth ? { ...rig.oauth.learned } : undefined,
    idTokenHints,
    hits,
    unexpected: traffic.unexpected,
    statusCounts: traffic.statusCounts,
    ms: Date.now() - started,
  };
}

// ------------------------------------------------------------------ the deliberate leak

/**
 * Starts the demo with its test-only leak route, logs in, calls `GET /api/debug/leak`
 * (which writes the server key to stdout with a raw `fs.writeSync`, past every redaction
 * layer) and returns the scan of the captured output.
 */
export async function runDeliberateLeak(secrets: PlantedSecrets, detector: CanaryDetector): Promise<{ hits: Hit[]; status: number; logBytes: number }> {
  for (const c of plantedCanaries(secrets)) detector.add(c);
  const rig = await CombinationRig.start({ adapter: 'express', store: 'sqlite', secrets, detector, extraEnv: { KEYWARD_DEMO_LEAK_ROUTE: '1' } });
  const traffic = new Traffic(rig.demo.url, (c) => detector.add(c));
  let status = 0;
  try {
    const v = new Visitor(traffic, secrets.users[0]!);
    await v.login();
    status = (await v.send('debug-leak', 'GET', '/api/debug/leak', { expect: [200] })).status;
    // The write is synchronous in the app; wait until its bytes have crossed the pipe.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !Buffer.concat(rig.demo.stdout).includes('deliberate leak')) await sleep(20);
  } finally {
    await traffic.close();
    await rig.stop();
  }
  const stdout = Buffer.concat(rig.demo.stdout);
  return { hits: detector.scan('leak-route app stdout', stdout), status, logBytes: stdout.length };
}
