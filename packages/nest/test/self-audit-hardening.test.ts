import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  KeywardConfigError,
  MemoryStore,
  ServerKeyProvider,
  SqliteStore,
  UserKeyProvider,
  resolveKeywardOptions,
  secretWeakness,
  type KeywardModuleOptions,
} from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { configError, problemAt } from './support/config-errors.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { selfSignedCert } from './support/tls.js';

// Regression tests for issue 13 (points 9, 15, 18) and issue 14 (startup refusals and one report).

const tmp = mkdtempSync(join(tmpdir(), 'kw-self-audit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const DEV: NodeJS.ProcessEnv = {};
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let seq = 0;
const sqlite = (): SqliteStore => new SqliteStore({ file: join(tmp, `s-${++seq}.sqlite`) });
/** Production options that pass the self-audit; `session`/`top` override parts. */
const prod = (session: Record<string, unknown> = {}, top: Record<string, unknown> = {}): unknown => ({
  production: true,
  transport: { trustProxy: 'loopback' },
  ...top,
  session: { secrets: [secret()], store: sqlite(), sweepIntervalMs: 0, ...session },
});

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const hex = (s: string | Buffer): string => Buffer.from(s).toString('hex');

// ------------------------------------------------------------------ issue 13, point 9

describe('issue 13.9: production bounds the session timeouts', () => {
  it('a 30-day idle timeout and a 400-day absolute timeout are refused, each naming its limit and why', () => {
    const err = configError(() => resolveKeywardOptions(prod({ idleTimeoutMs: 30 * DAY, absoluteTimeoutMs: 400 * DAY }), DEV));
    const idle = problemAt(err, 'session.idleTimeoutMs');
    assert.match(idle, /24 hours/);
    assert.match(idle, /86400000/);
    assert.match(idle, /OWASP/);
    const absolute = problemAt(err, 'session.absoluteTimeoutMs');
    assert.match(absolute, /30 days/);
    assert.match(absolute, /2592000000/);
    assert.match(absolute, /OWASP/);
  });

  it('the limits themselves are accepted (24 h idle, 30 days absolute); development is not bounded by them', () => {
    assert.equal(resolveKeywardOptions(prod({ idleTimeoutMs: DAY, absoluteTimeoutMs: 30 * DAY }), DEV).session.idleTimeoutMs, DAY);
    problemAt(configError(() => resolveKeywardOptions(prod({ idleTimeoutMs: DAY + 1000, absoluteTimeoutMs: 30 * DAY }), DEV)), 'session.idleTimeoutMs');
    problemAt(configError(() => resolveKeywardOptions(prod({ absoluteTimeoutMs: 30 * DAY + 1000 }), DEV)), 'session.absoluteTimeoutMs');
    const dev = resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore(), idleTimeoutMs: 30 * DAY, absoluteTimeoutMs: 400 * DAY } }, DEV);
    assert.equal(dev.session.absoluteTimeoutMs, 400 * DAY);
  });

  it('a secret that is the base64/base64url/hex of a low-entropy string is judged by its decoded bytes', () => {
    const encoded = [
      b64('changemechangemechangemechangemechangeme'),
      b64url('the quick brown fox jumps over the lazy dog'),
      b64('password1234password1234password1234'),
      hex('this is my super long session secret'),
      b64(Buffer.alloc(32)),
      hex(Buffer.alloc(32)),
      b64(Buffer.from(Array.from({ length: 32 }, (_, i) => i))),
      b64('change-this-to-a-secure-random-value'),
    ];
    for (const s of encoded) assert.ok(secretWeakness(s), `refused: ${s}`);
    const err = configError(() => resolveKeywardOptions(prod({ secrets: encoded }), DEV));
    encoded.forEach((s, i) => {
      problemAt(err, `session.secrets[${i}]`);
      assert.ok(!err.message.includes(s), 'the secret is not echoed');
    });
    assert.match(problemAt(err, 'session.secrets[7]'), /encod.*placeholder|placeholder.*encod/);
  });
});

// ------------------------------------------------------------------ issue 13, point 18

describe('issue 13.18: secrets are judged by estimated entropy, not by word lists', () => {
  it('a famous pangram and passphrases of English words are refused', () => {
    const phrases = [
      'the quick brown fox jumps over the lazy dog',
      'The quick brown fox jumps over the lazy dog!',
      'the-quick-brown-fox-jumps-over-the-lazy-dog',
      'TheQuickBrownFoxJumpsOverTheLazyDog2024',
      'correct horse battery staple correct horse',
      'correcthorsebatterystaplesecretvalue',
      'my session secret for the production server',
      'please do not use this secret in production',
      'Lorem ipsum dolor sit amet consectetur adipiscing',
    ];
    for (const s of phrases) assert.ok(secretWeakness(s), `refused: ${JSON.stringify(s)}`);
  });

  it('a random 128-bit hex secret (32 hex characters) is accepted, and so are other generated secrets (no false positive in 3,000 draws each)', () => {
    for (let i = 0; i < 3000; i++) {
      for (const s of [
        randomBytes(16).toString('hex'),
        randomBytes(16).toString('hex').toUpperCase(),
        randomBytes(32).toString('hex'),
        randomBytes(32).toString('base64url'),
        randomBytes(32).toString('base64'),
        randomBytes(24).toString('base64url'),
      ]) {
        assert.equal(secretWeakness(s), null, `${s.length} characters`);
      }
    }
  });

  it('hostile secrets and keys never crash the audit: CR/LF, unicode, huge, non-string, prototype-less', () => {
    const hostile = ['\r\n'.repeat(40), '🔑'.repeat(40), 'é'.repeat(64), `${'\u0000'.repeat(40)}`, 'x'.repeat(1_000_000), randomBytes(600_000).toString('base64url'), '='.repeat(64), '-'.repeat(64)];
    for (const s of hostile.slice(0, 5)) assert.ok(secretWeakness(s), `refused: ${JSON.stringify(s.slice(0, 12))}`);
    assert.equal(secretWeakness(hostile[5]!), null);
    const err = configError(() =>
      resolveKeywardOptions(prod({ secrets: [...hostile, 42, Object.create(null)] }, { vault: { keys: ['k1:' + 'A'.repeat(1_000_000), Object.create(null), 'k2:\r\n', `k3:${b64(Buffer.alloc(32))}`] } }), DEV),
    );
    problemAt(err, 'session.secrets[8]');
    problemAt(err, 'vault.keys[3]');
    assert.ok(err.message.length < 20_000, 'no huge value echoed');
  });

  it('the known placeholders stay refused as exact matches', () => {
    for (const s of ['change-this-to-a-secure-random-value', 'keyboard cat', 'Keyboard Cat']) assert.match(secretWeakness(s) ?? '', /placeholder/);
  });
});

// ------------------------------------------------------------------ issue 13, point 15

describe('issue 13.15: vault key-encryption keys get a strength check', () => {
  const zero = vaultKey('zero', Buffer.alloc(32));
  const shared = randomBytes(32);
  const placeholder = `ph:${b64('changemechangemechangemechangeme')}`;
  const typed = `typed:${b64('Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4do')}`;
  const sequence = vaultKey('seq', Buffer.from(Array.from({ length: 32 }, (_, i) => i)));

  it('production refuses an all-zero key, the same material under two ids, an ASCII placeholder, a typed text and a byte sequence', () => {
    const keys = [vaultKey('k3'), zero, `a:${shared.toString('base64')}`, `b:${shared.toString('base64url')}`, placeholder, typed, sequence];
    const err = configError(() => resolveKeywardOptions(prod({}, { vault: { keys } }), DEV));
    assert.match(problemAt(err, 'vault.keys[1]'), /'zero'.*(entropy|random)/);
    assert.match(problemAt(err, 'vault.keys[3]'), /'b'.*same key material as 'a' \(vault\.keys\[2\]\)/);
    assert.match(problemAt(err, 'vault.keys[4]'), /'ph'.*(placeholder|text)/);
    assert.match(problemAt(err, 'vault.keys[5]'), /'typed'.*text/);
    assert.match(problemAt(err, 'vault.keys[6]'), /'seq'/);
    assert.equal(err.problems.filter((p) => p.startsWith('vault.keys[0]') || p.startsWith('vault.keys[2]')).length, 0, err.message);
    for (const p of err.problems.filter((x) => x.startsWith('vault.keys'))) assert.match(p, /randomBytes\(32\)/, 'the fix says how to generate a key');
    for (const k of keys) assert.ok(!err.message.includes(k.slice(k.indexOf(':') + 1)), 'no key material in the message');
  });

  it('development starts with the same keys, and lists each weak key as a warning by position', () => {
    const r = resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, vault: { keys: [vaultKey('k1'), zero, placeholder] } }, DEV);
    assert.ok(r.keyRing);
    const warnings = r.warnings.join('\n');
    assert.match(warnings, /vault\.keys\[1\]/);
    assert.match(warnings, /vault\.keys\[2\]/);
    assert.doesNotMatch(warnings, /vault\.keys\[0\]/);
    assert.ok(!warnings.includes(zero.slice(5)) && !warnings.includes(placeholder.slice(3)));
  });
});

// ------------------------------------------------------------------ issue 14: one report

describe('issue 14: validation is ONE report', () => {
  it('production findings are reported together with type errors, missing values and provider problems', () => {
    delete process.env.KW_TEST_NO_SUCH_KEY;
    const err = configError(() =>
      resolveKeywardOptions(
        {
          production: true,
          transport: { trustProxy: 'loopback' },
          session: { secrets: ['keyboard cat'], store: sqlite(), idleTimeout: 60_000, absoluteTimeoutMs: null },
          vault: { keys: [vaultKey('k1', Buffer.alloc(32))] },
          credentials: { openai: new ServerKeyProvider({ env: 'KW_TEST_NO_SUCH_KEY' }), mine: new UserKeyProvider() },
        },
        DEV,
      ),
    );
    assert.match(problemAt(err, 'session.idleTimeout'), /Did you mean `session\.idleTimeoutMs`/);
    assert.match(problemAt(err, 'session.secrets[0]'), /placeholder/);
    assert.match(problemAt(err, 'session.absoluteTimeoutMs'), /null/);
    assert.match(problemAt(err, 'vault.keys[0]'), /'k1'/);
    assert.match(problemAt(err, 'credentials.openai'), /KW_TEST_NO_SUCH_KEY/);
    assert.equal(err.problems.length, 5, err.message);
  });

  it('a provider whose key source is empty does not throw at construction; its problem is in the report', () => {
    const p = new ServerKeyProvider({ keys: [] });
    const err = configError(() => resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, vault: { keys: [vaultKey('k1')] }, credentials: { server: p } }, DEV));
    assert.match(problemAt(err, 'credentials.server'), /no key/);
  });

  it('a wrong-typed store is "expected a SessionStore (got ...)", not "required"; its content is never shown', () => {
    const url = 'redis://:hunter2@cache.internal:6379';
    const cases: Array<[unknown, RegExp]> = [
      [url, /expected a SessionStore.*got a string/],
      [42, /expected a SessionStore.*got 42/],
      [{ url }, /expected a SessionStore.*new RedisStore\(\{ url \}\)/],
      [{ file: '/tmp/x.sqlite' }, /expected a SessionStore.*new SqliteStore\(\{ file \}\)/],
      [{}, /expected a SessionStore.*got an object without any SessionStore method/],
      [RegExp, /expected a SessionStore.*a class.*new /],
    ];
    for (const [store, expected] of cases) {
      const p = problemAt(configError(() => resolveKeywardOptions({ session: { secrets: [secret()], store } }, DEV)), 'session.store');
      assert.match(p, expected);
      assert.doesNotMatch(p, /required/);
      assert.ok(!p.includes('hunter2'), p);
    }
    assert.match(problemAt(configError(() => resolveKeywardOptions({ session: { secrets: [secret()] } }, DEV)), 'session.store'), /required/);
  });

  it('transport option typos get a "did you mean"', () => {
    const err = configError(() => resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, transport: { trustproxy: 'loopback' } }, DEV));
    assert.match(problemAt(err, 'transport.trustproxy'), /Did you mean `transport\.trustProxy`/);
  });

  it('development lists each weak secret by position as a warning, never the secret', () => {
    const weak = ['keyboard cat', 'the quick brown fox jumps over the lazy dog'];
    const r = resolveKeywardOptions({ session: { secrets: [secret(), ...weak], store: new MemoryStore() } }, DEV);
    const text = r.warnings.join('\n');
    assert.match(text, /session\.secrets\[1\]/);
    assert.match(text, /session\.secrets\[2\]/);
    assert.doesNotMatch(text, /session\.secrets\[0\]/);
    for (const w of weak) assert.ok(!text.includes(w));
  });
});

// ------------------------------------------------------------------ issue 14: plain HTTP in production

let cert: Buffer;
let key: Buffer;
before(() => {
  ({ cert, key } = selfSignedCert(tmp));
});

function productionApp(transport: Record<string, unknown> | undefined, top: Record<string, unknown> = {}): KeywardModuleOptions {
  return { production: true, session: { secrets: [secret()], store: sqlite(), sweepIntervalMs: 0 }, ...(transport ? { transport } : {}), ...top } as KeywardModuleOptions;
}

for (const adapter of ADAPTERS) {
  describe(`issue 14: production over plain HTTP without trustProxy on ${adapter}`, () => {
    const apps: RunningApp[] = [];
    after(async () => {
      for (const a of apps) await a.close();
    });

    it('refuses at startup, naming transport.trustProxy, HTTPS and the escape', async () => {
      for (const transport of [undefined, { trustProxy: false }, { trustProxy: [] }]) {
        await assert.rejects(startTestApp(adapter, productionApp(transport)), (e: unknown) => {
          assert.ok(e instanceof KeywardConfigError, String(e));
          assert.equal(e.code, 'KW_INSECURE_PRODUCTION');
          const p = problemAt(e, 'transport.trustProxy');
          assert.match(p, /403/);
          assert.match(p, /'loopback'/);
          assert.match(p, /httpsOptions/);
          assert.match(p, /transport\.httpsServedElsewhere: true/);
          return true;
        });
      }
    });

    it('starts when serving HTTPS itself, behind a trusted proxy, or with the explicit escape', async () => {
      apps.push(await startTestApp(adapter, productionApp(undefined), { https: { key, cert } }));
      apps.push(await startTestApp(adapter, productionApp({ trustProxy: 'loopback' })));
      apps.push(await startTestApp(adapter, productionApp({ trustProxy: ['10.0.0.7'] })));
      apps.push(await startTestApp(adapter, productionApp({ httpsServedElsewhere: true })));
    });

    it('development logs each weak secret at startup through the Nest logger, never the secret', async () => {
      const weak = 'keyboard cat';
      const app = await startTestApp(adapter, { session: { secrets: [secret(), weak], store: new MemoryStore(), sweepIntervalMs: 0 } });
      apps.push(app);
      const warn = app.logger.lines.filter((l) => l.startsWith('warn') && l.includes('session.secrets[1]'));
      assert.equal(warn.length, 1, app.logger.text);
      assert.ok(!app.logger.text.includes(weak));
    });
  });
}
