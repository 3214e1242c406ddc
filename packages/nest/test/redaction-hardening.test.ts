/**
 * Security review, issue 13 (points 1, 2, 14, 18): the live-secret registry, user keys,
 * server and minted keys, and the stdout/stderr scrubber, attacked with real components
 * (real Redis, real HTTP on both adapters, a real child process for stdio).
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Inject, Param, Put } from '@nestjs/common';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CurrentSession, KeyBodyLimit, KeyRing, RedisStore, RequestSession, Secret, ServerKeyProvider, Vault, liveSecrets, type KeyIssuer, type StoredSession } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { RedisServer, redisSuite } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';

let redis: RedisServer;
redisSuite('kw-redaction-hardening-', (server) => (redis = server));

const SERVER_KEY = secret();
const ADMIN = secret();
let upstream: UpstreamHandle;
upstreamSuite({ serverKeys: [{ id: 'server-1', key: SERVER_KEY }], adminToken: ADMIN }, (u) => (upstream = u));

const tag = (): string => randomBytes(6).toString('hex');

/** An app's own key route, as a user of the library writes it, with the library's body limit. */
@Controller('my-keys')
@KeyBodyLimit()
class MyKeysController {
  constructor(@Inject(Vault) private readonly vault: Vault) {}

  @Put(':service')
  @HttpCode(204)
  async put(@CurrentSession() session: RequestSession, @Param('service') service: string, @Body() body: { key?: unknown } | undefined) {
    await this.vault.putUser(session.user!.id, service, body?.key as string);
  }
}
const scrubbed = (text: string): boolean => liveSecrets.scrub(text) !== text;

for (const adapter of ADAPTERS) {
  describe(`user keys and the redaction registry over HTTP (${adapter}, Redis store)`, () => {
    let bff: RunningApp;
    let page: PageClient;
    const stores: RedisStore[] = [];

    before(async () => {
      const store = new RedisStore({ url: redis.url, prefix: `kwrh-${adapter}-${tag()}:` });
      stores.push(store);
      bff = await startTestApp(adapter, bffOptions({ store, upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer: new HttpKeyIssuer(upstream.url, ADMIN) }), { controllers: [MyKeysController] });
      page = new PageClient(bff.url);
      assert.equal((await page.post('/login', { user: `mallory-${adapter}` })).status, 200);
    });
    after(async () => {
      await bff?.close();
    });

    it('regression 13.1: a refused key is not registered, so it cannot make log text (a route name) vanish', async () => {
      // Leading whitespace is refused; before the fix the value was registered first.
      const routeText = ` /healthz 200 ${tag()}`;
      const r = await page.put('/keys/byok', { key: routeText });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.code, 'KW_INVALID_ARGUMENT');
      assert.ok(!scrubbed(`GET${routeText}`), 'a refused value was registered as a live secret');
      for (const bad of [`has space-${tag()}-${tag()}`, `tab\t${tag()}${tag()}`, `${'x'.repeat(9000)}${tag()}`, `nul\u0000${tag()}${tag()}`]) {
        assert.equal((await page.put('/keys/byok', { key: bad })).status, 400);
        assert.ok(!scrubbed(bad), 'a refused value was registered');
      }
    });

    it('regression 13.1: a replaced or deleted user key leaves the registry', async () => {
      const a = `sk_user_a_${randomBytes(18).toString('base64url')}`;
      const b = `sk_user_b_${randomBytes(18).toString('base64url')}`;
      assert.equal((await page.put('/keys/byok', { key: a })).status, 204);
      assert.ok(scrubbed(a), 'a stored key is scrubbed');
      assert.equal((await page.put('/keys/byok', { key: b })).status, 204);
      assert.ok(scrubbed(b), 'the new key is scrubbed');
      assert.ok(!scrubbed(a), 'the replaced key is still registered');
      assert.equal((await page.delete('/keys/byok')).status, 204);
      assert.ok(!scrubbed(b), 'the deleted key is still registered');
    });

    it('regression 13.1: repeated large refused submissions leave the registry as it was', async () => {
      const before = liveSecrets.size;
      for (let i = 0; i < 20; i++) {
        const r = await page.put('/keys/byok', { key: ` ${randomBytes(45_000).toString('hex')}` });
        assert.ok([400, 413].includes(r.status), `${r.status}`);
      }
      assert.equal(liveSecrets.size, before, 'refused submissions grew the registry');
    });

    it('regression 13.1: @KeyBodyLimit() on an app\'s own key route refuses a body over 4 KiB with 413 KW_BODY_TOO_LARGE (declared or chunked)', async () => {
      const key = `sk_mine_${randomBytes(18).toString('base64url')}`;
      const big = JSON.stringify({ key, pad: 'p'.repeat(5000) });
      const r = await page.put('/my-keys/byok', big);
      assert.equal(r.status, 413, r.text);
      assert.equal(r.body.code, 'KW_BODY_TOO_LARGE');
      assert.ok(!r.text.includes(key));
      // Chunked: no Content-Length, the size is taken from the body itself.
      const chunked = await fetch(`${bff.url}/my-keys/byok`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-csrf': '1', origin: bff.url, cookie: page.cookieHeader },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(big.slice(0, 100)));
            c.enqueue(new TextEncoder().encode(big.slice(100)));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(chunked.status, 413);
      assert.equal(((await chunked.json()) as { code: string }).code, 'KW_BODY_TOO_LARGE');
      assert.ok(!scrubbed(key), 'a refused body registered its key');
      assert.deepEqual((await page.get('/keys')).body, [], 'an oversized request stored a key');
      assert.equal((await page.put('/my-keys/byok', { key })).status, 204, 'a normal key request passes');
      assert.ok(scrubbed(key));
      assert.equal((await page.delete('/keys/byok')).status, 204);
    });

    it('regression 13.2: a user key too short to scrub is refused with 400 KW_INVALID_ARGUMENT (never stored, never echoed raw)', async () => {
      for (const short of ['k3y', 'abc1234', `s${tag().slice(0, 6)}`]) {
        const r = await page.put('/keys/byok', { key: short });
        assert.equal(r.status, 400, `${short.length} characters: ${r.status}`);
        assert.equal(r.body.code, 'KW_INVALID_ARGUMENT');
        assert.match(r.body.error, /at least \d+ characters/);
        assert.ok(!r.text.includes(short));
      }
      const list = await page.get('/keys');
      assert.deepEqual(list.body, []);
    });
  });
}

describe('server and minted keys too short to scrub', () => {
  it('regression 13.2: ServerKeyProvider refuses a key under the scrub minimum at startup, naming the source, never the value', () => {
    const short = 'k7!x9Q';
    for (const build of [() => new ServerKeyProvider({ keys: [secret(), short] }), () => {
      process.env.KW_TEST_SHORT_KEY = `${secret()},${short}`;
      return new ServerKeyProvider({ env: 'KW_TEST_SHORT_KEY' });
    }]) {
      assert.throws(build, (e: Error) => {
        assert.ok(e instanceof TypeError, e.name);
        assert.match(e.message, /ServerKeyProvider/);
        assert.match(e.message, /at least 8 characters/);
        assert.ok(!e.message.includes(short), 'the key is in the message');
        return true;
      });
    }
    delete process.env.KW_TEST_SHORT_KEY;
  });

  for (const adapter of ADAPTERS) {
    it(`regression 13.2: a minted key under the scrub minimum is refused (503), revoked, and never sent (${adapter})`, async () => {
      const real = new HttpKeyIssuer(upstream.url, ADMIN);
      const sent: string[] = [];
      const revoked: string[] = [];
      /** The real issuer, but its keys come back cut to 6 characters. */
      const shortIssuer: KeyIssuer = {
        async mint(req) {
          const k = await real.mint(req);
          sent.push(k.id);
          return { id: k.id, key: k.key.slice(0, 6) };
        },
        async revoke(id) {
          revoked.push(id);
          await real.revoke(id);
        },
      };
      const store = new RedisStore({ url: redis.url, prefix: `kwrh-mint-${adapter}-${tag()}:` });
      const bff = await startTestApp(adapter, bffOptions({ store, upstreamUrl: upstream.url, serverKeys: [SERVER_KEY], issuer: shortIssuer }));
      try {
        const page = new PageClient(bff.url);
        assert.equal((await page.post('/login', { user: 'minty' })).status, 200);
        const r = await page.get('/api/proxy/minted/echo?reflect=1');
        assert.equal(r.status, 503, r.text);
        assert.equal(r.body.code, 'KW_CREDENTIAL_UNAVAILABLE');
        assert.ok(sent.length >= 1);
        for (const id of sent) assert.ok(revoked.includes(id), 'a too-short minted key was not revoked');
      } finally {
        await bff.close();
        await real.close();
      }
    });
  }
});

describe('one user cannot push other secrets out of the registry (issue 14)', () => {
  async function newSession(store: RedisStore, userId: string): Promise<StoredSession> {
    const now = Date.now();
    const key = randomBytes(32).toString('base64url');
    const record: StoredSession = { key, handle: key.slice(0, 22), userId, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 7_200_000, version: 1, data: {} };
    await store.create(record);
    return record;
  }

  it('regression 14: values a session stores are bounded per session and push no other session\'s value out', async () => {
    const store = new RedisStore({ url: redis.url, prefix: `kwrh-sess-${tag()}:` });
    try {
      const vault = new Vault(new KeyRing(new Map([['k1', randomBytes(32)]])), store);
      const victim = await newSession(store, 'victim');
      const victimValue = `session_value_${randomBytes(24).toString('base64url')}`;
      await vault.putSession(victim, 'openai', victimValue);
      const attacker = await newSession(store, 'mallory');
      let refused = 0;
      for (let i = 0; i < 40; i++) {
        await vault.putSession(attacker, `n${i}`, `${i}_${randomBytes(3000).toString('hex')}`).catch((e: { code?: string }) => {
          assert.equal(e.code, 'KW_KEY_LIMIT');
          refused++;
        });
      }
      assert.ok(refused > 0, 'one session stored 40 large values');
      for (let i = 0; i < 2000; i++) await vault.putSession(attacker, 'n0', `replaced_${i}_${randomBytes(12).toString('base64url')}`);
      assert.ok(scrubbed(`x ${victimValue} y`), "another session's value was evicted");
      await vault.removeSession(victim, 'openai');
      assert.ok(!scrubbed(victimValue), 'a removed session value stays registered');
    } finally {
      await store.close();
    }
  });

  it('regression 14: 20,001 stored and refused values of one user evict no one else\'s live key', async () => {
    const store = new RedisStore({ url: redis.url, prefix: `kwrh-evict-${tag()}:` });
    try {
      const vault = new Vault(new KeyRing(new Map([['k1', randomBytes(32)]])), store);
      const configSecret = `config_${randomBytes(24).toString('base64url')}`;
      liveSecrets.add(configSecret, { pinned: true });
      const bobKey = `sk_bob_${randomBytes(24).toString('base64url')}`;
      await vault.putUser('bob', 'byok', bobKey);
      const minted = new Secret(`dk_live_${randomBytes(24).toString('base64url')}`); // another session's live key
      for (let i = 0; i < 20_001; i++) {
        const value = `mallory_${i}_${randomBytes(12).toString('base64url')}`;
        if (i % 2 === 0) await vault.putUser('mallory', 'byok', value).catch(() => undefined);
        else await vault.putUser('mallory', 'byok', ` ${value}`).catch(() => undefined);
      }
      assert.ok(scrubbed(`config: ${configSecret}`), 'a configuration secret was evicted');
      assert.ok(scrubbed(`user key: ${bobKey}`), "another user's stored key was evicted");
      assert.ok(scrubbed(`minted: ${minted.reveal()}`), "another session's minted key was evicted");
    } finally {
      await store.close();
    }
  });
});

// ----- stdout / stderr (point 18) -------------------------------------------------------

const INDEX = fileURLToPath(new URL('../src/index.js', import.meta.url));

/** Runs a script in a child process (stdout is a pipe, not a TTY) with stdio redaction installed; returns its stdout. */
function runStdio(body: string): Promise<string> {
  const script = `import { installStdioRedaction, liveSecrets } from ${JSON.stringify(INDEX)};\ninstallStdioRedaction();\n${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('stdio redaction (point 18)', () => {
  it('regression 18: a secret split across two writes is still scrubbed', async () => {
    const key = `sk_split_${randomBytes(24).toString('base64url')}`;
    const out = await runStdio(`
      const key = ${JSON.stringify(key)};
      liveSecrets.add(key);
      process.stdout.write('calling upstream with ' + key.slice(0, 11));
      process.stdout.write(key.slice(11) + ' done\\n');
      process.stdout.write(Buffer.from('buffer ' + key.slice(0, 5)));
      process.stdout.write(Buffer.from(key.slice(5) + '\\n'));
      process.stdout.write('no newline at exit: ' + key.slice(0, 20));
      process.stdout.write(key.slice(20));
    `);
    assert.ok(!out.includes(key), `the key is in stdout: ${JSON.stringify(out)}`);
    for (const part of [key.slice(0, 11), key.slice(11), key.slice(5)]) assert.ok(!out.includes(part), 'a piece of the key is in stdout');
    assert.match(out, /calling upstream with \[REDACTED\] done\n/);
    assert.match(out, /buffer \[REDACTED\]\n/);
    assert.match(out, /no newline at exit: \[REDACTED\]$/);
  });

  it('regression 18: bidi overrides, C1 controls, line separators and cursor/OSC sequences are escaped', async () => {
    const out = await runStdio(`
      process.stdout.write('user=admin\\u202e\\u2066txt.exe\\u2069 ok\\n');
      process.stdout.write('forged\\u2028line\\u2029and\\u0085nel\\n');
      process.stdout.write('erase\\u001b[2K\\u001b[1Ahidden \\u009b31m c1csi\\n');
      process.stdout.write('title\\u001b]0;pwned\\u0007 link\\u001b]8;;http://evil\\u001b\\\\x\\u001b]8;;\\u001b\\\\\\n');
      process.stdout.write('cr\\rfake line\\n');
    `);
    for (const c of ['\u202e', '\u2066', '\u2069', '\u2028', '\u2029', '\u0085', '\u009b', '\u0007', '\r']) assert.ok(!out.includes(c), `raw U+${c.charCodeAt(0).toString(16)} in stdout`);
    assert.ok(!out.includes('\u001b'), `a raw ESC (non-colour sequence) in stdout: ${JSON.stringify(out)}`);
    assert.match(out, /\\u202e/);
    assert.match(out, /\\x1b\[2K/);
  });

  it('regression 18 (issue 14.4): console colours (plain SGR) survive redaction; other sequences do not', async () => {
    const out = await runStdio(`
      process.stdout.write('\\u001b[32m[Nest] 42  - \\u001b[39mready \\u001b[1m\\u001b[33m[Ctx]\\u001b[39m\\u001b[0m\\n');
      process.stdout.write('\\u001b[2J wipe\\n');
      process.stdout.write('\\u001b[38;5;3m[NestFactory] \\u001b[39m\\u001b[38;5;0mblack\\u001b[38;5;200mpink\\n');
    `);
    // Nest's context colour is a 256-colour index of the basic palette (38;5;3).
    assert.ok(out.includes('\u001b[38;5;3m[NestFactory] \u001b[39m'), `Nest's context colour was mangled: ${JSON.stringify(out)}`);
    assert.ok(!out.includes('\u001b[38;5;0m') && !out.includes('\u001b[38;5;200m'), 'only the basic palette passes a pipe');
    assert.ok(out.includes('\u001b[32m[Nest] 42  - \u001b[39mready'), `colours were mangled: ${JSON.stringify(out)}`);
    assert.ok(out.includes('\u001b[1m\u001b[33m[Ctx]\u001b[39m\u001b[0m'));
    assert.ok(!out.includes('\u001b[2J'));
    assert.ok(!out.includes('\\x1b[32m'), 'a colour turned into literal text');
  });
});
