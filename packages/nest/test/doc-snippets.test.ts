// Issue 22, "Docs that a user copies must work": every TypeScript block of README.md,
// docs/**/*.md and packages/*/README.md compiles, as written, with strict TypeScript
// (the repository's TypeScript 7, nodenext, decorators with metadata) against the built
// @keyward/nest, @keyward/core and @keyward/cli and NestJS 12 from node_modules. One tsc run
// over every block (each its own file); a failure names the Markdown file and line.
// Conventions for partial blocks: test/support/doc-snippets.ts and docs/README.md.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TS_LANGS, compileSnippets, projectOf, snippetCompilerOptions, snippetTree, snippetsOf, userDocs, writeSnippets, type Snippet } from './support/doc-snippets.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Types of the packages the docs use that this repository does not install (a user's app
 * has them): the signatures the docs call, nothing more. Everything else (NestJS, ioredis,
 * redis, connect-redis, passport, undici, rxjs, node) is the real thing.
 */
const ABSENT_PACKAGES = `// express-session ships no types (@types/express-session is not installed here).
declare module 'supertest' {
  interface Test extends Promise<{ status: number; text: string; body: unknown; headers: Record<string, string> }> {
    set(field: string | Record<string, string>, value?: string): Test;
    send(body: unknown): Test;
    expect(status: number): Test;
  }
  interface Agent { get(url: string): Test; post(url: string): Test; put(url: string): Test; delete(url: string): Test }
  interface Request { (app: unknown): Agent; agent(app: unknown): Agent }
  const request: Request;
  export default request;
}
declare module 'vitest' {
  export function it(name: string, fn: () => unknown): void;
  export function beforeAll(fn: () => unknown): void;
  export function afterAll(fn: () => unknown): void;
  export function expect<T>(value: T): { not: { toContain(v: unknown): void }; toContain(v: unknown): void; toBe(v: unknown): void };
}
declare module 'express-session' {
  interface CookieOptions { httpOnly?: boolean; secure?: boolean | 'auto'; sameSite?: boolean | 'lax' | 'strict' | 'none'; maxAge?: number; path?: string; domain?: string }
  interface Options { secret: string | string[]; store?: unknown; name?: string; resave?: boolean; saveUninitialized?: boolean; rolling?: boolean; cookie?: CookieOptions }
  export default function session(options: Options): (req: unknown, res: unknown, next: () => void) => void;
}
declare module 'helmet' {
  export default function helmet(options?: { hsts?: { maxAge?: number; includeSubDomains?: boolean } }): (req: unknown, res: unknown, next: () => void) => void;
}
// Jest's globals (@types/jest in a Jest project). This file is a script, so these are global.
declare function describe(name: string, fn: () => void): void;
declare function it(name: string, fn: () => unknown): void;
declare function beforeEach(fn: () => unknown): void;
declare function afterEach(fn: () => unknown): void;
declare function expect<T>(value: T): { not: { toContain(v: unknown): void }; toContain(v: unknown): void; toBe(v: unknown): void };
`;

describe('code blocks of the docs', () => {
  const docs = userDocs(ROOT);
  const all = docs.flatMap((d) => snippetsOf(ROOT, d));
  const ts = all.filter((s) => TS_LANGS.has(s.lang));

  it('finds the docs and their TypeScript blocks', () => {
    assert.ok(docs.includes('docs/quick-start.md') && docs.includes('packages/nest/README.md'), docs.join(', '));
    assert.ok(ts.length >= 20, `only ${ts.length} TypeScript blocks found`);
  });

  it('skips only blocks that say why, and few of them', () => {
    const skipped = ts.filter((s) => s.skip);
    for (const s of skipped) assert.ok(s.skip!.length >= 10, `${s.doc}:${s.line}: skip without a reason`);
    assert.ok(skipped.length <= Math.ceil(ts.length / 5), `too many skipped blocks (${skipped.length} of ${ts.length}):\n${skipped.map(where).join('\n')}`);
  });

  it('every project= names a doc that exists', () => {
    for (const s of ts.filter((x) => x.project)) assert.ok(existsSync(join(ROOT, s.doc, '..', s.project!)), `${where(s)}: project=${s.project} is not a file`);
  });

  it('every TypeScript block compiles with strict TypeScript against the built packages', () => {
    for (const pkg of ['nest', 'core', 'cli']) {
      assert.ok(existsSync(join(ROOT, 'packages', pkg, 'dist', 'src', 'index.d.ts')), `build packages/${pkg} first (node scripts/build.mjs packages/nest packages/cli)`);
    }
    const dir = snippetTree(ROOT, 'doc-snippets');
    const compiled = ts.filter((s) => !s.skip);
    const written = writeSnippets(dir, compiled);
    // `../dist/x.js` from a test names the compiled `src/x.ts` (testing.md's Vitest spec): rootDirs,
    // only for the projects that import from dist (rootDirs merge every listed folder).
    const fromDist = [...new Set(compiled.filter((s) => /from '\.\.?\/(?:\.\.\/)*dist\//.test(s.code)).map(projectOf))];
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    writeFileSync(join(dir, 'absent-packages.d.ts'), ABSENT_PACKAGES);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: snippetCompilerOptions({ noEmit: true, ...(fromDist.length > 0 ? { rootDirs: fromDist.flatMap((p) => [`./${p}/src`, `./${p}/dist`]) } : {}) }),
        include: ['**/*.ts', '**/*.cts'],
      }),
    );
    const { diagnostics, output, status } = compileSnippets(ROOT, dir, written);
    const report = diagnostics.map((d) => `  ${d.where}: ${d.message}`).join('\n');
    assert.equal(diagnostics.length, 0, `${diagnostics.length} TypeScript error(s) in the docs' code blocks (files under ${dir}):\n${report}`);
    assert.equal(status, 0, `tsc failed without a located error:\n${output.slice(-3000)}`);
  });
});

describe('the snippet checker itself', () => {
  it('reports a wrong block at its Markdown line, a prelude error at its fence, and compiles a good one', () => {
    const dir = snippetTree(ROOT, 'doc-snippets-selftest');
    const md = [
      '# A doc',
      '',
      '```ts',
      "import { KeywardModule } from '@keyward/nest';",
      "KeywardModule.forRoot({ session: { secrets: ['x'], store: 42 } });",
      '```',
      '',
      '<!-- snippet:',
      "import { MemoryStore } from '@keyward/nest';",
      'const notAType: NoSuchType = 1;',
      '-->',
      '```ts',
      'export const store = new MemoryStore();',
      '```',
      '',
      '<!-- snippet: skip=the "before" of a migration, wrong on purpose -->',
      '```ts',
      'this is not TypeScript',
      '```',
    ].join('\n');
    writeFileSync(join(dir, 'doc.md'), md);
    const snippets = snippetsOf(dir, 'doc.md');
    assert.deepEqual(snippets.map((s) => [s.line, s.lang, Boolean(s.skip)]), [[3, 'ts', false], [12, 'ts', false], [17, 'ts', true]]);
    const written = writeSnippets(dir, snippets.filter((s) => !s.skip));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: snippetCompilerOptions({ noEmit: true }), include: ['**/*.ts'] }));
    const { diagnostics } = compileSnippets(ROOT, dir, written);
    const places = diagnostics.map((d) => d.where);
    assert.ok(places.some((p) => p.startsWith('doc.md:5:')), `the store: 42 error at doc.md:5, got:\n${places.join('\n')}`);
    assert.ok(places.includes('doc.md:12 (prelude line 2)'), `the prelude error at the fence, got:\n${places.join('\n')}`);
    assert.equal(diagnostics.length, 2, diagnostics.map((d) => `${d.where}: ${d.message}`).join('\n'));
  });

  it('refuses a skip without a reason and an unknown flag', () => {
    const dir = snippetTree(ROOT, 'doc-snippets-selftest');
    writeFileSync(join(dir, 'a.md'), '<!-- snippet: skip= -->\n```ts\nx\n```\n');
    assert.throws(() => snippetsOf(dir, 'a.md'), /a\.md:2: a skipped snippet must say why/);
    writeFileSync(join(dir, 'b.md'), '<!-- snippet: commonj -->\n```ts\nx\n```\n');
    assert.throws(() => snippetsOf(dir, 'b.md'), /b\.md:2: unknown snippet flag "commonj"/);
  });
});

function where(s: Snippet): string {
  return `${s.doc}:${s.line}`;
}
