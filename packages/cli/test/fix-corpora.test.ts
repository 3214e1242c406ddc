import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';
import { auditPaths } from '../src/audit/audit.js';
import type { SourceFinding } from '../src/audit/analyzer.js';
import { runCli, type CliIo } from '../src/cli.js';
import { CORPORA } from './corpus-eval.js';

/*
 * `keyward audit --fix` on the committed corpora, each copied to a temporary directory: every
 * finding the fixes are for (KW002 about a cookie flag, KW003 about a literal fallback) is gone on
 * a re-run, the other findings are unchanged, each fixed file parses and type-checks no worse than
 * before (TypeScript's syntactic and semantic diagnostics, counted), and a second --fix changes
 * nothing. `--fix --dry-run` writes nothing and prints a diff that `git apply` turns into the same
 * files as --fix.
 */

const repoNodeModules = fileURLToPath(new URL('../../../../node_modules', import.meta.url));
const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A copy of a corpus at `<tmp>/corpus`, with the repository's node_modules beside it for type-checking. */
function copyCorpus(dir: string): string {
  const tmp = mkdtempSync(join(tmpdir(), 'keyward-fix-corpus-'));
  temps.push(tmp);
  cpSync(dir, join(tmp, 'corpus'), { recursive: true });
  symlinkSync(repoNodeModules, join(tmp, 'node_modules'), 'dir');
  return tmp;
}

function filesOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(join(root, 'corpus'), { recursive: true, encoding: 'utf8' })) {
    if (/\.[cm]?[jt]s$/.test(f)) out.set(join('corpus', f), readFileSync(join(root, 'corpus', f), 'utf8'));
  }
  return out;
}

async function cli(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** TypeScript's diagnostics of each file: syntactic for all, semantic for TypeScript files. */
function diagnostics(root: string, files: readonly string[]): Map<string, { syntactic: number; semantic: number }> {
  const program = ts.createProgram(
    files.map((f) => join(root, f)),
    {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      allowJs: true,
      checkJs: false,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
  );
  const out = new Map<string, { syntactic: number; semantic: number }>();
  for (const f of files) {
    const sf = program.getSourceFile(join(root, f))!;
    out.set(f, { syntactic: program.getSyntacticDiagnostics(sf).length, semantic: f.endsWith('.ts') ? program.getSemanticDiagnostics(sf).length : 0 });
  }
  return out;
}

/** The findings the fixes are for. */
const FLAG = /\b(?:httpOnly|secure|sameSite)\b/i;
const isFixedKind = (f: SourceFinding): boolean => (f.ruleId === 'KW002' && FLAG.test(f.message)) || (f.ruleId === 'KW003' && /fallback/i.test(f.message));

function countBy(findings: readonly SourceFinding[], pick: (f: SourceFinding) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of findings) if (pick(f)) out.set(`${f.file} ${f.ruleId}`, (out.get(`${f.file} ${f.ruleId}`) ?? 0) + 1);
  return out;
}

describe('--fix on the corpora', () => {
  for (const [name, dir] of Object.entries(CORPORA)) {
    test(`${name} corpus: the fixed findings are gone on a re-run, nothing else changes, every fixed file compiles no worse, a second --fix is a no-op`, async () => {
      const root = copyCorpus(dir);
      const before = auditPaths({ paths: ['corpus'], cwd: root }).findings;
      const fixable = before.filter(isFixedKind);
      assert.ok(fixable.length >= 5, `the ${name} corpus has cookie-flag and fallback findings to fix (${fixable.length})`);
      const textsBefore = filesOf(root);
      const diagBefore = diagnostics(root, [...textsBefore.keys()]);

      const r = await cli(root, ['audit', 'corpus', '--fix', '--format', 'json', '--fail-on', 'none', '--quiet']);
      assert.equal(r.code, 0, r.stderr);
      const textsAfter = filesOf(root);
      const changed = [...textsAfter.keys()].filter((f) => textsAfter.get(f) !== textsBefore.get(f));
      assert.deepEqual(changed.sort(), [...new Set(fixable.map((f) => f.file))].sort(), 'exactly the files with fixable findings changed');
      assert.match(r.stderr, new RegExp(`fixed ${fixable.length} finding\\(s\\) in ${changed.length} files`));

      // the report after --fix is a re-run on the fixed files
      const left = (JSON.parse(r.stdout) as { findings: SourceFinding[] }).findings;
      assert.deepEqual(left.filter(isFixedKind).map((f) => `${f.file}:${f.line} ${f.message}`), [], 'no cookie-flag or fallback finding is left');
      // other rules are untouched; KW002/KW003 only lose findings (a "missing `sameSite`, `maxAge`" becomes "missing `maxAge`")
      const otherBefore = countBy(before, (f) => f.ruleId !== 'KW002' && f.ruleId !== 'KW003');
      const otherAfter = countBy(left, (f) => f.ruleId !== 'KW002' && f.ruleId !== 'KW003');
      assert.deepEqual(otherAfter, otherBefore);
      const fixedRulesBefore = countBy(before, (f) => f.ruleId === 'KW002' || f.ruleId === 'KW003');
      for (const [key, n] of countBy(left, (f) => f.ruleId === 'KW002' || f.ruleId === 'KW003')) assert.ok(n <= (fixedRulesBefore.get(key) ?? 0), `${key}: ${n} findings after --fix`);

      // each fixed file parses and type-checks no worse than before
      const diagAfter = diagnostics(root, [...textsAfter.keys()]);
      for (const f of changed) {
        const b = diagBefore.get(f)!;
        const a = diagAfter.get(f)!;
        assert.ok(a.syntactic <= b.syntactic && a.semantic <= b.semantic, `${f}: diagnostics ${JSON.stringify(b)} before, ${JSON.stringify(a)} after`);
      }
      console.log(`${name} corpus: ${fixable.length} findings fixed in ${changed.length} files; diagnostics of the fixed files before/after: ${changed.map((f) => `${relative('corpus', f)} ${diagBefore.get(f)!.syntactic}+${diagBefore.get(f)!.semantic}/${diagAfter.get(f)!.syntactic}+${diagAfter.get(f)!.semantic}`).join(', ')}`);

      const again = await cli(root, ['audit', 'corpus', '--fix', '--format', 'json', '--fail-on', 'none', '--quiet']);
      assert.match(again.stderr, /fixed 0 finding\(s\) in 0 files/);
      assert.deepEqual(filesOf(root), textsAfter);
    });
  }

  test('--fix --dry-run writes nothing and prints the diff that --fix applies (git apply turns a fresh copy into the fixed one)', async () => {
    const dry = copyCorpus(CORPORA['hand-written']);
    const untouched = filesOf(dry);
    const r = await cli(dry, ['audit', 'corpus', '--fix', '--dry-run', '--fail-on', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(filesOf(dry), untouched, '--dry-run wrote nothing');
    assert.match(r.stdout, /^--- a\/corpus\/\S+\n\+\+\+ b\/corpus\/\S+\n@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@\n/);
    assert.match(r.stdout, /^\+.*httpOnly: true/m);
    assert.match(r.stdout, /^\+.*throw new Error\('Set SESSION_SECRET: /m);
    assert.doesNotMatch(r.stdout, /"findings"|✖/, 'stdout is the diff alone');
    assert.match(r.stderr, /--dry-run: --fix would fix \d+ finding\(s\) in \d+ files; nothing written/);

    const fixed = copyCorpus(CORPORA['hand-written']);
    await cli(fixed, ['audit', 'corpus', '--fix', '--fail-on', 'none', '--quiet']);
    const patched = copyCorpus(CORPORA['hand-written']);
    execFileSync('git', ['apply', '-p1', '-'], { cwd: patched, input: r.stdout });
    assert.deepEqual(filesOf(patched), filesOf(fixed));
  });

  test('--dry-run without --fix is a usage error', async () => {
    const r = await cli(tmpdir(), ['audit', '--dry-run']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--dry-run goes with --fix/);
  });
});
