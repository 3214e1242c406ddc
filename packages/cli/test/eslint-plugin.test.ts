import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { ESLint, RuleTester, type Linter } from 'eslint';
import keywardPlugin, { rules } from '../src/eslint/eslint-plugin.js';
import { AUDIT_RULES } from '../src/rules/rules.js';

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
tester.run('hardcoded-or-fallback-secret', rules['hardcoded-or-fallback-secret'] as never, {
  valid: ["const secret = process.env.SESSION_SECRET;\nexport default { secret };", "const region = process.env.AWS_REGION || 'eu-west-1';"],
  invalid: [{ code: "export const s = { secret: process.env.SESSION_SECRET || 'keyboard cat' };", errors: 1 }],
});
