// Issue 14: the published tarballs, installed from the registry into fresh apps outside the
// repository, the way a user meets them. `npm pack` the packages (and @keyward/core, which
// both depend on), write each app's files (what `nest new` generates, plus a login route and
// a proxy), install them concurrently
// with one shared npm cache, and run each app's own flow against a real upstream and a real
// redis-server. Needs the npm registry; KEYWARD_SKIP_CONSUMER=1 skips it (offline work).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RedisServer, freePort } from '../support/redis-server.js';
import { cliFolder, nest11App, nest12App, type AppSpec } from './consumer-apps.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const TSC7 = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const skip = process.env.KEYWARD_SKIP_CONSUMER === '1' ? 'KEYWARD_SKIP_CONSUMER=1' : false;
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

interface Run {
  code: number | null;
  out: string;
  ms: number;
}

/** Runs a command to completion; never throws (the caller asserts on `code` and shows `out`). */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 600_000): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => process.kill(proc.pid!, 'SIGKILL'), timeoutMs);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.out.slice(-4000)}`);
}

function writeApp(base: string, app: AppSpec): string {
  const dir = join(base, app.name);
  for (const [file, text] of Object.entries(app.files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** Size of a folder in bytes (what `du -sb` says). */
function du(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Native addons anywhere under node_modules (a Redis-only app must have none). */
function nativeAddons(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.node')) found.push(p.slice(dir.length + 1));
    }
  };
  walk(join(dir, 'node_modules'));
  return found;
}

/**
 * The test's upstream API: requires `x-api-key: <key>`, counts the calls that carried it,
 * and echoes the key back in its body and a header (Keyward must scrub both).
 */
async function startUpstream(key: string): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.headers['x-api-key'] !== key) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"no key"}');
      return;
    }
    hits++;
    res.writeHead(200, { 'content-type': 'application/json', 'x-echo-key': key });
    res.end(JSON.stringify({ echo: req.url, youSent: key }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}

/** The browser's side: log in, make a proxied call. */
async function loginAndProxy(base: string): Promise<{ loginStatus: number; status: number; text: string; headers: string }> {
  const page = { 'x-csrf': '1', 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' };
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: page, body: JSON.stringify({ username: 'alice', password: 'alice-password' }) });
  await login.text();
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const proxied = await fetch(`${base}/api/proxy/upstream/echo`, { method: 'POST', headers: { ...page, cookie }, body: '{}' });
  return { loginStatus: login.status, status: proxied.status, text: await proxied.text(), headers: JSON.stringify([...proxied.headers]) };
}

/** Starts `node dist/main.js` of an app, waits for it to listen, and stops it by PID. */
async function withRunningApp<T>(dir: string, env: Record<string, string>, use: (base: string) => Promise<T>): Promise<T> {
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const deadline = Date.now() + 20_000;
    while (!/listening on|successfully started/.test(out)) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`app did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Nest logs "successfully started" at the end of init(), before the server listens (an app
    // made by `nest new` prints nothing after listen): wait until the port answers at all.
    for (;;) {
      const answered = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.body?.cancel().then(() => true) ?? true, () => false);
      if (answered) break;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`app did not listen:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      return await use(`http://127.0.0.1:${port}`);
    } catch (err) {
      // What the app wrote says why a request failed (a crash, an unhandled rejection).
      throw new Error(`${(err as Error).message}; the app (exit ${String(proc.exitCode ?? proc.signalCode)}) wrote:\n${out.slice(-4000)}`, { cause: err });
    }
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      process.kill(proc.pid!, 'SIGTERM');
      await exited;
    }
  }
}

/** Installs compile better-sqlite3 from source: minutes on a busy 2-core machine. */
const SLOW = { timeout: 900_000 };

describe('consumer apps from the packed tarballs (issue 14)', { skip, concurrency: true }, () => {
  const base = skip ? '' : mkdtempSync(join(tmpdir(), 'kw-consumer-'));
  const key = `sk-upstream-${randomBytes(18).toString('base64url')}`;
  const env: Record<string, string> = {
    KEYWARD_SESSION_SECRET: randomBytes(32).toString('base64url'),
    KEYWARD_VAULT_KEY: `k1:${randomBytes(32).toString('base64')}`,
    UPSTREAM_API_KEY: key,
  };
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let redis: RedisServer;
  const installs = new Map<string, Promise<{ dir: string; install: Run }>>();
  const started = Date.now();

  const apps = (nest: string, cli: string, core: string): AppSpec[] => [
    nest12App({ name: 'nest12-express-sqlite', adapter: 'express', store: 'sqlite', tarball: nest, core }),
    nest12App({ name: 'nest12-express-redis', adapter: 'express', store: 'ioredis', tarball: nest, core }),
    nest12App({ name: 'nest12-fastify-vitest', adapter: 'fastify', store: 'memory', tarball: nest, core, vitest: true }),
    nest11App({ name: 'nest11-cjs-jest', store: 'node-redis', tarball: nest, core }),
    cliFolder({ tarball: cli, core }),
  ];

  before(async () => {
    const packs = join(base, 'tarballs');
    mkdirSync(packs);
    // @keyward/core is what both packages depend on: packed too, as the registry would serve it.
    const packed = await Promise.all(
      ['packages/nest', 'packages/cli', 'packages/core'].map(async (ws) => {
        const r = await run('npm', ['pack', '--pack-destination', packs, '--silent'], join(ROOT, ws));
        ok(r, `npm pack ${ws}`);
        return join(packs, r.out.trim().split('\n').pop()!);
      }),
    );
    for (const app of apps(packed[0]!, packed[1]!, packed[2]!)) {
      const dir = writeApp(base, app);
      installs.set(app.name, run('npm', ['install', ...NPM_FLAGS], dir).then((install) => ({ dir, install })));
    }
    [upstream, redis] = await Promise.all([startUpstream(key), RedisServer.launch()]);
    env.UPSTREAM_URL = upstream.url;
    env.REDIS_URL = redis.url;
  });

  after(async () => {
    await Promise.allSettled(installs.values());
    await upstream?.close();
    await redis?.destroy();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  /** The installed app (its install asserted), with the figures the release note quotes. */
  async function installed(t: TestContext, name: string): Promise<string> {
    const { dir, install } = await installs.get(name)!;
    ok(install, `npm install of ${name}`);
    t.diagnostic(`${name}: npm install ${s(install.ms)} (warm cache, concurrent with the other apps), node_modules ${mb(du(join(dir, 'node_modules')))}; at +${s(Date.now() - started)}`);
    return dir;
  }

  /** Compiles with TypeScript 7, library types checked too; fails on errors in the app or in Keyward's types. */
  async function build(dir: string): Promise<void> {
    const r = await run(process.execPath, [TSC7, '-p', 'tsconfig.json'], dir);
    const ours = r.out.split('\n').filter((l) => l.includes('@keyward/') || l.startsWith('src/'));
    assert.deepEqual(ours, [], `tsc (TypeScript 7) in ${dir}:\n${r.out.slice(-3000)}`);
    assert.ok(existsSync(join(dir, 'dist', 'main.js')), `tsc emitted dist/main.js:\n${r.out.slice(-3000)}`);
    if (r.code !== 0) process.stdout.write(`# third-party type errors in ${dir} (not Keyward's):\n${r.out.slice(0, 1500)}`);
  }

  async function checkFlow(base: string, name: string): Promise<void> {
    const before = upstream.hits();
    const seen = await loginAndProxy(base);
    assert.equal(seen.loginStatus, 201, `${name}: login`);
    assert.equal(seen.status, 200, `${name}: proxied call: ${seen.text}`);
    assert.match(seen.text, /echo/);
    assert.ok(upstream.hits() > before, `${name}: the upstream received the key`);
    assert.ok(!seen.text.includes(key), `${name}: the key never reaches the browser (body)`);
    assert.ok(!seen.headers.includes(key), `${name}: the key never reaches the browser (headers)`);
  }

  /** What each optional feature says in this app: `ok`, or the error's code and its fix. */
  async function optionalFeatures(dir: string): Promise<Record<'sqlite' | 'redis' | 'logger', string>> {
    writeFileSync(
      join(dir, 'optional-features.mjs'),
      `import { KeywardLogger, RedisStore, SqliteStore } from '@keyward/nest';
const make = { sqlite: () => new SqliteStore({ file: ':memory:' }), redis: () => new RedisStore({ url: 'redis://127.0.0.1:1', redisOptions: { lazyConnect: true } }), logger: () => new KeywardLogger() };
const out = {};
for (const [name, f] of Object.entries(make)) {
  try { const made = f(); out[name] = 'ok'; made.close?.().catch(() => {}); } catch (e) { out[name] = e.code + ' ' + e.message.split('\\n')[1]; }
}
console.log(JSON.stringify(out));
process.exit(0);
`,
    );
    const r = await run(process.execPath, ['optional-features.mjs'], dir);
    ok(r, 'optional-features.mjs');
    return JSON.parse(r.out) as Record<'sqlite' | 'redis' | 'logger', string>;
  }

  it('(a) NestJS 12, ES modules, Express, SQLite store: types check, the app logs in and proxies', SLOW, async (t) => {
    const dir = await installed(t, 'nest12-express-sqlite');
    t.diagnostic(`nest12-express-sqlite: better-sqlite3 ${mb(du(join(dir, 'node_modules', 'better-sqlite3')))}, native addons: ${nativeAddons(dir).length}`);
    await build(dir);
    await withRunningApp(dir, { ...env, SQLITE_FILE: join(dir, '.data', 'keyward.sqlite') }, (url) => checkFlow(url, 'nest12-express-sqlite'));
  });

  it('(a) NestJS 12, ES modules, Express, Redis only (ioredis): nothing native installed; the features not installed say what to install', SLOW, async (t) => {
    const dir = await installed(t, 'nest12-express-redis');
    assert.deepEqual(nativeAddons(dir), [], 'a Redis-only app compiles nothing native');
    assert.ok(!existsSync(join(dir, 'node_modules', 'better-sqlite3')), 'better-sqlite3 not installed');
    await build(dir);
    await withRunningApp(dir, env, (url) => checkFlow(url, 'nest12-express-redis'));
    const features = await optionalFeatures(dir);
    assert.equal(features.redis, 'ok');
    assert.match(features.sqlite, /^KW_PEER_MISSING .*npm install better-sqlite3/);
    assert.match(features.logger, /^KW_PEER_MISSING .*npm install pino/);
  });

  it('(c) NestJS 11, CommonJS, node-redis client: the Jest e2e test (ts-jest) passes and TypeScript 5 type-checks', SLOW, async (t) => {
    const dir = await installed(t, 'nest11-cjs-jest');
    const jest = await run('npm', ['run', 'test:e2e', '--silent'], dir, env, 120_000);
    ok(jest, 'jest e2e');
    assert.match(jest.out, /Tests:\s+2 passed/);
    t.diagnostic(`nest11-cjs-jest: jest e2e ${s(jest.ms)}`);
    // As generated (module nodenext: the `require` condition's types), then `module: commonjs`
    // (top-level `types`) with library checking on.
    ok(await run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json'], dir), 'tsc 5 (nodenext)');
    const cjs = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.commonjs.json'], dir);
    const ours = cjs.out.split('\n').filter((l) => l.includes('@keyward/') || l.startsWith('src/') || l.startsWith('test/'));
    assert.deepEqual(ours, [], `tsc 5 (commonjs, skipLibCheck false):\n${cjs.out.slice(-3000)}`);
    // And it builds and runs as CommonJS.
    ok(await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], dir), 'tsc 5 build');
    await withRunningApp(dir, env, (url) => checkFlow(url, 'nest11-cjs-jest'));
  });

  it('(b, d) NestJS 12, ES modules, Fastify, in a Vitest test; no store package installed (MemoryStore)', SLOW, async (t) => {
    const dir = await installed(t, 'nest12-fastify-vitest');
    const features = await optionalFeatures(dir);
    assert.match(features.redis, /^KW_PEER_MISSING .*npm install ioredis/);
    assert.match(features.sqlite, /^KW_PEER_MISSING .*npm install better-sqlite3/);
    await build(dir);
    const before = upstream.hits();
    const vitest = await run(join(dir, 'node_modules', '.bin', 'vitest'), ['run'], dir, env, 120_000);
    ok(vitest, 'vitest run');
    assert.match(vitest.out, /1 passed/);
    assert.ok(upstream.hits() > before, 'the upstream received the key');
  });

  it('the CLI tarball alone in an empty folder: keyward audit finds the advisory pattern (HIGH)', SLOW, async (t) => {
    const dir = await installed(t, 'cli-only');
    const r = await run(join(dir, 'node_modules', '.bin', 'keyward'), ['audit', 'src', '--format', 'json'], dir);
    const report = JSON.parse(r.out.slice(r.out.indexOf('{'))) as { findings: Array<{ severity: string; ruleId: string }> };
    const high = report.findings.filter((f) => f.severity === 'high');
    assert.ok(high.length > 0, `a HIGH finding:\n${r.out.slice(0, 2000)}`);
    t.diagnostic(`keyward audit: ${report.findings.length} finding(s), ${high.length} HIGH (exit ${r.code})`);
  });

});
