import { existsSync, readFileSync, readdirSync } from 'node:fs';
import ts from 'typescript5';
import { join } from 'node:path';
import { auditPaths } from '../src/audit/audit.js';
import { AUDIT_RULES, BLIND_CORPUS_DIR, blindCorpusFiles, expectedLabels, formatScores, type CorpusResult, type RuleScore } from './corpus-eval.js';

/*
 * Scores `keyward audit` on one half of the blind corpus (issue 26): `node packages/cli/dist/test/blind-eval.js A`.
 * Each repository folder of the half is audited as `keyward audit <folder>` would (one program, so
 * flows across its files are followed). Prints per-rule precision and recall at line level (the
 * `// expect:` labels in the files), whether every browser-readable-secret file gets a HIGH finding
 * on a labelled HIGH line, and the HIGH findings on files labelled safe (LABELS.md). The corpus files
 * are not in git: in a fresh clone the script says so and exits 0.
 */

const HIGH = new Set(['high', 'critical']);

/** One row of LABELS.md's file table. */
interface LabelRow {
  file: string;
  safe: boolean;
  readable: boolean;
}

/**
 * The lines of the statement that holds `line` (1-based) in `file`: the labels mark where a finding
 * should start by a convention of their own (a call's first line), the hand-written corpus by
 * another (the offending property's line). The statement-level score counts a finding as the
 * labelled one when both fall in the same statement; the line-level score needs the same line.
 */
function statementSpan(text: string, fileName: string, line: number): [number, number] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, fileName.endsWith('x') ? ts.ScriptKind.TSX : undefined);
  const pos = sf.getPositionOfLineAndCharacter(Math.min(line, sf.getLineStarts().length) - 1, 0);
  let span: [number, number] = [line, line];
  const visit = (n: ts.Node): void => {
    if (n.getStart(sf) > pos + 400 || n.end < pos) return;
    const start = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
    const end = sf.getLineAndCharacterOfPosition(n.end).line + 1;
    if (start <= line && end >= line && ts.isStatement(n) && !ts.isBlock(n) && !ts.isFunctionDeclaration(n) && !ts.isClassDeclaration(n) && !ts.isIfStatement(n) && !ts.isTryStatement(n) && !ts.isModuleDeclaration(n)) span = [start, end];
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return span;
}

/** The table's last row: every rule's findings together, in `formatScores`' columns. */
function allRow(scores: Record<string, RuleScore>): string {
  const all = Object.values(scores).reduce((a, x) => ({ tp: a.tp + x.tp, fp: a.fp + x.fp, fn: a.fn + x.fn }), { tp: 0, fp: 0, fn: 0 });
  const ratio = (n: number, d: number): string => (n / Math.max(1, d)).toFixed(2);
  return `all     ${String(all.tp + all.fn).padStart(8)}${String(all.tp).padStart(4)}${String(all.fp).padStart(4)}${String(all.fn).padStart(4)}  ${ratio(all.tp, all.tp + all.fp).padStart(9)}  ${ratio(all.tp, all.tp + all.fn).padStart(6)}`;
}

function labelRows(): Map<string, LabelRow> {
  const out = new Map<string, LabelRow>();
  const text = readFileSync(join(BLIND_CORPUS_DIR, 'LABELS.md'), 'utf8');
  for (const line of text.split('\n')) {
    const m = /^\| `([^`]+)` \| [^|]+ \| (safe|vulnerable) \| (yes|no) \|/.exec(line);
    if (m) out.set(m[1]!, { file: m[1]!, safe: m[2] === 'safe', readable: m[3] === 'yes' });
  }
  return out;
}

function main(): void {
  const half = process.argv[2];
  if (half !== 'A' && half !== 'B') {
    console.error('usage: node packages/cli/dist/test/blind-eval.js A|B');
    process.exitCode = 2;
    return;
  }
  const root = join(BLIND_CORPUS_DIR, half);
  if (!existsSync(root) || blindCorpusFiles(half).length === 0) {
    console.log(`blind corpus half ${half}: skipped, no files in ${root} (they are not committed; copy them from the worktree that built the corpus)`);
    return;
  }
  const files = blindCorpusFiles(half);
  const rows = labelRows();
  const expected = new Set<string>();
  const expectedHigh = new Map<string, Set<number>>();
  for (const f of files) {
    for (const k of expectedLabels(readFileSync(join(root, f), 'utf8'), f)) {
      expected.add(k);
      const [, line, rule] = /:(\d+):(KW\d{3})$/.exec(k)!;
      if (['KW001', 'KW003', 'KW004', 'KW005', 'KW008'].includes(rule!)) {
        const set = expectedHigh.get(f) ?? new Set<number>();
        set.add(Number(line));
        expectedHigh.set(f, set);
      }
    }
  }
  const actual = new Set<string>();
  const highLines = new Map<string, Set<number>>();
  const started = performance.now();
  for (const repo of readdirSync(root).sort()) {
    const dir = join(root, repo);
    const { findings } = auditPaths({ paths: [dir], cwd: root });
    for (const f of findings) {
      const file = f.file.split('\\').join('/');
      actual.add(`${file}:${f.line}:${f.ruleId}`);
      if (HIGH.has(f.severity)) {
        const set = highLines.get(file) ?? new Set<number>();
        set.add(f.line);
        highLines.set(file, set);
      }
    }
  }
  const ms = performance.now() - started;
  const scores: Record<string, RuleScore> = {};
  for (const rule of AUDIT_RULES) {
    const exp = [...expected].filter((k) => k.endsWith(`:${rule}`));
    const act = [...actual].filter((k) => k.endsWith(`:${rule}`));
    const tp = act.filter((k) => expected.has(k)).length;
    const fp = act.length - tp;
    const fn = exp.filter((k) => !actual.has(k)).length;
    scores[rule] = { tp, fp, fn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn) };
  }
  const result: CorpusResult = {
    scores,
    falsePositives: [...actual].filter((k) => !expected.has(k)).sort(),
    falseNegatives: [...expected].filter((k) => !actual.has(k)).sort(),
    files: files.length,
  };
  console.log(`keyward audit on blind corpus half ${half}: ${files.length} files, ${readdirSync(root).length} repositories, ${Math.round(ms)} ms (line-level labels)`);
  console.log(formatScores(result));
  console.log(allRow(scores));
  // Statement level: a finding and a label of the same rule in the same statement match (each label once).
  const texts = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  const byStatement: Record<string, RuleScore> = {};
  for (const rule of AUDIT_RULES) {
    const exp = [...expected].filter((k) => k.endsWith(`:${rule}`));
    const unmatched = new Set(exp);
    let tp = 0;
    let fp = 0;
    for (const k of [...actual].filter((x) => x.endsWith(`:${rule}`))) {
      const [, file, line] = /^(.*):(\d+):KW\d{3}$/.exec(k)!;
      const text = texts.get(file!);
      const [a, b] = text === undefined ? [Number(line), Number(line)] : statementSpan(text, file!, Number(line));
      const hit = [...unmatched].find((e) => {
        const [, ef, el] = /^(.*):(\d+):KW\d{3}$/.exec(e)!;
        return ef === file && Number(el) >= a && Number(el) <= b;
      });
      if (hit) {
        unmatched.delete(hit);
        tp++;
      } else fp++;
    }
    byStatement[rule] = { tp, fp, fn: unmatched.size, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + unmatched.size === 0 ? 1 : tp / (tp + unmatched.size) };
  }
  console.log(`\nstatement level (a finding and its label in the same statement):`);
  console.log(formatScores({ scores: byStatement, falsePositives: [], falseNegatives: [], files: files.length }));
  console.log(allRow(byStatement));
  const readable = files.filter((f) => rows.get(`${f}`)?.readable);
  const readableHigh = readable.filter((f) => [...(expectedHigh.get(f) ?? [])].some((l) => highLines.get(f)?.has(l)));
  console.log(`\nbrowser-readable-secret files with a HIGH finding on a labelled HIGH line: ${readableHigh.length}/${readable.length}`);
  for (const f of readable.filter((x) => !readableHigh.includes(x))) console.log(`  not HIGH: ${f}`);
  const safe = files.filter((f) => rows.get(f)?.safe);
  const falseHigh = safe.filter((f) => (highLines.get(f)?.size ?? 0) > 0);
  console.log(`safe files with a HIGH finding (false HIGH): ${falseHigh.length}/${safe.length}`);
  for (const f of falseHigh) console.log(`  false HIGH: ${f} lines ${[...highLines.get(f)!].join(', ')}`);
  const unlabelled = files.filter((f) => !rows.has(f));
  if (unlabelled.length > 0) console.log(`files without a LABELS.md row: ${unlabelled.join(', ')}`);
  if (result.falsePositives.length > 0) console.log(`\nfalse positives:\n  ${result.falsePositives.join('\n  ')}`);
  if (result.falseNegatives.length > 0) console.log(`false negatives:\n  ${result.falseNegatives.join('\n  ')}`);
}

main();
