import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { ESLint, RuleTester, type Linter } from 'eslint';
import keywardPlugin, { rules } from '../src/eslint/eslint-plugin.js';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditPaths } from '../src/audit/audit.js';
import { fixFindings } from '../src/fix/fix-files.js';
import { AUDIT_RULES } from '../src/rules/rules.js';
import { CORPORA } from './corpus-eval.js';

// our plugin's own types are structural; ESLint's are stricter about plugin objects
const keyward = keywardPlugin as unknown as ESLint.Plugin & { configs: { recommended: Linter.Config } };

/**
 * ESLint needs a parser for TypeScript syntax. typescript-eslint would do in a real project; this
 * test uses a pass-through parser (the keyward rules read the text themselves), so it needs no
 * TypeScript 5 resolution of its own.
 */
const passThroughParser = {
  meta: { name: 'keyward-test-pass-through' },
  parseForESLint(text: string) {
    const lines = text.split('\n');
    return {
      ast: {
        type: 'Program',
        body: [],
        sourceType: 'module',
        range: [0, text.length],
        loc: { start: { line: 1, column: 0 }, end: { line: lines.length, column: lines[lines.length - 1]!.length } },
        tokens: [],
        comments: [],
      },
    };
  },
};

const tsController = `import { Controller, Post, Req, Res } from '@nestjs/common';
import cookieSession from 'cookie-session';
export const s = cookieSession({ name: 'app', keys: [process.env.K || 'keyboard cat'], secure: true, sameSite: 'lax', maxAge: 3600000 });
@Controller('k')
export class K {
  @Post() save(@Req() req: any, @Res() res: any) {
    req.session.apiKey = req.body.apiKey;
    res.cookie('api_key', process.env.OPENAI_API_KEY as string, { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 60000 });
  }
}
`;

describe('ESLint plugin (flat config)', () => {
  test('recommended config reports the same findings as keyward audit on a TS file', async () => {
    const eslint = new ESLint({
      overrideConfigFile: true,
      overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: passThroughParser } }, { files: ['**/*.ts'], ...keyward.configs.recommended }],
    });
    const [result] = await eslint.lintText(tsController, { filePath: 'src/k.controller.ts' });
    const ids = result!.messages.map((m) => m.ruleId).sort();
    assert.deepEqual([...new Set(ids)], ['keyward/hardcoded-or-fallback-secret', 'keyward/secret-in-client-session-or-cookie']);
    const cookie = result!.messages.find((m) => m.line === 8)!;
    assert.equal(cookie.ruleId, 'keyward/secret-in-client-session-or-cookie');
    assert.equal(cookie.column, 5);
    assert.ok(result!.messages.every((m) => !m.message.includes('keyboard cat')), 'secrets are masked in messages');
  });

  test('works with the default parser on JavaScript, and honours the session option', async () => {
    const js = "const app = require('express')();\napp.post('/k', (req, res) => { req.session.apiKey = req.body.apiKey; res.end(); });\n";
    const lint = async (session: 'client' | 'server') => {
      const eslint = new ESLint({
        overrideConfigFile: true,
        overrideConfig: [{ plugins: { keyward }, rules: { 'keyward/secret-in-client-session-or-cookie': ['error', { session }] } }],
      });
      const [r] = await eslint.lintText(js, { filePath: 'app.js' });
      return r!.messages.map((m) => m.ruleId);
    };
    assert.deepEqual(await lint('client'), ['keyward/secret-in-client-session-or-cookie']);
    assert.deepEqual(await lint('server'), []);
  });

  test('exports one rule per audit rule, and a recommended config', () => {
    // derived from the one rule list: every rule that `keyward audit` runs
    assert.deepEqual(Object.keys(rules).sort(), AUDIT_RULES.map((r) => r.meta.name).sort());
    assert.equal(Object.keys(keywardPlugin.configs.recommended.rules).length, AUDIT_RULES.length);
  });
});

// RuleTester runs its cases as node:test tests.
(RuleTester as unknown as { describe: unknown; it: unknown; itOnly: unknown }).describe = describe;
(RuleTester as unknown as { describe: unknown; it: unknown; itOnly: unknown }).it = it;
(RuleTester as unknown as { describe: unknown; it: unknown; itOnly: unknown }).itOnly = it.only;
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });
tester.run('cors-reflects-any-origin-with-credentials', rules['cors-reflects-any-origin-with-credentials'] as never, {
  valid: ["app.enableCors({ origin: ['https://app.example.com'], credentials: true });", 'app.enableCors({ origin: true });'],
  invalid: [
    { code: 'app.enableCors({ origin: true, credentials: true });', errors: 1 },
    { code: 'app.enableCors({ credentials: true, origin: (o, cb) => cb(null, true) });', errors: 1 },
  ],
});
// the fixes of `keyward audit --fix`: autofixes (`eslint --fix`) and suggestions
const requiredSecret = "process.env.SESSION_SECRET || (() => { throw new Error('Set SESSION_SECRET: it is required (a default written in the source would be a public secret)'); })()";
tester.run('hardcoded-or-fallback-secret', rules['hardcoded-or-fallback-secret'] as never, {
  valid: ["const secret = process.env.SESSION_SECRET;\nexport default { secret };", "const region = process.env.AWS_REGION || 'eu-west-1';"],
  invalid: [
    {
      code: "export const s = { secret: process.env.SESSION_SECRET || 'keyboard cat' };",
      output: `export const s = { secret: ${requiredSecret} };`,
      errors: [{ message: /\(KW003; fix: /, suggestions: [{ desc: 'Require SESSION_SECRET at startup instead of falling back to a literal', output: `export const s = { secret: ${requiredSecret} };` }] }],
    },
    // a hard-coded secret: reported, no automatic fix
    { code: "const session = require('express-session');\napp.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, store, name: 'sid', cookie: { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 60000 } }));", output: null, errors: [{ message: /\(KW003; fix: /, suggestions: [] }] },
  ],
});
tester.run('insecure-cookie-options', rules['insecure-cookie-options'] as never, {
  valid: ["res.cookie('token', t, { httpOnly: true, secure: true, sameSite: 'lax' });", "res.cookie('theme', 'dark');"],
  invalid: [
    {
      code: "res.cookie('token', t);",
      output: "res.cookie('token', t, { httpOnly: true, secure: true, sameSite: 'lax' });",
      errors: [{ message: /\(KW002; fix: /, suggestions: [{ desc: "Set httpOnly: true, secure: true, sameSite: 'lax'", output: "res.cookie('token', t, { httpOnly: true, secure: true, sameSite: 'lax' });" }] }],
    },
    {
      code: "res.cookie('token', t, { httpOnly: false, secure: true, sameSite: 'strict' });",
      output: "res.cookie('token', t, { httpOnly: true, secure: true, sameSite: 'strict' });",
      errors: [{ message: /\(KW002; fix: /, suggestions: [{ desc: 'Set httpOnly: true', output: "res.cookie('token', t, { httpOnly: true, secure: true, sameSite: 'strict' });" }] }],
    },
  ],
});

describe('ESLint plugin fixes', () => {
  test('`eslint --fix` gives, file by file, the same text as `keyward audit --fix` on the corpora', async () => {
    const eslint = new ESLint({
      overrideConfigFile: true,
      fix: true,
      overrideConfig: [{ files: ['**/*.ts', '**/*.js'], languageOptions: { parser: passThroughParser } }, { files: ['**/*.ts', '**/*.js'], ...keyward.configs.recommended }],
    });
    let compared = 0;
    for (const dir of Object.values(CORPORA)) {
      const tmp = mkdtempSync(join(tmpdir(), 'keyward-eslint-fix-'));
      try {
        cpSync(dir, tmp, { recursive: true });
        const before = auditPaths({ paths: ['.'], cwd: tmp });
        const { files } = fixFindings({ sources: before.sources, findings: before.findings, cwd: tmp });
        assert.ok(files.length >= 5);
        for (const f of files) {
          const [result] = await eslint.lintText(f.before, { filePath: join(dir, f.display) });
          assert.equal(result!.output, f.after, `${f.display}: eslint --fix differs from keyward audit --fix`);
          compared++;
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    assert.ok(compared >= 14, `${compared} files compared`);
  });

  test('only KW002 and KW003 declare fixes', () => {
    const fixable = Object.entries(rules).filter(([, r]) => r.meta.fixable === 'code').map(([name]) => name).sort();
    assert.deepEqual(fixable, ['hardcoded-or-fallback-secret', 'insecure-cookie-options']);
    for (const name of fixable) assert.equal(rules[name]!.meta.hasSuggestions, true);
  });
});
