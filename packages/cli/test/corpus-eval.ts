import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeSources } from '../src/audit/analyzer.js';
import type { RuleId } from '../src/finding.js';
import { AUDIT_RULES as RULES_RUN_BY_AUDIT } from '../src/rules/rules.js';

/** The hand-written labelled corpus: realistic vulnerable (v*) and safe (s*) snippets, written with the rules. */
export const CORPUS_DIR = fileURLToPath(new URL('../../test/fixtures/corpus/', import.meta.url));
/**
 * The corpus of real code: files from public repositories (repository, path and commit in each
 * file's first line), labelled at the line before keyward was run on them.
 */
export const REAL_CORPUS_DIR = fileURLToPath(new URL('../../test/fixtures/corpus-real/', import.meta.url));

/**
 * The blind corpus (issue 26): real code labelled before keyward ran on it, split by repository into
 * half `A` (tuning) and half `B` (held out: scored once, at the end). See `corpus-blind/SPLIT.md`.
 * Its files are not in git (third-party code kept out of commits); they exist in the worktree that built it.
 */
export const BLIND_CORPUS_DIR = fileURLToPath(new URL('../../test/fixtures/corpus-blind/', import.meta.url));

/**
 * Files of one half of the blind corpus, relative to that half's folder (`owner--repo/path/file.ts`), sorted.
 * Lists only; it scores nothing.
 *
 * @example blindCorpusFiles('A') // ['MRdimenter--Vesuvian/client/src/components/OAuthPopup/server.js', ...]
 */
export function blindCorpusFiles(half: 'A' | 'B'): string[] {
  return readdirSync(join(BLIND_CORPUS_DIR, half), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(?:[cm]?[jt]s)$/.test(f))
    .map((f) => f.split('\\').join('/'))
    .sort();
}

/** The two corpora by name. */
export const CORPORA: Readonly<Record<'hand-written' | 'real', string>> = { 'hand-written': CORPUS_DIR, real: REAL_CORPUS_DIR };

/** Rule ids `keyward audit` reports: derived from the one rule list. */
export const AUDIT_RULES: readonly RuleId[] = RULES_RUN_BY_AUDIT.map((r) => r.meta.id);

/** Expected findings of one corpus file: `file:line:rule` keys from `// expect: KW001 KW002` comments. */
export function expectedLabels(text: string, file: string): Set<string> {
  const out = new Set<string>();
  text.split('\n').forEach((line, i) => {
    const m = /\/\/ expect: ((?:KW\d{3}\s*)+)\s*$/.exec(line);
    if (m) for (const id of m[1]!.trim().split(/\s+/)) out.add(`${file}:${i + 1}:${id}`);
  });
  return out;
}

export interface RuleScore {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

export interface CorpusResult {
  scores: Record<string, RuleScore>;
  falsePositives: string[];
  falseNegatives: string[];
  files: number;
}

/** Corpus file names, sorted. */
export function corpusFiles(dir: string = CORPUS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(?:[cm]?[jt]s)$/.test(f))
    .sort();
}

/**
 * Scores a detector on the corpus at line level (default: a finding counts when its rule id is
 * labelled on the line where it starts; several findings of one rule on one line count once) or at
 * file level (a file counts when it has a finding of a rule it is labelled with).
 */
export function scoreCorpus(detect: (path: string, text: string) => { line: number; ruleId: string }[], granularity: 'line' | 'file' = 'line', dir: string = CORPUS_DIR): CorpusResult {
  const expected = new Set<string>();
  const actual = new Set<string>();
  const files = corpusFiles(dir);
  for (const f of files) {
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8');
    for (const k of expectedLabels(text, f)) expected.add(granularity === 'file' ? k.replace(/:\d+:/, ':') : k);
    for (const d of detect(path, text)) actual.add(granularity === 'file' ? `${f}:${d.ruleId}` : `${f}:${d.line}:${d.ruleId}`);
  }
  const scores: Record<string, RuleScore> = {};
  for (const rule of AUDIT_RULES) {
    const exp = [...expected].filter((k) => k.endsWith(`:${rule}`));
    const act = [...actual].filter((k) => k.endsWith(`:${rule}`));
    const tp = act.filter((k) => expected.has(k)).length;
    const fp = act.length - tp;
    const fn = exp.filter((k) => !actual.has(k)).length;
    scores[rule] = { tp, fp, fn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn) };
  }
  return {
    scores,
    falsePositives: [...actual].filter((k) => !expected.has(k)).sort(),
    falseNegatives: [...expected].filter((k) => !actual.has(k)).sort(),
    files: files.length,
  };
}

/**
 * keyward's own analysis, one file at a time, as `keyward audit <file>` runs it: files it imports
 * are read when they exist (a corpus file may import a module from a sub-folder, which is not a
 * corpus file itself), and the session kind comes from the file.
 */
export function keywardDetect(path: string, text: string): { line: number; ruleId: string }[] {
  return analyzeSources([{ path, text }], { cwd: dirname(path) });
}

/** A table of the scores, for the test log and the docs. */
export function formatScores(r: CorpusResult): string {
  const lines = ['rule   labelled  TP  FP  FN  precision  recall'];
  for (const [rule, s] of Object.entries(r.scores)) {
    const labelled = s.tp + s.fn;
    const p = s.tp + s.fp === 0 ? '-' : s.precision.toFixed(2);
    const rc = labelled === 0 ? '-' : s.recall.toFixed(2);
    lines.push(`${rule}  ${String(labelled).padStart(8)}${String(s.tp).padStart(4)}${String(s.fp).padStart(4)}${String(s.fn).padStart(4)}  ${p.padStart(9)}  ${rc.padStart(6)}`);
  }
  return lines.join('\n');
}
