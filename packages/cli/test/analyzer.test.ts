import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeSources } from '../src/audit/analyzer.js';
import { auditPaths } from '../src/audit/audit.js';
import { colorsFor } from '../src/report/colors.js';
import { formatText } from '../src/report/text.reporter.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-analyzer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const ids = (fs: { ruleId: string }[]): string[] => [...new Set(fs.map((f) => f.ruleId))].sort();

describe('analyzer', () => {
  test('follows an options object imported from another file', () => {
    const opts = write('session-options.ts', "export const options = { name: 'sid', secret: process.env.SESSION_SECRET || 'keyboard cat', resave: false, saveUninitialized: false, cookie: { httpOnly: false, secure: true, sameSite: 'lax', maxAge: 60000 } };\n");
    const main = write('main-cross.ts', "import session from 'express-session';\nimport { options } from './session-options.js';\nexport const mw = session(options);\n");
    // only main.ts is analysed: findings in the imported file are reported at the use
    const only = analyzeSources([{ path: main, text: "import session from 'express-session';\nimport { options } from './session-options.js';\nexport const mw = session(options);\n" }], { cwd: dir });
    assert.deepEqual(ids(only), ['KW002', 'KW003']);
    assert.ok(only.every((f) => f.file === 'main-cross.ts'));
    // both analysed: findings sit in the options file
    const both = auditPaths({ paths: [main, opts], cwd: dir });
    assert.ok(both.findings.some((f) => f.file === 'session-options.ts' && f.ruleId === 'KW003'));
  });

  test('session kind decides whether a session write is KW001', () => {
    const text = "export function h(req: any) { req.session.apiKey = req.body.apiKey; }\n";
    const p = write('handler.ts', text);
    assert.deepEqual(ids(analyzeSources([{ path: p, text }], { session: 'client' })), ['KW001']);
    // server-side: not readable by the client, but kept in plain text in the store (KW007, lower)
    assert.deepEqual(ids(analyzeSources([{ path: p, text }], { session: 'server' })), ['KW007']);
  });

  test('secure: isProd and secure: "auto" are fine, secure: false is not', () => {
    const mk = (secure: string) =>
      `import session from 'express-session';\nconst isProd = process.env.NODE_ENV === 'production';\nexport const s = session({ store: redisStore, name: 'sid', secret: process.env.S!, resave: false, saveUninitialized: false, cookie: { httpOnly: true, secure: ${secure}, sameSite: 'lax', maxAge: 60000 } });\n`;
    for (const ok of ['isProd', "'auto'", 'true', "process.env.NODE_ENV === 'production'"]) {
      const p = write('s.ts', mk(ok));
      assert.deepEqual(analyzeSources([{ path: p, text: mk(ok) }]), [], ok);
    }
    const p = write('s.ts', mk('false'));
    assert.deepEqual(ids(analyzeSources([{ path: p, text: mk('false') }])), ['KW002']);
  });

  test('text output masks the secret in the message and the code frame', () => {
    const key = 'sk_live_' + 'Zq9'.repeat(9);
    const text = `export const STRIPE = '${key}';\nconsole.log('boot', '${key}');\n`;
    const p = write('leak.ts', text);
    const result = auditPaths({ paths: [p], cwd: dir });
    assert.ok(result.findings.some((f) => f.ruleId === 'KW003'));
    const out = formatText({ command: 'audit', findings: result.findings, durationMs: 1, filesScanned: 1, linesScanned: 2, sources: result.sources }, colorsFor(undefined, {}, false));
    assert.ok(!out.includes(key), 'the full key must never be printed');
    assert.match(out, /sk_l…\(35 chars\)/);
  });

  test('hostile sources: syntax errors, unicode, huge literals, deep nesting', () => {
    const inputs = [
      'export const = = ;; {{{',
      "const k = '\u202Esk_live_abc\u0000';\n",
      `const x = '${'a'.repeat(200_000)}';`,
      'const o = ' + '{a:'.repeat(500) + '1' + '}'.repeat(500) + ';',
      'res.cookie(...args);',
      'req.session.apiKey = req.session.apiKey;',
    ];
    inputs.forEach((text, i) => {
      const p = write(`hostile-${i}.ts`, text);
      assert.doesNotThrow(() => analyzeSources([{ path: p, text }], { session: 'client' }));
    });
  });

  test('regression: enum members named like credentials are not secrets', () => {
    const text = "enum Code { CredentialUnavailable = 'KW_UNAVAILABLE' }\nexport function f() { throw new Error(Code.CredentialUnavailable); }\n";
    const p = write('enum.ts', text);
    assert.deepEqual(analyzeSources([{ path: p, text }]), []);
  });
});
