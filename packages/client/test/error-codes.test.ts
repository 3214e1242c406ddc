// The client's code list cannot drift from the server's: it is compared with @keyward/nest's
// ERROR_CATALOGUE and with docs/errors.md. And the published files stay dependency-free and
// browser-safe: they import nothing but each other.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE } from '@keyward/nest';
import { KEYWARD_ERROR_CODES, KEYWARD_ERROR_STATUS, SESSION_ENDED_CODES, isKeywardErrorCode } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

describe('the client\'s error codes', () => {
  const answered = Object.entries(ERROR_CATALOGUE).filter(([, row]) => row.status !== null).map(([code, row]) => [code, row.status] as const);

  it('are exactly the catalogue\'s answered codes, with the same statuses', () => {
    assert.ok(answered.length >= 35, `the catalogue was read (${answered.length} codes)`);
    assert.deepEqual(Object.fromEntries(Object.entries(KEYWARD_ERROR_STATUS).sort()), Object.fromEntries(answered.sort()));
    assert.deepEqual([...KEYWARD_ERROR_CODES].sort(), answered.map(([c]) => c).sort());
    for (const code of ['KW_CONFIG_INVALID', 'KW_CLOCK_SKEW', 'KW_LISTENER_FAILED']) assert.equal(isKeywardErrorCode(code), false, `${code} is never an answer`);
  });

  it('a session end is exactly the catalogue\'s 401 codes but a connected account\'s (KW_OAUTH_RECONNECT: the session is fine)', () => {
    assert.deepEqual([...SESSION_ENDED_CODES].sort(), answered.filter(([c, s]) => s === 401 && !c.startsWith('KW_OAUTH_')).map(([c]) => c).sort());
    assert.ok(!SESSION_ENDED_CODES.includes('KW_OAUTH_RECONNECT' as never));
    assert.ok(SESSION_ENDED_CODES.includes('KW_SESSION_EXPIRED'));
  });

  it('agree with docs/errors.md, row by row', () => {
    const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(KW_[A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    assert.ok(rows.length >= 35);
    for (const [code, status] of rows) assert.equal((KEYWARD_ERROR_STATUS as Record<string, number>)[code], status, code);
  });

  it('published files import nothing but each other (no dependency, no Node module)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/client/package.json'), 'utf8')) as { dependencies?: object; peerDependencies?: object };
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.peerDependencies, undefined);
    const dist = join(ROOT, 'packages/client/dist/src');
    const files = readdirSync(dist).filter((f) => /\.(js|d\.ts)$/.test(f));
    assert.ok(files.length >= 10, `built files found (${files.length})`);
    const specs = files.flatMap((f) => [...readFileSync(join(dist, f), 'utf8').matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => `${f}: ${m[1]}`));
    assert.ok(specs.length >= 8, 'the scan sees the relative imports');
    assert.deepEqual(specs.filter((s) => !/: \.\/[a-z-]+\.js$/.test(s)), []);
    for (const f of files.filter((f) => f.endsWith('.js'))) assert.doesNotMatch(readFileSync(join(dist, f), 'utf8'), /\brequire\(|\bprocess\.|\bBuffer\b/, f);
  });
});
