/**
 * Issue 22, point 1: after a move from express-session + connect-redis, the old records still held
 * `"apiKey":"sk_live_…"` in Redis. `keyward legacy-sessions` finds exactly the records holding a key
 * or a token, never prints a value (every format), and `delete --yes` removes exactly those.
 * Real components: a redis-server with a password, records written by the real express-session +
 * connect-redis through real HTTP requests, the documented redis-cli export, an RDB restored into
 * a second redis-server.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { runCli, type CliIo } from '../src/cli.js';
import { deleteIfStillSecret } from '../src/legacy-sessions/legacy-sessions.js';
import { RedisSource } from '../src/legacy-sessions/redis-source.js';
import { maskRecordKey } from '../src/legacy-sessions/session-record.js';
import { RedisServer } from './support/redis-server.js';
import { sarifValidator } from './support/sarif-schema.js';

const require = createRequire(import.meta.url);
type Handler = (req: { session: Record<string, unknown>; body: Record<string, unknown> }, res: { json(v: unknown): void }) => void;
interface ExpressApp {
  use(fn: unknown): void;
  post(path: string, fn: Handler): void;
  listen(port: number, host: string, cb: () => void): Server;
}
const express = require('express') as { (): ExpressApp; json(): unknown };
const session = require('express-session') as (opts: Record<string, unknown>) => unknown;
const { RedisStore } = require('connect-redis') as { RedisStore: new (opts: Record<string, unknown>) => { set(sid: string, sess: unknown): Promise<unknown> } };
const BIN = fileURLToPath(new URL('../../bin/keyward.js', import.meta.url));

const password = randomBytes(12).toString('hex');
const token = (prefix: string, n = 30): string => `${prefix}${randomBytes(n).toString('base64url')}`;
// what the old app kept in its sessions: keys and OAuth tokens (made at run time), and look-alikes that are not secrets
const apiKeys = [`sk_live_${randomBytes(16).toString('hex')}`, `sk_live_${randomBytes(16).toString('hex')}`];
const oauth = [0, 1].map(() => ({ access_token: token('ya29.'), refresh_token: token('1//'), expires_in: 3599, token_type: 'Bearer' }));
const elsewhere = `sk_live_${randomBytes(16).toString('hex')}`; // under another prefix: not a session record

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env, cwd: process.cwd() };
  return { code: await runCli(args, io), stdout, stderr };
}

interface JsonReport {
  summary: { total: number; records: { scanned: number; withSecrets: number; deleted?: number; dryRun?: boolean } };
  findings: { ruleId: string; record: string; field: string; ttlSeconds: number | null; evidence: string }[];
}

describe('keyward legacy-sessions against records written by express-session + connect-redis', () => {
  let redis: RedisServer;
  let server: Server;
  let client: ReturnType<typeof createClient>;
  const sids = { key: [] as string[], oauth: [] as string[], plain: [] as string[] };
  const work = mkdtempSync(join(tmpdir(), 'kw-legacy-'));
  const env = (): NodeJS.ProcessEnv => ({ KEYWARD_REDIS_URL: redis.url(password) });
  const secrets = (): string[] => [...apiKeys, ...oauth.flatMap((t) => [t.access_token, t.refresh_token]), elsewhere, password, ...Object.values(sids).flat()];

  /** No secret, password or session ID, nor any 8 characters of one in a row, appears in the output. */
  function assertNothingLeaks(output: string, what: string): void {
    for (const s of secrets()) {
      assert.ok(!output.includes(s), `${what}: a raw value appears`);
      for (let i = 0; i + 8 <= s.length; i++) assert.ok(!output.includes(s.slice(i, i + 8)), `${what}: 8 characters of a value appear`);
    }
  }

  const secretRecords = (): string[] => [...sids.key, ...sids.oauth].map((sid) => maskRecordKey(`sess:${sid}`)).sort();
  const expectedFields = (): string[] =>
    [...sids.key.map((sid) => `${maskRecordKey(`sess:${sid}`)} apiKey`), ...sids.oauth.flatMap((sid) => ['access_token', 'refresh_token'].map((f) => `${maskRecordKey(`sess:${sid}`)} passport.user.tokens.${f}`))].sort();
  const reportedFields = (r: JsonReport): string[] => r.findings.map((f) => `${f.record} ${f.field}`).sort();

  async function fill(): Promise<void> {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const post = async (path: string, body: unknown): Promise<string> => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='))!;
      return /^connect\.sid=s%3A([^.]+)\./.exec(cookie)![1]!; // the session ID inside the signed cookie
    };
    for (const k of apiKeys) sids.key.push(await post('/keys', { apiKey: k }));
    for (const t of oauth) sids.oauth.push(await post('/oauth/callback', t));
    for (const name of ['carol', 'dave', 'erin']) sids.plain.push(await post('/login', { name }));
    await client.set('cache:partner', JSON.stringify({ apiKey: elsewhere }));
    // filler, so that SCAN takes many steps
    for (let i = 0; i < 3000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => client.set(`ratelimit:${i + j}`, String(j))));
    }
  }

  before(async () => {
    redis = await RedisServer.launch(['--requirepass', password]);
    client = createClient({ url: redis.url(password) });
    await client.connect();
    const app = express();
    app.use(express.json());
    app.use(session({ store: new RedisStore({ client }), secret: randomBytes(32).toString('hex'), resave: false, saveUninitialized: false }));
    app.post('/keys', (req, res) => {
      req.session['user'] = { name: 'ann' };
      req.session['apiKey'] = req.body['apiKey']; // the advisory's leak
      res.json({ ok: true });
    });
    app.post('/oauth/callback', (req, res) => {
      req.session['passport'] = { user: { id: 7, name: 'bo', tokens: req.body } };
      res.json({ ok: true });
    });
    app.post('/login', (req, res) => {
      // look-alikes: a CSRF token, a masked key, flags and ids named like keys
      req.session['user'] = { id: 3, name: req.body['name'] };
      req.session['csrfToken'] = randomBytes(16).toString('base64url');
      req.session['apiKeyLast4'] = 'a1b2';
      req.session['hasApiKey'] = true;
      req.session['apiKeyId'] = 'key_01HZX3Y5';
      res.json({ ok: true });
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    await fill();
  });

  after(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    await client?.quit();
    await redis?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  test('scan finds exactly the sessions holding a key or a token, with SCAN (never KEYS) in bounded steps', async () => {
    await client.sendCommand(['CONFIG', 'RESETSTAT']);
    const r = await cli(['legacy-sessions', 'scan', '--format', 'json', '--batch', '50'], env());
    assert.equal(r.code, 1, r.stderr); // HIGH findings, --fail-on high by default
    const body = JSON.parse(r.stdout) as JsonReport;
    assert.deepEqual(reportedFields(body), expectedFields());
    assert.deepEqual([...new Set(body.findings.map((f) => f.record))].sort(), secretRecords());
    assert.equal(body.summary.records.scanned, 7);
    assert.equal(body.summary.records.withSecrets, 4);
    for (const f of body.findings) {
      assert.equal(f.ruleId, 'KW008');
      assert.ok(typeof f.ttlSeconds === 'number' && f.ttlSeconds > 86_000 && f.ttlSeconds <= 86_400, 'connect-redis sets a one-day TTL');
      assert.match(f.evidence, /^••••.{4} \(\d+ chars\)$/);
    }
    const stats = String(await client.sendCommand(['INFO', 'commandstats']));
    assert.doesNotMatch(stats, /cmdstat_keys:/, 'KEYS is never sent');
    const scans = Number(/cmdstat_scan:calls=(\d+)/.exec(stats)?.[1]);
    assert.ok(scans > 20, `SCAN walked the keyspace in steps (${scans} calls)`);
  });

  test('no value, password or session ID in any format; exit codes follow --fail-on', async () => {
    const validate = sarifValidator();
    for (const format of ['text', 'json', 'sarif']) {
      const r = await cli(['legacy-sessions', 'scan', '--format', format, '--no-color'], env());
      assert.equal(r.code, 1);
      assertNothingLeaks(r.stdout + r.stderr, format);
      if (format === 'sarif') {
        const log = JSON.parse(r.stdout) as { runs: { results: { ruleId: string; level: string }[] }[] };
        assert.ok(validate(log), JSON.stringify(validate.errors?.slice(0, 3)));
        assert.equal(log.runs[0]!.results.length, 6);
        assert.ok(log.runs[0]!.results.every((x) => x.ruleId === 'KW008' && x.level === 'error'));
      }
      if (format === 'text') {
        assert.match(r.stdout, /HIGH +KW008/);
        assert.match(r.stdout, /Stripe secret key in plain text at `apiKey`/);
        assert.match(r.stdout, /7 records matching "sess:\*" read in \d+ ms, 4 holding secrets/);
        assert.match(r.stdout, /guide: https:\/\/\S+migrating-from-express-session\.md#clean-up-the-old-sessions/);
      }
    }
    assert.equal((await cli(['legacy-sessions', 'scan', '--fail-on', 'none'], env())).code, 0);
    assert.equal((await cli(['legacy-sessions', 'scan', '--fail-on', 'critical'], env())).code, 0);
    // the real binary, as a user runs it
    const bin = await promisify(execFile)(process.execPath, [BIN, 'legacy-sessions', 'scan', redis.url(password), '--fail-on', 'none'], { env: { ...process.env, NO_COLOR: '1' } });
    assert.match(bin.stdout, /4 holding secrets/);
    assertNothingLeaks(bin.stdout + bin.stderr, 'bin');
  });

  test('a wrong password or an unreachable server is an error (exit 2) that does not echo the password', async () => {
    const wrong = await cli(['legacy-sessions', 'scan', redis.url(`${password}x`)]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /cannot connect to redis:\/\/127\.0\.0\.1:\d+\/?: .*(WRONGPASS|invalid)/i);
    assertNothingLeaks(wrong.stderr, 'wrong password');
    assert.equal((await cli(['legacy-sessions', 'scan'])).code, 2, 'no URL, no dump');
    assert.equal((await cli(['legacy-sessions', 'scan', 'http://127.0.0.1:1'])).code, 2);
    assert.equal((await cli(['legacy-sessions', 'scan', '--dump', 'x.jsonl', redis.url()])).code, 2);
    assert.equal((await cli(['legacy-sessions', 'delete', '--dump', 'x.jsonl', '--yes'])).code, 2, 'a dump is read-only');
  });

  test('a dump: the JSONL the docs tell redis-cli to write, a JSON array, and an RDB restored into a second server', async () => {
    // the loop in docs/cli.md, as written there (REDISCLI_AUTH keeps the password out of argv)
    const jsonl = join(work, 'sessions.jsonl');
    const loop = `redis-cli -p ${redis.port} --scan --pattern 'sess:*' | while IFS= read -r k; do
  printf '{"key":%s,"value":%s,"ttl":%s}\\n' "$(redis-cli -p ${redis.port} --json ECHO "$k")" "$(redis-cli -p ${redis.port} --json GET "$k")" "$(redis-cli -p ${redis.port} TTL "$k")"
done > ${jsonl}`;
    await new Promise<void>((resolve, reject) => {
      const sh = spawn('sh', ['-c', loop], { env: { ...process.env, REDISCLI_AUTH: password }, stdio: 'ignore' });
      sh.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli loop exited ${code}`))));
    });
    const fromJsonl = await cli(['legacy-sessions', 'scan', '--dump', jsonl, '--format', 'json']);
    assert.equal(fromJsonl.code, 1, fromJsonl.stderr);
    assert.deepEqual(reportedFields(JSON.parse(fromJsonl.stdout) as JsonReport), expectedFields());
    const array = join(work, 'sessions.json');
    writeFileSync(array, JSON.stringify(readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)));
    const fromArray = await cli(['legacy-sessions', 'scan', '--dump', array, '--format', 'json']);
    assert.deepEqual(reportedFields(JSON.parse(fromArray.stdout) as JsonReport), expectedFields());
    // a backup: the server's RDB file, loaded by a throwaway redis-server on loopback
    await client.sendCommand(['SAVE']);
    const restoreDir = mkdtempSync(join(tmpdir(), 'kw-rdb-'));
    copyFileSync(join(redis.dir, 'dump.rdb'), join(restoreDir, 'backup.rdb'));
    const restored = await RedisServer.launch(['--dbfilename', 'backup.rdb'], restoreDir);
    try {
      const fromRdb = await cli(['legacy-sessions', 'scan', restored.url(), '--format', 'json']);
      assert.deepEqual(reportedFields(JSON.parse(fromRdb.stdout) as JsonReport), expectedFields());
    } finally {
      await restored.destroy();
      rmSync(restoreDir, { recursive: true, force: true });
    }
  });

  test('delete: refused without --yes, nothing deleted by --dry-run, then exactly the reported records deleted', async () => {
    const allKeys = async (): Promise<string[]> => (await client.sendCommand(['KEYS', 'sess:*'])) as string[]; // the test may use KEYS; the CLI never does
    const before = (await allKeys()).sort();
    const refused = await cli(['legacy-sessions', 'delete'], env());
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--yes/);
    const dry = await cli(['legacy-sessions', 'delete', '--dry-run', '--format', 'json'], env());
    assert.equal(dry.code, 1);
    assert.equal((JSON.parse(dry.stdout) as JsonReport).summary.records.dryRun, true);
    assert.deepEqual((await allKeys()).sort(), before, '--dry-run deletes nothing');

    for (const format of ['text', 'json']) {
      const r = await cli(['legacy-sessions', 'delete', '--yes', '--format', format, '--no-color'], env());
      assertNothingLeaks(r.stdout + r.stderr, `delete ${format}`);
      assert.equal(r.code, 0, 'every reported record is gone');
      if (format === 'text') assert.match(r.stdout, /4 holding secrets; 4 deleted/);
      else assert.equal((JSON.parse(r.stdout) as JsonReport).summary.records.withSecrets, 0, 'the second run finds nothing left');
    }
    assert.deepEqual((await allKeys()).sort(), sids.plain.map((sid) => `sess:${sid}`).sort(), 'the plain sessions are left');
    assert.equal(await client.get('cache:partner'), JSON.stringify({ apiKey: elsewhere }), 'keys outside the pattern are left');
    assert.equal(await client.get('ratelimit:2999'), String(2999 % 500));
    assert.equal((await cli(['legacy-sessions', 'scan'], env())).code, 0);
  });

  test('delete is compare-and-delete: a record rewritten since the scan is judged again', async () => {
    const store = new RedisStore({ client });
    const sess = (extra: Record<string, unknown>) => ({ cookie: { originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000), httpOnly: true, path: '/' }, ...extra });
    const source = await RedisSource.connect({ url: redis.url(password) });
    try {
      // still a secret after the concurrent write (express-session touched it): deleted
      await store.set('race-1', sess({ apiKey: apiKeys[0] }));
      const seen1 = (await client.get('sess:race-1'))!;
      await store.set('race-1', sess({ apiKey: apiKeys[0], lastSeen: Date.now() + 1 }));
      assert.equal(await source.deleteIfUnchanged('sess:race-1', seen1), false, 'the stale value does not delete');
      assert.equal(await deleteIfStillSecret(source, 'sess:race-1', seen1), 'deleted');
      assert.equal(await client.exists('sess:race-1'), 0);
      // rewritten without the secret in the meantime (the user logged out of it, say): kept
      await store.set('race-2', sess({ apiKey: apiKeys[1] }));
      const seen2 = (await client.get('sess:race-2'))!;
      await store.set('race-2', sess({ user: { name: 'ann' } }));
      assert.equal(await deleteIfStillSecret(source, 'sess:race-2', seen2), 'no-longer-secret');
      assert.equal(await client.exists('sess:race-2'), 1);
      // gone in the meantime
      assert.equal(await deleteIfStillSecret(source, 'sess:race-3', seen2), 'gone');
    } finally {
      await source.close();
      await client.del('sess:race-2');
    }
  });
});
