// What a user installs must declare everything its published code imports: inside the monorepo,
// hoisting hides a missing dependency (the pino bug of issue 14). Every file each package
// publishes (its package.json `files`) is parsed, and every bare import, import() and require()
// with a string literal must name a Node built-in, the package itself, or one of its
// dependencies / peer dependencies. Comments and strings are not imports (a real parser).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const PACKAGES = ['packages/core', 'packages/nest', 'packages/cli'];

function walk(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((f) => walk(join(path, f)));
}

/** The called name: `f(...)`, `mod.f(...)`, and the CommonJS build's `(0, mod.f)(...)`. */
function calleeName(e: ts.Expression): string | undefined {
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) return calleeName(e.right);
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

/** Module specifiers of one JavaScript or declaration file. */
function specifiers(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) out.push(node.argument.literal.text);
    else if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteral(node.arguments[0]!)) {
      const callee = node.expression;
      const name = calleeName(callee);
      // An optional peer is loaded by name through loadOptionalPeer('pino', ...): that is an import too.
      if (callee.kind === ts.SyntaxKind.ImportKeyword || name === 'require' || name === 'loadOptionalPeer') out.push((node.arguments[0] as ts.StringLiteral).text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const packageOf = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

describe('published packages declare what they import (issue 14)', () => {
  for (const dir of PACKAGES) {
    it(`${dir}: every import of its published files is a built-in, itself, or declared`, () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { name: string; files: string[]; dependencies?: object; peerDependencies?: object };
      const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      const files = pkg.files.flatMap((f) => walk(join(ROOT, dir, f))).filter((f) => /\.(c?js|mjs|d\.c?ts)$/.test(f));
      assert.ok(files.length > 5, `${dir}: no published files found (build first)`);
      const undeclared = new Map<string, string>();
      let seen = 0;
      for (const file of files) {
        for (const spec of specifiers(file)) {
          seen++;
          if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
          if (!declared.has(packageOf(spec))) undeclared.set(packageOf(spec), file.slice(ROOT.length));
        }
      }
      assert.ok(seen > 10, `${dir}: the scan found only ${seen} imports`);
      assert.deepEqual(Object.fromEntries(undeclared), {}, `${dir} imports packages its package.json does not declare`);
    });
  }

  // Tools that check a package without parsing it (registry scanners, bundler pre-passes) read
  // import statements from the text line by line: a string like the name of Buffer's factory
  // followed by a quote read to them as an import of a package named ", " (found in the CLI).
  for (const dir of PACKAGES) {
    it(`${dir}: no line of its published files or sources reads as an undeclared import to a text scan`, () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { name: string; files: string[]; dependencies?: object; peerDependencies?: object };
      const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      const files = [...pkg.files, 'src'].flatMap((f) => walk(join(ROOT, dir, f))).filter((f) => /\.(c?[jt]s|mjs|mts)$/.test(f));
      const patterns = [/\bfrom\s*['"]([^'"\n]*)['"]/g, /\bimport\s*\(\s*['"]([^'"\n]*)['"]/g, /\brequire\s*\(\s*['"]([^'"\n]*)['"]/g, /\bimport\s+['"]([^'"\n]*)['"]/g];
      const misread: string[] = [];
      for (const file of files) {
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          for (const re of patterns) {
            for (const m of line.matchAll(re)) {
              const spec = m[1]!;
              if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec) || declared.has(packageOf(spec))) continue;
              misread.push(`${file.slice(ROOT.length)}: ${JSON.stringify(spec)}`);
            }
          }
        }
      }
      assert.deepEqual(misread, [], `${dir}: lines a text scan reads as imports of undeclared packages`);
    });
  }

  it('the scan sees require(), import() and an optional peer loaded by name, but not a comment or a string', () => {
    const tmp = join(ROOT, 'packages/nest/dist/test/consumer/declared-imports.fixture.js');
    // Written at run time so the fixture is exactly what the parser reads.
    const text = "// require('in-a-comment')\nconst s = \"require('in-a-string')\";\nrequire('real-cjs');\nimport('real-esm');\n(0, peer_js_1.loadOptionalPeer)('real-peer', 'x');\n/** `import x = require()` */\n";
    (ts.sys.writeFile as (p: string, d: string) => void)(tmp, text);
    assert.deepEqual(specifiers(tmp), ['real-cjs', 'real-esm', 'real-peer']);
  });
});
