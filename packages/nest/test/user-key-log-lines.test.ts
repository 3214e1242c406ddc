/**
 * Issue 23.1 (high): a user's own stored key blinded every log line. A valid
 * bring-your-own key is attacker-chosen; registered for redaction, a key equal to
 * `"reason":"reuse"` was scrubbed out of every user's serialised line (the line stopped being
 * JSON, reuse alerts lost their reason), `"context":"KeywardHttp"` blanked every request line.
 *
 * Now (a) the redacting logger scrubs each field's value before the line is serialised, so a
 * registered value never matches across a line's syntax, and (b) a user-supplied key must look
 * like a key: `A-Za-z0-9` and `- _ . + / = ~`, at least 64 bits as @keyward/core estimates it.
 * Real HTTP on both adapters, the real pino logger writing to a stream of lines.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { KeywardEvents, KeywardLogger, MemoryStore, ServerKeyProvider, checkUserKey, createRedactingLogger, liveSecrets } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { upstreamService } from './support/bff-options.js';
import { AppClient, PageClient } from './support/clients.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';

const SERVER_KEY = `sk_server_${randomBytes(24).toString('base64url')}`;
let upstream: UpstreamHandle;
upstreamSuite({ serverKeys: [{ id: 'server-1', key: SERVER_KEY }], adminToken: secret() }, (u) => (upstream = u));

/** Log text a user could try to blind other users' lines with. */
const LOG_FRAGMENTS = [
  '"reason":"reuse"',
  '"context":"KeywardHttp"',
  'context":"KeywardHttp',
  'reuse',
  'KeywardHttp',
  'session.ended',
  'session.ended-reuse',
  'KeywardHttpException',
  'KW_PROXY_UPSTREAM_FAILED',
  'KW_SESSION_REQUIRED_',
  'credential.revoke-failed',
  'RouterExplorerNestApplication',
  'InstanceLoaderRoutesResolver',
  '"msg":"proxied call"',
  ',"outcome":"forwarded"',
  'reusereusereusereuse',
  'abababababababababab',
  'passwordpassword',
  'correcthorsebatterystaple',
  'qwertyuiopasdfghjkl',
  '1qaz2wsx3edc4rfv5tgb',
  '2026-05-01T12-00-00.000Z',
  'xxxxxxxxxxxxxxxxxxxxxxxx',
  '0123456789012345',
  '{"level":30}{"level":30}',
  'key with spaces 8f3kd9s',
  'back\\slash-8f3kd9s2l4',
];

const pick = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Keys as providers issue them. */
const REAL_KEYS: Record<string, () => string> = {
  'sk-live- (32 base62)': () => `sk-live-${pick(B62, 32)}`,
  'sk_live_ (24 base62)': () => `sk_live_${pick(B62, 24)}`,
  'AWS access key id (AKIA + 16)': () => `AKIA${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
  'AWS secret access key (40 base64)': () => randomBytes(30).toString('base64'),
  'Azure key (44 base64)': () => randomBytes(32).toString('base64'),
  'Azure key (32 hex)': () => randomBytes(16).toString('hex'),
  'GitHub ghp_ (36 base62)': () => `ghp_${pick(B62, 36)}`,
  'Google AIza (35)': () => `AIza${randomBytes(27).toString('base64url').slice(0, 35)}`,
  'UUID': () => randomUUID(),
  'JWT': () => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: `u${randomInt(1e6)}`, exp: 1_900_000_000 })).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
};

function refusal(value: unknown): { code?: string; message: string } | null {
  try {
    checkUserKey(value);
    return null;
  } catch (e) {
    return e as { code?: string; message: string };
  }
}

describe('checkUserKey: a user key must look like a key (issue 23.1b)', () => {
  it('every realistic provider key shape passes (200 of each)', () => {
    for (const [what, make] of Object.entries(REAL_KEYS)) {
      for (let i = 0; i < 200; i++) {
        const key = make();
        const r = refusal(key);
        assert.equal(r, null, `${what} refused: ${r?.message}`);
      }
    }
  });

  it('log fragments, English words, dates and short repeats are refused with KW_INVALID_ARGUMENT, saying what a key looks like, never quoting the value', () => {
    for (const fragment of LOG_FRAGMENTS) {
      const r = refusal(fragment);
      assert.ok(r !== null, `accepted as a key: ${JSON.stringify(fragment)}`);
      assert.equal(r.code, 'KW_INVALID_ARGUMENT', fragment);
      assert.ok(!r.message.includes(fragment), `the message quotes the value: ${r.message}`);
      if (fragment.length >= 16 && !/\s/.test(fragment)) assert.match(r.message, /letters, digits and - _ \. \+ \/ = ~/, `${fragment}: ${r.message}`);
    }
  });
});

/** A stream of the logger's lines, each parsed. */
function lineSink(): { destination: Writable; lines: string[] } {
  const lines: string[] = [];
  let rest = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = rest + chunk.toString('utf8');
      const parts = text.split('\n');
      rest = parts.pop()!;
      lines.push(...parts.filter((l) => l !== ''));
      cb();
    },
  });
  return { destination, lines };
}

function parsed(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      assert.fail(`a log line is not JSON any more: ${l}`);
    }
  });
}

describe('the redacting logger scrubs field values, not the serialised line (issue 23.1a)', () => {
  it('a live value that spans a line\'s syntax leaves every field in place; a value inside a field is still redacted', () => {
    const { destination, lines } = lineSink();
    const logger = new KeywardLogger(createRedactingLogger({ destination }));
    const spanning = ['"reason":"reuse"', '"context":"KeywardHttp"', '","msg":"', 'KeywardHttp","msg'];
    const key = `sk_live_${randomBytes(24).toString('base64url')}`;
    for (const v of spanning) liveSecrets.add(v);
    liveSecrets.add(key);
    try {
      logger.log({ event: 'session.ended', reason: 'reuse', severity: 'critical', sessionRef: 'abc123' }, 'KeywardEvents');
      logger.log('GET /healthz 200 1.0ms id=1', 'KeywardHttp');
      logger.log({ msg: 'proxied call', service: 'server', note: `called with ${key}`, [key]: 1 }, 'KeywardProxy');
      logger.error(`upstream said ${key}`, `Error: ${key}\n    at x`, 'KeywardExceptionFilter');
      logger.pino.info({ nested: { deep: [{ value: key }] } }, 'interpolated %s and %j', key, { k: key });
      logger.pino.error(new Error(`failed with ${key}`));
      logger.pino.child({ bound: key }).info('from a child');
      logger.warn({ text: `x ${key}` }, 'App');
    } finally {
      for (const v of [...spanning, key]) liveSecrets.forget(v);
    }
    const records = parsed(lines);
    assert.equal(records.length, 8, lines.join('\n'));
    const [ended, http, proxied, error, nested, err, child, warned] = records as [Record<string, any>, ...Array<Record<string, any>>];
    assert.equal(ended.reason, 'reuse', 'the reuse alert lost its reason');
    assert.equal(ended.event, 'session.ended');
    assert.equal(ended.context, 'KeywardEvents');
    assert.equal(http!.context, 'KeywardHttp', 'the request line lost its context');
    assert.equal(http!.msg, 'GET /healthz 200 1.0ms id=1');
    assert.equal(proxied!.note, 'called with [REDACTED]');
    assert.equal(proxied!['[REDACTED]'], 1, 'a field named by the key is renamed, not dropped');
    assert.equal(error!.msg, 'upstream said [REDACTED]');
    assert.match(error!.stack, /^Error: \[REDACTED\]/);
    assert.equal(nested!.nested.deep[0].value, '[REDACTED]');
    assert.equal(nested!.msg, 'interpolated [REDACTED] and {"k":"[REDACTED]"}');
    assert.equal(err!.msg, 'failed with [REDACTED]');
    assert.equal(err!.err.message, 'failed with [REDACTED]');
    assert.equal(child!.bound, '[REDACTED]');
    // An object message is made text from its scrubbed fields (the key inside `text` is gone).
    assert.match(warned!.msg, /"text":"x \[REDACTED\]"/);
    assert.ok(!lines.join('\n').includes(key), 'the key is in a line');
  });
});

for (const adapter of ADAPTERS) {
  describe(`a user's stored key and other users' log lines (${adapter})`, () => {
    let app: RunningApp;
    const sink = lineSink();
    before(async () => {
      app = await startTestApp(
        adapter,
        {
          session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
          vault: { keys: [vaultKey('k1')] },
          credentials: { server: new ServerKeyProvider({ keys: [SERVER_KEY] }) },
          proxy: { services: { server: upstreamService(upstream.url, 'server') } },
          logRequests: true,
        },
        { setup: (a) => a.useLogger(new KeywardLogger(createRedactingLogger({ destination: sink.destination }))) },
      );
    });
    after(async () => {
      await app?.close();
      Logger.overrideLogger(false);
    });

    it('regression 23.1: log fragments are refused as keys over HTTP (400 KW_INVALID_ARGUMENT, nothing stored, nothing registered)', async () => {
      const mallory = new PageClient(app.url);
      assert.equal((await mallory.post('/login', { user: `mallory-${adapter}` })).status, 200);
      for (const fragment of LOG_FRAGMENTS) {
        const r = await mallory.put('/keys/byok', { key: fragment });
        assert.equal(r.status, 400, `${JSON.stringify(fragment)}: ${r.status}`);
        assert.equal(r.body.code, 'KW_INVALID_ARGUMENT');
        assert.ok(!r.text.includes(fragment), 'the refusal echoes the value');
        if (fragment.length >= 8) assert.equal(liveSecrets.scrub(`x ${fragment} x`), `x ${fragment} x`, `${fragment} was registered`);
      }
      assert.deepEqual((await mallory.get('/keys')).body, []);
    });

    it('regression 23.1: with a valid key stored, other users\' request lines and reuse alerts stay valid JSON with every field; the key itself is still redacted', async () => {
      const mallory = new PageClient(app.url);
      assert.equal((await mallory.post('/login', { user: `mallory2-${adapter}` })).status, 200);
      const key = REAL_KEYS['sk-live- (32 base62)']!();
      assert.equal((await mallory.put('/keys/byok', { key })).status, 204);
      const from = sink.lines.length;
      const alice = new AppClient(app.url);
      assert.equal((await alice.post('/login', { user: `alice-${adapter}` })).status, 200);
      assert.equal((await alice.get('/healthz')).status, 200);
      const page = new PageClient(app.url);
      page.jar.set('sid', alice.jar.get('sid')!);
      assert.equal((await page.get('/api/proxy/server/echo')).status, 200);
      app.app.get(KeywardEvents).emit({ event: 'session.ended', reason: 'reuse', severity: 'critical', sessionRef: 'AbCdEf0123456789' });
      new Logger('App').log(`a user pasted ${key} into a form`);
      const records = parsed(sink.lines.slice(from));
      const request = records.find((r) => r.context === 'KeywardHttp' && String(r.msg).startsWith('GET /healthz 200'));
      assert.ok(request, `no request line: ${sink.lines.slice(from).join('\n')}`);
      const proxied = records.find((r) => r.context === 'KeywardProxy');
      assert.ok(proxied, 'no proxied call line');
      for (const field of ['msg', 'service', 'method', 'path', 'status', 'ms', 'requestId', 'outcome']) assert.ok(field in proxied, `the proxied call line lost ${field}`);
      assert.equal(proxied.path, '/api/proxy/server/echo');
      const reuse = records.find((r) => r.event === 'session.ended');
      assert.ok(reuse);
      assert.equal(reuse.reason, 'reuse');
      assert.equal(reuse.severity, 'critical');
      assert.equal(reuse.context, 'KeywardEvents');
      const pasted = records.find((r) => r.context === 'App');
      assert.equal(pasted?.msg, 'a user pasted [REDACTED] into a form');
      assert.ok(!sink.lines.join('\n').includes(key), 'the key is in a line');
      assert.equal((await mallory.delete('/keys/byok')).status, 204);
    });
  });
}
