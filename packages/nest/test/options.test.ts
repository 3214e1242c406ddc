import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import {
  AllowAnonymous,
  CurrentSession,
  KeywardConfigError,
  KeywardModule,
  MemoryStore,
  RequestSession,
  SqliteStore,
  resolveKeywardOptions,
  secretWeakness,
  type KeywardModuleOptions,
} from '../src/index.js';
import { AppClient } from './support/clients.js';
import { configError, problemAt } from './support/config-errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-options-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const DEV: NodeJS.ProcessEnv = {};
const PROD_ENV: NodeJS.ProcessEnv = { NODE_ENV: 'production' };
const strongSecret = (): string => randomBytes(32).toString('base64url');
const sqlite = (): SqliteStore => new SqliteStore({ file: join(tmp, `${randomBytes(4).toString('hex')}.sqlite`) });

const base = (session: Record<string, unknown> = {}, top: Record<string, unknown> = {}): unknown => ({
  ...top,
  session: { secrets: [strongSecret()], store: new MemoryStore(), ...session },
});

describe('resolveKeywardOptions: defaults', () => {
  it('development: plain-HTTP cookie `sid`, strict, path /, 30 min idle, 12 h absolute, 1 min touch', () => {
    const r = resolveKeywardOptions(base(), DEV);
    assert.equal(r.production, false);
    assert.deepEqual(r.session.cookie, { name: 'sid', secure: false, sameSite: 'strict', path: '/', domain: undefined });
    assert.equal(r.session.idleTimeoutMs, 30 * 60_000);
    assert.equal(r.session.absoluteTimeoutMs, 12 * 3_600_000);
    assert.equal(r.session.touchIntervalMs, 60_000);
    assert.equal(r.session.requireByDefault, true);
  });

  it('production: __Host-sid, Secure; a narrower path gets __Secure-sid', () => {
    const r = resolveKeywardOptions({ session: { secrets: [strongSecret()], store: sqlite() } }, PROD_ENV);
    assert.equal(r.production, true);
    assert.equal(r.session.cookie.name, '__Host-sid');
    assert.equal(r.session.cookie.secure, true);
    const narrow = resolveKeywardOptions({ session: { secrets: [strongSecret()], store: sqlite(), cookie: { path: '/api' } } }, PROD_ENV);
    assert.equal(narrow.session.cookie.name, '__Secure-sid');
    assert.equal(narrow.session.cookie.path, '/api');
  });

  it('the default touch interval never reaches the idle timeout', () => {
    const r = resolveKeywardOptions(base({ idleTimeoutMs: 5_000 }), DEV);
    assert.ok(r.session.touchIntervalMs < 5_000);
    assert.equal(r.session.touchIntervalMs, 500);
  });

  it('accepts options objects without a prototype (Object.create(null)) at every level', () => {
    const cookie = Object.assign(Object.create(null), { sameSite: 'lax', path: '/' });
    const session = Object.assign(Object.create(null), { secrets: [strongSecret()], store: new MemoryStore(), cookie, idleTimeoutMs: 60_000 });
    const options = Object.assign(Object.create(null), { session, production: false });
    const r = resolveKeywardOptions(options, DEV);
    assert.equal(r.session.cookie.sameSite, 'lax');
    assert.equal(r.session.idleTimeoutMs, 60_000);

    const bad = Object.assign(Object.create(null), { session, sesion: {} });
    assert.match(problemAt(configError(() => resolveKeywardOptions(bad, DEV)), 'sesion'), /Did you mean `session`/);
  });
});

describe('resolveKeywardOptions: every problem at once', () => {
  it('reports all 15 problems of one options object in one error, numbered', () => {
    const err = configError(() =>
      resolveKeywardOptions(
        {
          demoUser: true, // 1
          production: 'yes', // 2
          session: {
            secrets: [strongSecret(), ''], // 3
            store: { load() {} }, // 4
            idleTimeout: 1000, // 5
            absoluteTimeoutMs: Number.NaN, // 6
            touchIntervalMs: -1, // 7
            sweepIntervalMs: '60000', // 8
            requireByDefault: 'no', // 9
            clock: {}, // 10
            cookie: { maxage: 1000, sameSite: 'Strict', path: 'api', domain: 'exa mple.com', name: 'bad name' }, // 11-15
          },
        },
        DEV,
      ),
    );
    assert.equal(err.problems.length, 15, err.message);
    assert.equal(err.code, 'KW_CONFIG_INVALID');
    assert.match(err.message, /^Invalid Keyward options: 15 problem\(s\)\./);
    for (let i = 1; i <= 15; i++) assert.ok(err.message.includes(`\n  ${i}. `), `problem ${i} numbered`);
    const paths = ['demoUser', 'production', 'session.secrets[1]', 'session.store', 'session.idleTimeout', 'session.absoluteTimeoutMs',
      'session.touchIntervalMs', 'session.sweepIntervalMs', 'session.requireByDefault', 'session.clock', 'session.cookie.maxage',
      'session.cookie.sameSite', 'session.cookie.path', 'session.cookie.domain', 'session.cookie.name'];
    for (const p of paths) problemAt(err, p);
  });

  it('a store missing interface methods is refused at startup, naming each missing method', () => {
    const partial = { create() {}, load() {}, patch() {}, take() {}, listByUser() {}, expiredKeys() {}, ping() {}, close() {} };
    const p = problemAt(configError(() => resolveKeywardOptions(base({ store: partial }), DEV)), 'session.store');
    for (const m of ['acquireLease', 'getUserEntries', 'setUserEntry', 'deleteUserEntry', 'setIfAbsent']) assert.ok(p.includes(m), `${m} in: ${p}`);
  });

  it('a missing session, a non-object, or no options at all are configuration errors, never crashes', () => {
    for (const raw of [undefined, null, 42, 'x', [], true, () => ({})]) {
      const err = configError(() => resolveKeywardOptions(raw, DEV));
      assert.equal(err.problems.length, 1);
    }
    const err = configError(() => resolveKeywardOptions({}, DEV));
    assert.match(problemAt(err, 'session'), /expected an object with `secrets` and `store`/);
    const noStore = configError(() => resolveKeywardOptions({ session: { secrets: [strongSecret()] } }, DEV));
    assert.match(problemAt(noStore, 'session.store'), /RedisStore|SqliteStore/);
  });

  it('a JSON-sourced `__proto__` key is an unknown option, not a way to set defaults', () => {
    const json = JSON.parse(`{"__proto__": {"production": false}, "session": {"secrets": ["${strongSecret()}"]}}`) as Record<string, unknown>;
    (json.session as Record<string, unknown>).store = new MemoryStore();
    problemAt(configError(() => resolveKeywardOptions(json, DEV)), '__proto__');
  });
});

describe('resolveKeywardOptions: did you mean', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['top-level typo `sesion`', { sesion: { secrets: [strongSecret()], store: new MemoryStore() } }, 'sesion', /Did you mean `session`\?/],
    ['`session.idleTimeout`', base({ idleTimeout: 60_000 }), 'session.idleTimeout', /Did you mean `session\.idleTimeoutMs`\?/],
    ['`session.absoluteTimeout`', base({ absoluteTimeout: 60_000 }), 'session.absoluteTimeout', /Did you mean `session\.absoluteTimeoutMs`\?/],
    ['`session.secret` (express-session)', base({ secret: 'x' }), 'session.secret', /session\.secrets/],
    ["`sameSite: 'Strict'`", base({ cookie: { sameSite: 'Strict' } }), 'session.cookie.sameSite', /Did you mean 'strict'\?/],
    ["`sameSite: 'LAX'`", base({ cookie: { sameSite: 'LAX' } }), 'session.cookie.sameSite', /Did you mean 'lax'\?/],
    ['cookie `maxage`', base({ cookie: { maxage: 60_000 } }), 'session.cookie.maxage', /session\.idleTimeoutMs/],
    ['cookie `maxAge`', base({ cookie: { maxAge: 60_000 } }), 'session.cookie.maxAge', /session\.idleTimeoutMs/],
    ['cookie `expires`', base({ cookie: { expires: new Date() } }), 'session.cookie.expires', /session\.idleTimeoutMs/],
    ['cookie `httpOnly`', base({ cookie: { httpOnly: false } }), 'session.cookie.httpOnly', /always HttpOnly/],
    ['cookie `secur`', base({ cookie: { secur: true } }), 'session.cookie.secur', /Did you mean `session\.cookie\.secure`\?/],
    ['cookie option one level up', base({ secure: true }), 'session.secure', /session\.cookie\.secure/],
    ['top-level `secret`', { ...(base() as object), secret: 'x' }, 'secret', /session\.secrets/],
    ['top-level `resave`', { ...(base() as object), resave: false }, 'resave', /Not needed/],
  ];
  for (const [name, raw, path, hint] of cases) {
    it(name, () => {
      assert.match(problemAt(configError(() => resolveKeywardOptions(raw, DEV)), path), hint);
    });
  }

  it('a name far from every option lists the supported ones instead of guessing', () => {
    const p = problemAt(configError(() => resolveKeywardOptions(base({ cookie: { zzzzzzzz: 1 } }), DEV)), 'session.cookie.zzzzzzzz');
    assert.doesNotMatch(p, /Did you mean/);
    assert.match(p, /Supported: name, secure, sameSite, path, domain/);
  });
});

describe('resolveKeywardOptions: cookie rules', () => {
  it('__Host- with a narrow path is an error that names __Host- and the fix', () => {
    const p = problemAt(configError(() => resolveKeywardOptions(base({ cookie: { name: '__Host-sid', secure: true, path: '/api' } }), DEV)), 'session.cookie.path');
    assert.match(p, /__Host-/);
    assert.match(p, /Path=\//);
    assert.match(p, /__Secure-sid/);
  });

  it('__Host- with secure: false is an error', () => {
    assert.match(problemAt(configError(() => resolveKeywardOptions(base({ cookie: { name: '__Host-sid', secure: false } }), DEV)), 'session.cookie.name'), /__Host-.*secure: true/);
  });

  it('__Host- with a domain is an error; __Secure- without secure is an error', () => {
    assert.match(problemAt(configError(() => resolveKeywardOptions(base({ cookie: { name: '__Host-sid', secure: true, domain: 'example.com' } }), DEV)), 'session.cookie.domain'), /__Host-/);
    assert.match(problemAt(configError(() => resolveKeywardOptions(base({ cookie: { name: '__Secure-sid', secure: false } }), DEV)), 'session.cookie.name'), /__Secure-/);
  });

  it("sameSite 'none' without secure is an error; with secure it is allowed outside production", () => {
    assert.match(problemAt(configError(() => resolveKeywardOptions(base({ cookie: { sameSite: 'none' } }), DEV)), 'session.cookie.sameSite'), /secure: true/);
    assert.equal(resolveKeywardOptions(base({ cookie: { sameSite: 'none', secure: true } }), DEV).session.cookie.sameSite, 'none');
  });

  it('hostile cookie names, paths and domains are refused (CR/LF, ;, unicode, spaces)', () => {
    const hostile: Array<[string, Record<string, unknown>]> = [
      ['session.cookie.name', { name: 'sid\r\nSet-Cookie: x=1' }],
      ['session.cookie.name', { name: 'sïd' }],
      ['session.cookie.name', { name: 's;id' }],
      ['session.cookie.name', { name: '' }],
      ['session.cookie.name', { name: 'x'.repeat(65) }],
      ['session.cookie.path', { path: '/api; Domain=evil.com' }],
      ['session.cookie.path', { path: '/ä' }],
      ['session.cookie.path', { path: '/a\nb' }],
      ['session.cookie.domain', { domain: 'evil.com; Secure' }],
      ['session.cookie.domain', { domain: 'exämple.com' }],
    ];
    for (const [path, cookie] of hostile) problemAt(configError(() => resolveKeywardOptions(base({ cookie }), DEV)), path);
  });
});

describe('resolveKeywardOptions: durations', () => {
  it('idle longer than absolute is an error naming both', () => {
    const p = problemAt(configError(() => resolveKeywardOptions(base({ idleTimeoutMs: 2 * 3_600_000, absoluteTimeoutMs: 3_600_000 }), DEV)), 'session.idleTimeoutMs');
    assert.match(p, /absoluteTimeoutMs/);
  });

  it('a touch interval not shorter than the idle timeout is an error', () => {
    problemAt(configError(() => resolveKeywardOptions(base({ idleTimeoutMs: 60_000, touchIntervalMs: 60_000 }), DEV)), 'session.touchIntervalMs');
  });

  it('NaN, Infinity, negatives, fractions, BigInt, strings, booleans, objects and out-of-range values are refused, each reported', () => {
    const bad: unknown[] = [Number.NaN, Infinity, -Infinity, -1, -0, 1.5, 10n, 1_000_000n, '60000', '', true, {}, [], [60_000], 1e20, Number.MAX_SAFE_INTEGER + 2];
    for (const field of ['idleTimeoutMs', 'absoluteTimeoutMs', 'touchIntervalMs', 'sweepIntervalMs']) {
      for (const value of bad) {
        if (field === 'touchIntervalMs' && Object.is(value, -0)) continue; // 0 (and -0) is a valid touch interval
        if (field === 'sweepIntervalMs' && Object.is(value, -0)) continue; // 0 disables the sweeper
        const err = configError(() => resolveKeywardOptions(base({ [field]: value }), DEV));
        const p = problemAt(err, `session.${field}`);
        assert.match(p, /expected an integer number of milliseconds/, `${field}=${String(value)}`);
      }
    }
    assert.match(problemAt(configError(() => resolveKeywardOptions(base({ idleTimeoutMs: 10n }), DEV)), 'session.idleTimeoutMs'), /got 10n/);
    assert.match(problemAt(configError(() => resolveKeywardOptions(base({ idleTimeoutMs: 999 }), DEV)), 'session.idleTimeoutMs'), /between 1000 and/);
    assert.match(problemAt(configError(() => resolveKeywardOptions(base({ idleTimeoutMs: 31 * 86_400_000 }), DEV)), 'session.idleTimeoutMs'), /between 1000 and/);
  });

  it('absoluteTimeoutMs: null disables the absolute timeout outside production', () => {
    assert.equal(resolveKeywardOptions(base({ absoluteTimeoutMs: null }), DEV).session.absoluteTimeoutMs, null);
  });
});

describe('production self-audit', () => {
  const weakSecrets = {
    short: 'only-20-bytes-long!!',
    placeholder: 'change-this-to-a-secure-random-value',
    keyboardCat: 'keyboard cat',
    mySecret: 'my-secret',
    lowEntropy: 'a'.repeat(64),
  };

  it('refuses every insecure setting in ONE error, each with its fix, and never prints a secret', () => {
    const err = configError(() =>
      resolveKeywardOptions(
        {
          production: true,
          demoUsers: true,
          session: {
            store: new MemoryStore(),
            secrets: Object.values(weakSecrets),
            cookie: { secure: false }, // so the name defaults to the unprefixed `sid`
            absoluteTimeoutMs: null,
          },
        },
        DEV,
      ),
    );
    assert.equal(err.code, 'KW_INSECURE_PRODUCTION');
    assert.match(err.message, /^Keyward refuses to start in production: 10 insecure setting\(s\)\./);
    assert.equal(err.problems.length, 10, err.message);
    assert.match(problemAt(err, 'session.store'), /memory.*Use RedisStore/);
    assert.match(problemAt(err, 'session.cookie.secure'), /must be true in production/);
    assert.match(problemAt(err, 'session.cookie.name'), /"sid".*__Host-/);
    assert.match(problemAt(err, 'session.secrets[0]'), /20 bytes long/);
    assert.match(problemAt(err, 'session.secrets[1]'), /placeholder/);
    assert.match(problemAt(err, 'session.secrets[2]'), /placeholder/);
    assert.match(problemAt(err, 'session.secrets[3]'), /placeholder/);
    assert.match(problemAt(err, 'session.secrets[4]'), /entropy/);
    assert.match(problemAt(err, 'session.absoluteTimeoutMs'), /null/);
    assert.match(problemAt(err, 'demoUsers'), /demo users/);
    for (const p of err.problems) assert.match(p, /\b(Use|Set|Remove|Generate|serve)\b/, `a fix is given: ${p}`);
    for (const [name, secret] of Object.entries(weakSecrets)) assert.ok(!err.message.includes(secret), `${name} secret not in the message`);
  });

  it("refuses sameSite 'none' in production", () => {
    const err = configError(() => resolveKeywardOptions({ session: { secrets: [strongSecret()], store: sqlite(), cookie: { sameSite: 'none' } } }, PROD_ENV));
    assert.match(problemAt(err, 'session.cookie.sameSite'), /'strict'/);
  });

  it('NODE_ENV=production turns the audit on by itself', () => {
    const err = configError(() => resolveKeywardOptions(base(), PROD_ENV));
    assert.equal(err.code, 'KW_INSECURE_PRODUCTION');
    problemAt(err, 'session.store');
  });

  it('production: false while NODE_ENV=production is refused', () => {
    const err = configError(() => resolveKeywardOptions({ production: false, session: { secrets: [strongSecret()], store: sqlite() } }, PROD_ENV));
    assert.match(problemAt(err, 'production'), /cannot be false while NODE_ENV=production/);
  });

  it('a strong production configuration starts', () => {
    for (const secrets of [[strongSecret()], [randomBytes(32).toString('hex'), randomBytes(32).toString('base64')]]) {
      const r = resolveKeywardOptions({ production: true, session: { secrets, store: sqlite() } }, DEV);
      assert.equal(r.production, true);
    }
  });

  it('weak secrets in disguise are refused: case, underscores, affixes, repetitions, keyboard walks', () => {
    const disguised = [
      'CHANGE_THIS_TO_A_SECURE_RANDOM_VALUE',
      'Change-This-To-A-Secure-Random-Value',
      'change-this-to-a-secure-random-value-2026',
      'prod-change-this-to-a-secure-random-value',
      '  keyboard cat  ',
      'KEYBOARD_CAT',
      'keyboard cat keyboard cat keyboard cat keyboard cat',
      '0123456789'.repeat(4),
      'abcdefghijklmnopqrstuvwxyz0123456789',
      'ab'.repeat(32),
    ];
    for (const s of disguised) assert.ok(secretWeakness(s), `refused: ${JSON.stringify(s)}`);
    const err = configError(() => resolveKeywardOptions({ production: true, session: { secrets: disguised, store: sqlite() } }, DEV));
    assert.equal(err.problems.length, disguised.length);
    for (const s of disguised) assert.ok(!err.message.includes(s.trim()), 'secret not echoed');
  });

  it('random secrets of 32 bytes are never refused (no false positives in 2,000 draws)', () => {
    for (let i = 0; i < 500; i++) {
      for (const s of [randomBytes(32).toString('base64url'), randomBytes(32).toString('hex'), randomBytes(32).toString('base64'), `prod-session-secret-${randomBytes(32).toString('base64url')}`]) {
        assert.equal(secretWeakness(s), null, s.length.toString());
      }
    }
  });
});

describe('error messages never contain a secret', () => {
  const secret = `s3cr3t-${randomBytes(24).toString('base64url')}`;
  const vaultKey = `k1:${randomBytes(32).toString('base64')}`;
  const cases: Array<[string, unknown]> = [
    ['secret passed as the whole options', secret],
    ['secret passed as `session`', { session: secret }],
    ['secret passed as `session.cookie`', { session: { secrets: [secret], store: new MemoryStore(), cookie: secret } }],
    ['secrets given as a string', { session: { secrets: secret, store: new MemoryStore() } }],
    ['the same secret twice', { session: { secrets: [secret, secret], store: new MemoryStore() } }],
    ['a secret next to a typo', { session: { secrets: [secret], store: new MemoryStore(), idleTimeout: 1 } }],
    ['express-session style top-level secret', { secret, session: { secrets: [secret], store: new MemoryStore() } }],
    ['vault keys passed as a string', { vault: vaultKey, session: { secrets: [secret], store: new MemoryStore() } }],
    ['vault keys as a string inside vault', { vault: { keys: vaultKey }, session: { secrets: [secret], store: new MemoryStore() } }],
  ];
  for (const [name, raw] of cases) {
    it(name, () => {
      const err = configError(() => resolveKeywardOptions(raw, DEV));
      assert.ok(!err.message.includes(secret) && !err.message.includes(secret.slice(0, 16)), err.message);
      assert.ok(!err.message.includes(vaultKey.slice(3, 23)), err.message);
      assert.ok(!err.problems.join('\n').includes(secret));
    });
  }

  it('production refusals of weak secrets do not print them', () => {
    const weak = 'my-secret-' + 'x'.repeat(40);
    const err = configError(() => resolveKeywardOptions({ session: { secrets: [weak, secret], store: new MemoryStore() } }, PROD_ENV));
    assert.ok(!err.message.includes(weak) && !err.message.includes(secret));
  });
});

// ------------------------------------------------------------------ forRootAsync + ConfigService

@Controller()
class AsyncAppController {
  @Post('login')
  @AllowAnonymous()
  @HttpCode(200)
  async login(@CurrentSession() session: RequestSession) {
    const info = await session.login({ id: 'cfg-user', name: 'Config User' });
    return { user: info.user };
  }

  @Get('me')
  me(@CurrentSession() session: RequestSession) {
    return { user: session.user };
  }
}

function asyncModule(env: Record<string, string>) {
  @Module({
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => env] }),
      KeywardModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        useFactory: (config: ConfigService): KeywardModuleOptions => ({
          session: {
            secrets: config.getOrThrow<string>('SESSION_SECRETS').split(','),
            store: new SqliteStore({ file: join(tmp, `async-${randomBytes(4).toString('hex')}.sqlite`) }),
            idleTimeoutMs: Number(config.get('SESSION_IDLE_MS')),
          },
        }),
      }),
    ],
    controllers: [AsyncAppController],
  })
  class AsyncAppModule {}
  return AsyncAppModule;
}

describe('KeywardModule.forRootAsync with @nestjs/config', () => {
  it('boots a Nest app from ConfigService values and serves a session', async () => {
    const app = await NestFactory.create(asyncModule({ SESSION_SECRETS: `${strongSecret()},${strongSecret()}`, SESSION_IDLE_MS: '120000' }), { logger: false, abortOnError: false });
    try {
      await app.listen(0, '127.0.0.1');
      const client = new AppClient(`http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`);
      assert.equal((await client.get('/me')).status, 401);
      const login = await client.post('/login');
      assert.equal(login.status, 200, login.text);
      assert.match(login.setCookies.join('\n'), /^sid=.*Max-Age=120;/m, 'idle timeout from ConfigService sets Max-Age');
      const me = await client.get('/me');
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, { user: { id: 'cfg-user', name: 'Config User' } });
    } finally {
      await app.close();
    }
  });

  it('invalid options from the async factory make app creation fail with KeywardConfigError', async () => {
    const secret = 'keyboard cat';
    await assert.rejects(
      NestFactory.create(asyncModule({ SESSION_SECRETS: secret, SESSION_IDLE_MS: 'soon' }), { logger: false, abortOnError: false }),
      (e: unknown) => {
        assert.ok(e instanceof KeywardConfigError, String(e));
        assert.match(problemAt(e, 'session.idleTimeoutMs'), /got NaN/);
        return true;
      },
    );
  });
});

describe('transport options are validated like the others (issue 16.4)', () => {
  const base = () => ({ session: { secrets: [randomBytes(32).toString('base64url')], store: new MemoryStore(), sweepIntervalMs: 0 } });
  const problems = (transport: unknown): string[] => {
    try {
      resolveKeywardOptions({ ...base(), transport } as never);
      return [];
    } catch (e) {
      return (e as { problems: string[] }).problems;
    }
  };

  it('regression: hsts: { maxAge: 0 } fell back silently to the default; now a "did you mean" and a clear bound', () => {
    assert.ok(problems({ hsts: { maxAge: 0 } }).some((p) => /transport\.hsts\.maxAge.*Did you mean `maxAgeSeconds`/.test(p)));
    assert.ok(problems({ hsts: { maxAgeSeconds: 0 } }).some((p) => /maxAgeSeconds: expected a positive whole number.*hsts: false/.test(p)));
    assert.ok(problems({ hsts: { preload: 'yes' } }).some((p) => /transport\.hsts\.preload: expected a boolean/.test(p)));
    assert.ok(problems({ hsts: true }).some((p) => /transport\.hsts: expected false or/.test(p)));
    assert.deepEqual(problems({ hsts: false }), []);
    assert.deepEqual(problems({ hsts: { maxAgeSeconds: 600, includeSubDomains: false } }), []);
  });

  it('unknown keys and wrong types in transport are each reported, in the one report', () => {
    const p = problems({ trustproxy: 'loopback', redirectHttp: 'yes', httpsServedElsewhere: 1 });
    assert.ok(p.some((x) => /transport\.trustproxy.*Did you mean `transport\.trustProxy`/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /transport\.redirectHttp: expected a boolean/.test(x)));
    assert.ok(p.some((x) => /transport\.httpsServedElsewhere: expected a boolean/.test(x)));
  });
});
