import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeSources, type SourceFinding } from '../src/audit/analyzer.js';

/* Cookie, session and CORS options: how they are read, and how findings are graded. */

const dir = mkdtempSync(join(tmpdir(), 'keyward-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function audit(name: string, text: string): SourceFinding[] {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return analyzeSources([{ path: p, text }], { cwd: dir });
}

const at = (fs: SourceFinding[]): string[] => fs.map((f) => `${f.line}:${f.ruleId}:${f.severity}`);

describe('cookie and session options', () => {
  test('a Set-Cookie header carrying a token is checked for HttpOnly, Secure and SameSite', () => {
    const mk = (attrs: string) => `export function f(req: any, res: any) {\n  res.setHeader('Set-Cookie', \`auth=\${req.headers.authorization}${attrs}\`);\n}\n`;
    const bare = audit('hdr1.ts', mk('; Path=/'));
    assert.ok(bare.some((f) => f.ruleId === 'KW002' && f.severity === 'medium' && /HttpOnly, Secure, SameSite/.test(f.message)));
    const noSameSite = audit('hdr2.ts', mk('; HttpOnly; Secure; Path=/'));
    assert.ok(noSameSite.some((f) => f.ruleId === 'KW002' && f.severity === 'low' && /without SameSite$/.test(f.message)));
    assert.ok(!audit('hdr3.ts', mk('; HttpOnly; Secure; SameSite=Lax; Path=/')).some((f) => f.ruleId === 'KW002'));
  });

  test('cookieSession({ signed: false }) is reported; signed sessions are not', () => {
    const mk = (signed: string) =>
      `import cookieSession from 'cookie-session';\nexport const mw = cookieSession({\n  name: 'app',\n  keys: [process.env.COOKIE_KEY!],\n  ${signed}\n  httpOnly: true, secure: true, sameSite: 'lax', maxAge: 3600000,\n});\n`;
    assert.deepEqual(at(audit('cs1.ts', mk('signed: false,'))), ['5:KW002:medium']);
    assert.deepEqual(at(audit('cs2.ts', mk('signed: true,'))), []);
  });

  test('options assigned after the literal count (sess.cookie = { … } and opts.cookie.secure = false)', () => {
    const text = [
      "import session from 'express-session';",
      "const sess = { store: redisStore, name: 'sid', secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false };",
      "(sess as any).cookie = { httpOnly: true, secure: false, sameSite: 'lax', maxAge: 60000 };",
      'export const mw = session(sess);',
      '',
    ].join('\n');
    assert.deepEqual(at(audit('after.ts', text)), ['3:KW002:medium']);
  });

  test('findings in test files drop to LOW and say so', () => {
    const text = "export function f(res: any) {\n  res.cookie('api_key', process.env.STRIPE_SECRET_KEY, { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 1000 });\n}\n";
    const fs = audit('keys.spec.ts', text);
    assert.deepEqual(at(fs), ['2:KW001:low']);
    assert.match(fs[0]!.message, /\(in test code\)$/);
    assert.deepEqual(at(audit('keys.ts', text)), ['2:KW001:high']);
  });

  test('a conditional spread that sets a flag only in production is fine, as `secure: isProd` is', () => {
    const text = "const isProd = process.env.NODE_ENV === 'production';\nexport function f(res: any) {\n  res.cookie('sid', 'x', { httpOnly: true, sameSite: 'lax', maxAge: 1000, ...(isProd ? { secure: true } : {}) });\n  res.cookie('sid', 'x', { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 1000, ...(isDev && { secure: false }) });\n}\n";
    assert.deepEqual(audit('spread-ok.ts', text), []);
  });

  test('a conditional spread on another condition: "disabled when <condition>", not "missing"', () => {
    const text = "export function f(res: any, useTls: boolean, embedded: boolean) {\n  res.cookie('sid', 'x', { httpOnly: true, sameSite: 'lax', maxAge: 1000, ...(useTls ? { secure: true } : {}) });\n  res.cookie('sid', 'x', { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 1000, ...(embedded && { httpOnly: false }) });\n}\n";
    const fs = audit('spread-bad.ts', text);
    assert.deepEqual(at(fs), ['2:KW002:medium', '3:KW002:medium']);
    assert.match(fs[0]!.message, /`secure` is disabled on cookie `sid` when `!useTls`/);
    assert.match(fs[1]!.message, /`httpOnly` is disabled on cookie `sid` when `embedded`/);
    assert.ok(fs.every((f) => !/missing `/.test(f.message)));
  });
});

describe('CORS options', () => {
  test('settings held in config defaults and config objects', () => {
    const text = [
      "import cors from 'cors';",
      'const corsDefaults = { origin: true, credentials: true };',
      'const config = { cors: { origin: /.*/, credentials: true } };',
      'export function f(app: any) {',
      '  app.enableCors(corsDefaults);',
      '  app.use(cors(config.cors));',
      '}',
      'export function g(app: any, options = { origin: true, credentials: true }) { app.enableCors(options); }',
      '',
    ].join('\n');
    assert.deepEqual(at(audit('cors-defaults.ts', text)), ['2:KW005:high', '3:KW005:high', '8:KW005:high']);
  });

  test('origin given as a variable: its constant value decides', () => {
    const text = [
      'const ANY = /^.*$/;',
      "const LIST = ['https://app.example.com'];",
      'export function f(app: any) {',
      '  app.enableCors({ origin: ANY, credentials: true });',
      '  app.enableCors({ origin: LIST, credentials: true });',
      '  const origin = true;',
      '  app.enableCors({ origin, credentials: true });',
      '  app.enableCors({ origin: process.env.CORS_ORIGIN ?? true, credentials: true });',
      '}',
      '',
    ].join('\n');
    const fs = audit('cors-var.ts', text);
    assert.deepEqual(at(fs), ['4:KW005:high', '7:KW005:high', '8:KW005:high']);
    assert.match(fs[2]!.message, /when `CORS_ORIGIN` is unset/);
  });

  test('a reflection in a development-only branch says so and is lower: LOW when NODE_ENV must say development', () => {
    const text = [
      'export function f(app: any, configService: any) {',
      "  if (configService.get('NODE_ENV') === 'development') app.enableCors({ origin: true, credentials: true });",
      "  const isDev = process.env.NODE_ENV === 'development';",
      "  app.enableCors({ origin: isDev ? true : ['https://app.example.com'], credentials: true });",
      '}',
      '',
    ].join('\n');
    const fs = audit('cors-dev.ts', text);
    assert.deepEqual(at(fs), ['2:KW005:low', '4:KW005:low']);
    assert.ok(fs.every((f) => /only when NODE_ENV is development/.test(f.message)));
  });

  test("MEDIUM when it runs whenever NODE_ENV is not 'production' (also when unset)", () => {
    const text = [
      'export function f(app: any) {',
      "  if (process.env.NODE_ENV !== 'production') {",
      '    app.enableCors({ origin: true, credentials: true });',
      '  }',
      '}',
      'export function g(app: any) {',
      "  if (process.env.NODE_ENV === 'production') return;",
      '  app.enableCors({ origin: true, credentials: true });',
      '}',
      '',
    ].join('\n');
    const fs = audit('cors-not-prod.ts', text);
    assert.deepEqual(at(fs), ['3:KW005:medium', '8:KW005:medium']);
    assert.ok(fs.every((f) => /also when it is unset/.test(f.message)));
  });

  test('any other condition stays HIGH and is named; development-only without credentials is clean', () => {
    const fs = audit('cors-cond.ts', "export function f(app: any, legacyMode: boolean, isDev: boolean) {\n  app.enableCors({ origin: legacyMode ? true : ['https://a.example'], credentials: true });\n  if (isDev) app.enableCors({ origin: true });\n}\n");
    assert.deepEqual(at(fs), ['2:KW005:high']);
    assert.match(fs[0]!.message, /when `legacyMode`/);
  });
});
