import type ts from 'typescript5';
import type { AnalysisContext } from '../audit/engine/analysis-context.js';
import type { RuleId, Severity } from '../finding.js';

/** What a user reads about a rule: what it finds, why that is exploitable, how to fix it. */
export interface RuleMeta {
  id: RuleId;
  /** Kebab-case name, also the ESLint rule name (`keyward/<name>`). */
  name: string;
  /** Default severity; a finding may be lower (for example a missing, rather than disabled, flag). */
  severity: Severity;
  /** Short title. */
  title: string;
  /** Why it is exploitable. */
  why: string;
  /** How to fix it. */
  fix: string;
  /** A NestJS example of the fixed code, with `@keyward/nest` where it does the fix. */
  example: string;
  /** Where the fix is explained at length (a page of Keyward's docs), when one is. */
  guide?: string;
  /** Which commands report it: `keyward audit`, `keyward probe`, `keyward legacy-sessions`. */
  sources: readonly ('audit' | 'probe' | 'legacy-sessions')[];
}

/**
 * One rule: its metadata and, for rules `keyward audit` runs, a visitor called on every node of
 * every audited file. The visitor asks the {@link AnalysisContext} where values come from and
 * reports through it.
 *
 * @example
 * export const rule: Rule = { meta: { id: 'KW009', name: 'my-rule', ... }, visit(node, ctx) { ... } };
 */
export interface Rule {
  meta: RuleMeta;
  visit?: (node: ts.Node, ctx: AnalysisContext) => void;
}
