import ts from 'typescript5';
import { extname } from 'node:path';
import type { RuleId } from '../finding.js';
import { planCookieFlagsFix } from './cookie-flags.fix.js';
import { planFallbackSecretFix } from './fallback-secret.fix.js';
import type { TextEdit } from './text-edit.js';

/** What a fix needs of a finding: its rule, its message, and the character range it covers in the file's text. */
export interface FixableFinding {
  ruleId: RuleId;
  message: string;
  start: number;
  end: number;
}

/** The fix of one finding: what it does, in a few words, and the edits of the file's text that do it. */
export interface PlannedFix {
  ruleId: RuleId;
  description: string;
  edits: TextEdit[];
}

/** The fixes `keyward audit --fix` and the ESLint plugin apply, by rule. */
const PLANNERS: Partial<Record<RuleId, (sf: ts.SourceFile, finding: FixableFinding) => PlannedFix | undefined>> = {
  KW002: planCookieFlagsFix,
  KW003: planFallbackSecretFix,
};

/** Rules that have automatic fixes. */
export const FIXABLE_RULES: readonly RuleId[] = Object.keys(PLANNERS) as RuleId[];

function scriptKind(fileName: string): ts.ScriptKind {
  const ext = extname(fileName);
  if (ext === '.tsx') return ts.ScriptKind.TSX;
  if (ext === '.jsx') return ts.ScriptKind.JSX;
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs') return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

let lastParsed: { fileName: string; text: string; sf: ts.SourceFile } | undefined;

/** The file's syntax tree (the last one is kept: the ESLint rules ask for the same file in turn). */
function parse(fileName: string, text: string): ts.SourceFile {
  if (lastParsed && lastParsed.fileName === fileName && lastParsed.text === text) return lastParsed.sf;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, scriptKind(fileName));
  lastParsed = { fileName, text, sf };
  return sf;
}

/**
 * The fix of each finding that has one, in the findings' order (a finding without a fix is left
 * out). Fixes are computed from the file's syntax tree at the finding's range; a finding that
 * points at code the fix does not recognise gets none. Two findings may share a fix (the same
 * edits); {@link applyEditGroups} applies it once.
 *
 * @example
 * const fixes = planFixes('src/main.ts', text, findings.filter((f) => f.file === 'src/main.ts'));
 */
export function planFixes<F extends FixableFinding>(fileName: string, text: string, findings: readonly F[]): { finding: F; fix: PlannedFix }[] {
  const wanted = findings.filter((f) => PLANNERS[f.ruleId] !== undefined && f.start >= 0 && f.end <= text.length);
  if (wanted.length === 0) return [];
  const sf = parse(fileName, text);
  const out: { finding: F; fix: PlannedFix }[] = [];
  for (const finding of wanted) {
    let fix: PlannedFix | undefined;
    try {
      fix = PLANNERS[finding.ruleId]!(sf, finding);
    } catch {
      // an unexpected shape of code: no fix rather than a wrong one
      fix = undefined;
    }
    if (fix && fix.edits.length > 0) out.push({ finding, fix });
  }
  return out;
}
