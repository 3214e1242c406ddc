import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';
import { moduleImports, type ModuleImports } from '../src/audit/engine/module-imports.js';

/*
 * moduleImports finds a file's imports from where its text says `import` and `require` when the
 * tree has parent pointers, and walks every node when it has none (or when the text has a unicode
 * escape). Both ways must give the same modules, in the same order, and the same bindings: the
 * session kind, the OAuth libraries and importSource's shortcut rest on them.
 */

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

function parse(text: string, name: string, parents: boolean): ts.SourceFile {
  const kind = /\.[cm]?js$/.test(name) ? ts.ScriptKind.JS : name.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  return ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, parents, kind);
}

function plain(m: ModuleImports): { modules: string[]; bindings: [string, string[]][] } {
  return { modules: m.modules, bindings: [...m.bindings].map(([k, v]): [string, string[]] => [k, [...v].sort()]).sort((a, b) => (a[0] < b[0] ? -1 : 1)) };
}

/** The text search (parents set) and the whole walk (no parents) on one text. */
function both(text: string, name = 'f.ts'): { scan: ReturnType<typeof plain>; walk: ReturnType<typeof plain> } {
  return { scan: plain(moduleImports(parse(text, name, true))), walk: plain(moduleImports(parse(text, name, false))) };
}

const SNIPPETS: { name: string; text: string; modules: string[]; bound: Record<string, string[]> }[] = [
  {
    name: 'esm.ts',
    text: "// import fake from 'comment'\nimport session, { a as b } from 'express-session';\nimport * as ns from 'ns' /* import again */;\nimport type { T } from 'types';\nexport import eq = require('eq');\n",
    modules: ['express-session', 'ns', 'types', 'eq'],
    bound: { session: ['express-session'], b: ['express-session'], ns: ['ns'], T: ['types'], eq: ['eq'] },
  },
  {
    name: 'cjs.js',
    text: "const s = require('express-session');\nconst { x, y: [z] } = require('pat');\nconst p = (require('prop')).field;\nlet q = (await require('aw')) as any;\nfunction f() { const requireAuth = (r) => r; requireAuth(require /* require */ ('inner')); }\nconst { d = function ({ deep }) { return deep; } } = require('defaults');\nconst later = import('dyn');\n",
    modules: ['express-session', 'pat', 'prop', 'aw', 'inner', 'defaults', 'dyn'],
    bound: { s: ['express-session'], x: ['pat'], z: ['pat'], p: ['prop'], q: ['aw'], d: ['defaults'], deep: ['defaults'], later: ['dyn'] },
  },
  {
    name: 'escaped.ts',
    text: "\\u0069mport esc from 'escaped';\nconst r = \\u0072equire('esc-require');\n",
    modules: ['escaped', 'esc-require'],
    bound: { esc: ['escaped'], r: ['esc-require'] },
  },
  {
    name: 'nested.ts',
    text: "declare module 'inner' { import x from 'in-module'; }\nnamespace N { export const m = require('in-namespace'); }\nconst notAnImport = 'import x from \"string\"'; const importer = { require: 1 }; importer.require;\n",
    modules: ['in-module', 'in-namespace'],
    bound: { x: ['in-module'], m: ['in-namespace'] },
  },
];

describe('moduleImports', () => {
  for (const s of SNIPPETS) {
    test(`${s.name}: the text search and the whole walk agree, and find every import`, () => {
      const { scan, walk } = both(s.text, s.name);
      assert.deepEqual(scan, walk);
      assert.deepEqual(scan.modules, s.modules);
      assert.deepEqual(Object.fromEntries(scan.bindings), s.bound);
    });
  }

  test('the text search and the whole walk agree on every fixture file', () => {
    let files = 0;
    for (const rel of readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })) {
      if (!/\.[cm]?[jt]sx?$/.test(rel) || rel.endsWith('.d.ts')) continue;
      const text = readFileSync(join(FIXTURES, rel), 'utf8');
      const { scan, walk } = both(text, rel);
      assert.deepEqual(scan, walk, rel);
      files++;
    }
    assert.ok(files > 50, `only ${files} fixture files`);
  });
});
