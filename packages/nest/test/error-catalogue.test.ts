// The error-code catalogue: every KW_* code the library can produce has a status in the one
// static table (or is a thrown/startup-only code) and a row in docs/errors.md; nothing can
// remap Keyward's own statuses at run time.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { KeywardErrorCode, ProxyErrorCode, registerStatus } from '../src/index.js';
import { statusOf } from '../src/keyward.errors.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const src = join(root, 'packages/nest/src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Code lines of a source file (TSDoc and comment lines dropped: their examples are not codes). */
const codeLines = (f: string): string => readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join('\n');
/** Every quoted KW_* literal in the library's sources. */
const sourceCodes = new Set(files(src).flatMap((f) => [...codeLines(f).matchAll(/['"`](KW_[A-Z0-9_]+)['"`]/g)].map((m) => m[1]!)));
/** Codes that are never an HTTP answer: configuration errors and process warnings. */
const NOT_ANSWERS = new Set(['KW_CONFIG_INVALID', 'KW_INSECURE_PRODUCTION', 'KW_PEER_MISSING', 'KW_CLOCK_SKEW', 'KW_LISTENER_FAILED', 'KW_INTERNAL']);

describe('error-code catalogue', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(KW_[A-Z0-9_]+)` \| (\d{3}|[^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));

  it('finds the codes in the sources (the scan works)', () => {
    assert.ok(sourceCodes.size >= 40, `only ${sourceCodes.size} codes found`);
    for (const c of [...Object.values(KeywardErrorCode), ...Object.values(ProxyErrorCode)]) assert.ok(sourceCodes.has(c), c);
  });

  it('docs/errors.md lists every code the library can produce, with the status the table gives it', () => {
    const missing = [...sourceCodes].filter((c) => !documented.has(c));
    assert.deepEqual(missing, [], `codes without a row in docs/errors.md: ${missing.join(', ')}`);
    const withoutStatus = [...documented].filter(([c, s]) => !/^\d{3}$/.test(s) && !NOT_ANSWERS.has(c)).map(([c]) => c);
    assert.deepEqual(withoutStatus, [], 'every code that can be an answer has a numeric status in docs/errors.md');
    for (const [code, status] of documented) {
      if (!/^\d{3}$/.test(status)) continue;
      assert.equal(statusOf(code as `KW_${string}`), Number(status), `${code}: docs say ${status}`);
    }
  });

  it('every code that can be an answer has its own status (none falls back to 500 by omission)', () => {
    const unmapped = [...sourceCodes].filter((c) => !NOT_ANSWERS.has(c) && statusOf(c as `KW_${string}`) === 500 && documented.get(c) !== '500');
    assert.deepEqual(unmapped, []);
  });

  it('no importer can remap one of Keyward\'s own statuses; an app code can get its own', () => {
    assert.throws(() => registerStatus('KW_SESSION_REQUIRED', 200), /cannot be changed/);
    assert.equal(statusOf('KW_SESSION_REQUIRED'), 401);
    assert.throws(() => registerStatus('KW_APP_TEAPOT', 200), /from 400 to 599/);
    registerStatus('KW_APP_TEAPOT', 418);
    assert.equal(statusOf('KW_APP_TEAPOT'), 418);
  });
});
