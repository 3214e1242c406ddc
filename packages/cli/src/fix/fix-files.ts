import { isAbsolute, resolve } from 'node:path';
import { analyzeSources, type AnalyzeOptions, type SourceFinding } from '../audit/analyzer.js';
import { FIXABLE_RULES, planFixes, type PlannedFix } from './fix-planner.js';
import { applyEditGroups } from './text-edit.js';

/** One file `--fix` changed: its text before and after, and how many findings in it were fixed. */
export interface FixedFile {
  /** Absolute path. */
  path: string;
  /** Path as the report shows it (relative to the working directory when inside it). */
  display: string;
  before: string;
  after: string;
  fixed: number;
}

/** What {@link fixFindings} did. */
export interface FixOutcome {
  /** Files whose text changed, in the order of the findings. */
  files: FixedFile[];
  /** Findings fixed, over all files. */
  fixed: number;
  /** Passes run: a second one runs only when fixes overlapped and some had to wait. */
  passes: number;
}

/** Options of {@link fixFindings}. */
export interface FixOptions {
  /** Text of every audited file by display path (`AuditResult.sources`). */
  sources: ReadonlyMap<string, string>;
  findings: readonly SourceFinding[];
  /** Working directory the display paths are relative to. */
  cwd: string;
  /** Session kind given to the re-analysis of files whose fixes overlapped. */
  session?: AnalyzeOptions['session'];
  /** @default 5 */
  maxPasses?: number;
}

function byFile(findings: readonly SourceFinding[]): Map<string, SourceFinding[]> {
  const out = new Map<string, SourceFinding[]>();
  for (const f of findings) {
    if (!FIXABLE_RULES.includes(f.ruleId)) continue;
    const list = out.get(f.file);
    if (list) list.push(f);
    else out.set(f.file, [f]);
  }
  return out;
}

/**
 * Computes the fixes of the findings and applies them to the files' texts in memory (nothing is
 * written). Fixes that overlap in one pass wait: the files they belong to are analysed again with
 * the first fixes applied and planned again, up to `maxPasses` passes, so each fix is computed on
 * the text it edits. Applying the result a second time changes nothing (the fixed findings are gone).
 *
 * @example
 * const result = auditPaths({ paths: ['src'] });
 * const { files } = fixFindings({ sources: result.sources, findings: result.findings, cwd: process.cwd() });
 * for (const f of files) writeFileSync(f.path, f.after);
 */
export function fixFindings(options: FixOptions): FixOutcome {
  const absolute = (display: string): string => (isAbsolute(display) ? display : resolve(options.cwd, display));
  const current = new Map<string, string>();
  const fixedIn = new Map<string, number>();
  let pending = byFile(options.findings);
  let passes = 0;
  while (pending.size > 0 && passes < (options.maxPasses ?? 5)) {
    passes++;
    const again: string[] = [];
    for (const [display, findings] of pending) {
      const text = current.get(display) ?? options.sources.get(display);
      if (text === undefined) continue;
      const planned = planFixes(absolute(display), text, findings);
      if (planned.length === 0) continue;
      const r = applyEditGroups<PlannedFix>(text, planned.map((p) => p.fix));
      if (r.applied.length > 0) {
        current.set(display, r.text);
        fixedIn.set(display, (fixedIn.get(display) ?? 0) + r.applied.length);
      }
      if (r.deferred.length > 0) again.push(display);
    }
    if (again.length === 0) break;
    const findings = analyzeSources(
      again.map((d) => ({ path: absolute(d), text: current.get(d) ?? options.sources.get(d)! })),
      { cwd: options.cwd, ...(options.session ? { session: options.session } : {}) },
    );
    pending = byFile(findings.filter((f) => again.includes(f.file)));
  }
  const files: FixedFile[] = [];
  for (const [display, after] of current) {
    const before = options.sources.get(display)!;
    if (after !== before) files.push({ path: absolute(display), display, before, after, fixed: fixedIn.get(display) ?? 0 });
  }
  return { files, fixed: files.reduce((n, f) => n + f.fixed, 0), passes };
}
