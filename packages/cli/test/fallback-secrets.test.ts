import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WEAK_SECRETS as CORE_WEAK_SECRETS } from '@keyward/core';
import { analyzeSources } from '../src/audit/analyzer.js';
import { WEAK_SECRETS } from '../src/secrets/weak-secrets.js';

/** KW003 findings of an express-session app whose secret falls back to `literal`. */
function fallbackFindings(literal: string): number {
  const text = `import session from 'express-session';\napp.use(session({ secret: process.env.SESSION_SECRET || ${JSON.stringify(literal)}, cookie: { secure: true, httpOnly: true, sameSite: 'strict' } }));\n`;
  return analyzeSources([{ path: 'app.ts', text }]).filter((f) => f.ruleId === 'KW003').length;
}

describe('KW003 judges a literal fallback secret as the library judges it at startup (@keyward/core)', () => {
  it('the CLI uses core\'s list itself, not a copy', () => {
    assert.equal(WEAK_SECRETS, CORE_WEAK_SECRETS);
  });

  it('every well-known weak secret, and a dressed one, as the fallback of SESSION_SECRET is a finding', () => {
    const missed = WEAK_SECRETS.filter((s) => s.length > 0 && fallbackFindings(s) === 0);
    assert.deepEqual(missed, []);
    assert.equal(fallbackFindings(`${WEAK_SECRETS[0]}-2026`), 1);
  });

  it('placeholders a deployment would run with are findings (the library refuses them in production)', () => {
    for (const p of ['your-secret-key-here', 'replace-with-a-long-random-secret', 'example-session-secret']) assert.equal(fallbackFindings(p), 1, p);
    assert.equal(fallbackFindings(''), 0, 'an empty fallback is no secret');
  });
});
