import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';
import { analyzeSources } from '../src/audit/analyzer.js';
import { fixFindings } from '../src/fix/fix-files.js';
import { applyEditGroups } from '../src/fix/text-edit.js';
import { unifiedDiff } from '../src/fix/unified-diff.js';

/*
 * `keyward audit --fix` on one file at a time, in memory: the text the fix writes (exactly, where
 * the formatting matters), the rule quiet on a re-run, and a second --fix changing nothing.
 */

const cwd = mkdtempSync(join(tmpdir(), 'keyward-fix-'));
after(() => rmSync(cwd, { recursive: true, force: true }));
symlinkSync(fileURLToPath(new URL('../../../../node_modules', import.meta.url)), join(cwd, 'node_modules'), 'dir');

/** TypeScript's errors in `text` as a file of a strict project with the repository's packages (express's types). */
function typeErrors(text: string, name: string): string[] {
  const path = join(cwd, name);
  writeFileSync(path, text);
  const program = ts.createProgram([path], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, noEmit: true, skipLibCheck: true, types: ['node'] });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

/** A KW002 finding about a cookie flag, or a KW003 finding about a literal fallback. */
const FLAG = /\b(?:httpOnly|secure|sameSite)\b/i;
const isFixedKind = (f: { ruleId: string; message: string }): boolean => (f.ruleId === 'KW002' && FLAG.test(f.message)) || (f.ruleId === 'KW003' && /fallback/i.test(f.message));

/** Audits `text` as `name`, applies --fix, audits again; returns the fixed text and what is left. */
function fix(text: string, name = 'app.ts'): { after: string; fixed: number; before: string[]; left: string[] } {
  const path = join(cwd, name);
  const findings = analyzeSources([{ path, text }], { cwd });
  const outcome = fixFindings({ sources: new Map([[name, text]]), findings, cwd });
  const after = outcome.files[0]?.after ?? text;
  const again = analyzeSources([{ path, text: after }], { cwd });
  // idempotent: fixing the fixed text changes nothing
  const second = fixFindings({ sources: new Map([[name, after]]), findings: again, cwd });
  assert.equal(second.files.length, 0, `a second --fix changed the file again:\n${second.files[0]?.after}`);
  return { after, fixed: outcome.fixed, before: findings.filter(isFixedKind).map((f) => f.message), left: again.filter(isFixedKind).map((f) => f.message) };
}

/** Runs a fixed module-level expression (transpiled to JavaScript) with the given environment. */
function evaluate(expression: string, env: Record<string, string>): unknown {
  const js = ts.transpileModule(`return (${expression});`, { compilerOptions: { target: ts.ScriptTarget.ES2022 }, reportDiagnostics: false }).outputText;
  return new Function('process', 'config', js)({ env }, { get: (k: string, d?: string) => env[k] ?? d });
}

describe('--fix: cookie flags (KW002)', () => {
  test('a sensitive res.cookie without options gets an options object', () => {
    const r = fix("import type { Response } from 'express';\nexport function remember(res: Response, token: string) {\n  res.cookie('remember_token', token);\n}\n");
    assert.ok(r.before.length > 0);
    assert.match(r.after, /res\.cookie\('remember_token', token, \{ httpOnly: true, secure: true, sameSite: 'lax' \}\);/);
    assert.deepEqual(r.left, []);
  });

  test('missing flags join a multi-line options object at its indentation, keeping the trailing comma and the comments', () => {
    const text = [
      "import type { FastifyReply } from 'fastify';",
      'export function login(reply: FastifyReply, jwt: string) {',
      "  reply.setCookie('access_token', jwt, {",
      "    path: '/',",
      '    maxAge: 3600, // one hour',
      '  });',
      '}',
      '',
    ].join('\n');
    const r = fix(text);
    assert.equal(
      r.after,
      [
        "import type { FastifyReply } from 'fastify';",
        'export function login(reply: FastifyReply, jwt: string) {',
        "  reply.setCookie('access_token', jwt, {",
        "    path: '/',",
        '    maxAge: 3600, // one hour',
        '    httpOnly: true,',
        '    secure: true,',
        "    sameSite: 'lax',",
        '  });',
        '}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(r.left, []);
  });

  test('flags that are off are turned on in place; the quote style of the file is kept', () => {
    const text = 'import session from "express-session";\nimport { RedisStore } from "connect-redis";\nexport const s = (store: RedisStore) => session({ store, name: "app.sid", secret: process.env.S!, resave: false, saveUninitialized: false,\n  cookie: { httpOnly: false, secure: false, sameSite: "none", maxAge: 3_600_000 } });\n';
    const r = fix(text);
    assert.match(r.after, /cookie: \{ httpOnly: true, secure: true, sameSite: "lax", maxAge: 3_600_000 \}/);
    assert.equal(r.before.length, 3);
    assert.deepEqual(r.left, []);
  });

  test('express-session without cookie options gets a `cookie` option; its options object is followed through a variable', () => {
    const text = "import session from 'express-session';\nimport { RedisStore } from 'connect-redis';\nexport function use(app: { use(m: unknown): void }, store: RedisStore) {\n  const options = { store, name: 'app.sid', secret: process.env.S!, resave: false, saveUninitialized: false };\n  app.use(session(options));\n}\n";
    const r = fix(text);
    // an untyped variable: `as const` keeps 'lax' a literal type (express-session's types want one)
    assert.match(r.after, /saveUninitialized: false, cookie: \{ secure: true, sameSite: 'lax' as const \} \};/);
    assert.deepEqual(r.left, []);
  });

  test('cookie-session takes the flags in its own options (CommonJS)', () => {
    const r = fix("const session = require('cookie-session');\nconst express = require('express');\nconst app = express();\napp.use(session({ name: 'app', keys: [process.env.K], maxAge: 3600000 }));\n", 'app.js');
    assert.match(r.after, /session\(\{ name: 'app', keys: \[process\.env\.K\], maxAge: 3600000, secure: true, sameSite: 'lax' \}\)/);
    assert.deepEqual(r.left, []);
  });

  test('@fastify/session registered without cookie options', () => {
    const r = fix("import Fastify from 'fastify';\nimport fastifySession from '@fastify/session';\nimport { RedisStore } from 'connect-redis';\nexport function build(store: RedisStore) {\n  const app = Fastify();\n  app.register(fastifySession, { secret: process.env.S!, cookieName: 'sid', store });\n  return app;\n}\n");
    assert.ok(r.before.length > 0);
    assert.match(r.after, /app\.register\(fastifySession, \{ secret: process\.env\.S!, cookieName: 'sid', store, cookie: \{ secure: true, sameSite: 'lax' \} \}\);/);
    assert.deepEqual(r.left, []);
  });

  test('a conditional spread that turns a flag off on one branch: the branch is fixed, strict stays strict', () => {
    const text = "import type { Response } from 'express';\nexport function remember(res: Response, token: string, embedded: boolean) {\n  res.cookie('remember_device', token, { secure: true, sameSite: 'strict', maxAge: 60000, httpOnly: true, ...(embedded && { sameSite: 'none', httpOnly: false }) });\n}\n";
    const r = fix(text);
    assert.match(r.after, /\.\.\.\(embedded && \{ sameSite: 'strict', httpOnly: true \}\)/);
    assert.deepEqual(r.left, []);
  });

  test('a flag missing on one branch of a spread is set before the spread', () => {
    const text = "import session from 'express-session';\nimport { RedisStore } from 'connect-redis';\nexport const s = (store: RedisStore, tls: boolean) => session({ store, name: 'app.sid', secret: process.env.S!, resave: false, saveUninitialized: false,\n  cookie: { httpOnly: true, sameSite: 'lax', maxAge: 60000, ...(tls ? { secure: true } : {}) } });\n";
    const r = fix(text);
    assert.match(r.after, /cookie: \{ secure: true, httpOnly: true, sameSite: 'lax', maxAge: 60000, \.\.\.\(tls \? \{ secure: true \} : \{\}\) \}/);
    assert.deepEqual(r.left, []);
  });

  test('a raw Set-Cookie header gets the missing attributes inside its template', () => {
    const text = "import type { Response } from 'express';\nexport async function cb(res: Response) {\n  const tokens = await (await fetch('https://oauth2.googleapis.com/token', { method: 'POST' })).json();\n  res.setHeader('Set-Cookie', `gt=${tokens.access_token}; Path=/`);\n}\n";
    const r = fix(text);
    assert.ok(r.before.length > 0, 'the header is a finding');
    assert.match(r.after, /`gt=\$\{tokens\.access_token\}; Path=\/; HttpOnly; Secure; SameSite=Lax`/);
    assert.deepEqual(r.left, []);
  });

  test("options in an untyped variable get `sameSite: 'lax' as const`, so they still fit express's CookieOptions", () => {
    const text = [
      "import type { Response } from 'express';",
      'export function remember(res: Response, token: string) {',
      '  const cookieOptions = { httpOnly: true, maxAge: 60_000 };',
      "  res.cookie('session_token', token, cookieOptions);",
      '}',
      '',
    ].join('\n');
    assert.deepEqual(typeErrors(text, 'typed-before.ts'), []);
    const r = fix(text);
    assert.match(r.after, /const cookieOptions = \{ httpOnly: true, maxAge: 60_000, secure: true, sameSite: 'lax' as const \};/);
    assert.deepEqual(r.left, []);
    assert.deepEqual(typeErrors(r.after, 'typed-after.ts'), []);
    // without `as const` the fixed file would not compile
    assert.notDeepEqual(typeErrors(r.after.replace(' as const', ''), 'typed-widened.ts'), []);
  });

  test('findings that are not about a flag (store, lifetime, name) have no fix', () => {
    const text = "import session from 'express-session';\nexport const s = session({ secret: process.env.S!, resave: true, saveUninitialized: false, cookie: { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 90 * 86_400_000 } });\n";
    const r = fix(text);
    assert.equal(r.fixed, 0);
    assert.equal(r.after, text);
  });
});

describe('--fix: literal fallback secrets (KW003)', () => {
  test('`process.env.X || literal` becomes a value that stops the app at startup when X is missing', () => {
    const text = "import session from 'express-session';\nimport { RedisStore } from 'connect-redis';\nexport const s = (store: RedisStore) => session({ store, name: 'app.sid', secret: process.env.SESSION_SECRET || 'keyboard cat', resave: false, saveUninitialized: false, cookie: { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 60000 } });\n";
    const r = fix(text);
    assert.equal(r.fixed, 1);
    assert.deepEqual(r.left, []);
    const expr = /secret: (process\.env\.SESSION_SECRET \|\| .*?\)\(\)),/.exec(r.after)?.[1];
    assert.ok(expr, r.after);
    assert.throws(() => evaluate(expr, {}), (e: Error) => e.message.startsWith('Set SESSION_SECRET: ') && !e.message.includes('keyboard'));
    assert.equal(evaluate(expr, { SESSION_SECRET: 'from-the-environment' }), 'from-the-environment');
  });

  test('`??`, a conditional, and config.get(key, default) (parenthesised where it is chained)', () => {
    const text = [
      "import { ConfigService } from '@nestjs/config';",
      "import * as jwt from 'jsonwebtoken';",
      'export function sign(config: ConfigService, sub: string) {',
      "  const a = jwt.sign({ sub }, process.env.JWT_SECRET ?? 'dev-jwt-secret');",
      "  const b = jwt.sign({ sub }, process.env.JWT_SECRET ? process.env.JWT_SECRET : 'dev-jwt-secret');",
      "  const c = jwt.sign({ sub }, config.get<string>('JWT_SECRET', 'dev-jwt-secret'));",
      "  const refreshSecret = config.get<string>('JWT_REFRESH_SECRET', 'dev-refresh-secret') as string;",
      '  const d = jwt.sign({ sub }, refreshSecret);',
      '  return [a, b, c, d];',
      '}',
      '',
    ].join('\n');
    const r = fix(text);
    assert.equal(r.fixed, 4, r.after);
    assert.deepEqual(r.left, []);
    const lines = r.after.split('\n');
    assert.match(lines[3]!, /process\.env\.JWT_SECRET \?\? \(\(\) => \{ throw new Error\('Set JWT_SECRET: /);
    assert.match(lines[4]!, /process\.env\.JWT_SECRET \? process\.env\.JWT_SECRET : \(\(\) => \{ throw/);
    assert.match(lines[5]!, /jwt\.sign\(\{ sub \}, config\.get<string>\('JWT_SECRET'\) \?\? \(\(\) => \{ throw/);
    assert.match(lines[6]!, /= \(config\.get<string>\('JWT_REFRESH_SECRET'\) \?\? \(\(\) => \{ throw .*\}\)\(\)\) as string;$/);
    const c = /config\.get<string>\('JWT_SECRET'\) \?\? .*?\}\)\(\)/.exec(lines[5]!)![0].replace('<string>', '');
    assert.throws(() => evaluate(c, {}), /^Error: Set JWT_SECRET: /);
    assert.equal(evaluate(c, { JWT_SECRET: 'k' }), 'k');
  });

  test('a hard-coded secret (not a fallback) has no automatic fix', () => {
    const text = "import session from 'express-session';\nexport const s = session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 60000 } });\n";
    const findings = analyzeSources([{ path: join(cwd, 'hard.ts'), text }], { cwd });
    assert.ok(findings.some((f) => f.ruleId === 'KW003'));
    assert.equal(fixFindings({ sources: new Map([['hard.ts', text]]), findings, cwd }).files.length, 0);
  });
});

describe('edits and diffs', () => {
  test('equal edits of two findings apply once; an overlapping group waits for the next pass', () => {
    const a = { edits: [{ start: 4, end: 5, text: '2' }] };
    const same = { edits: [{ start: 4, end: 5, text: '2' }] };
    const clash = { edits: [{ start: 4, end: 5, text: '3' }] };
    const insertAtSameSpot = { edits: [{ start: 4, end: 4, text: '-' }] };
    const r = applyEditGroups('a = 1;', [a, same, clash, insertAtSameSpot]);
    assert.equal(r.text, 'a = 2;');
    assert.deepEqual(r.applied, [a, same]);
    assert.deepEqual(r.deferred, [clash, insertAtSameSpot]);
  });

  test('unified diff: hunks with context, line numbers, a file without a final newline', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n');
    assert.equal(
      unifiedDiff('x.ts', before, after),
      ['--- a/x.ts', '+++ b/x.ts', '@@ -1,5 +1,5 @@', ' a', '-b', '+B', ' c', ' d', ' e', '@@ -7,4 +7,5 @@', ' g', ' h', ' i', '-j', '\\ No newline at end of file', '+j', '+k', '\\ No newline at end of file', ''].join('\n'),
    );
    assert.equal(unifiedDiff('x.ts', before, before), '');
  });
});
