import { analyzeSources, type SourceFinding } from '../audit/analyzer.js';
import { FIXABLE_RULES, planFixes, type PlannedFix } from '../fix/fix-planner.js';
import { RULE_LIST, type RuleMeta } from '../rules/rules.js';
import { TOOL_VERSION } from '../version.js';

/*
 * The keyward rules as an ESLint plugin (flat config). Each ESLint rule runs the same analysis as
 * `keyward audit` on the file's text (parsed with the TypeScript compiler, so it works whatever
 * parser ESLint uses) and reports the findings of its own rule id. The analysis runs once per
 * file and is shared by the five rules. KW002 (cookie flags) and KW003 (literal fallback secrets)
 * carry the fixes of `keyward audit --fix`, as autofixes (`eslint --fix`) and as suggestions.
 */

/** The subset of ESLint's rule context this plugin uses. */
interface RuleContext {
  filename?: string;
  getFilename?: () => string;
  sourceCode?: { text: string };
  getSourceCode?: () => { text: string };
  options: readonly unknown[];
  report(descriptor: {
    loc: { start: { line: number; column: number }; end: { line: number; column: number } };
    message: string;
    fix?: (fixer: RuleFixer) => EslintFix[];
    suggest?: { desc: string; fix: (fixer: RuleFixer) => EslintFix[] }[];
  }): void;
}

/** The part of ESLint's fixer the fixes use. */
interface RuleFixer {
  replaceTextRange(range: [number, number], text: string): EslintFix;
}
type EslintFix = { range: [number, number]; text: string };

/** An ESLint rule module. */
export interface KeywardEslintRule {
  meta: {
    type: 'problem';
    docs: { description: string; recommended: boolean; url: string };
    schema: unknown[];
    messages?: Record<string, string>;
    /** Set on the rules that have automatic fixes (the same as `keyward audit --fix`). */
    fixable?: 'code';
    hasSuggestions?: boolean;
  };
  create(context: RuleContext): Record<string, () => void>;
}

/** Options of every keyward ESLint rule: where session data lives (see `keyward audit --session`). */
export interface KeywardRuleOptions {
  session?: 'auto' | 'client' | 'server';
}

const cache = new WeakMap<object, { key: string; findings: SourceFinding[] }>();

function findingsFor(context: RuleContext): SourceFinding[] {
  const sourceCode = context.sourceCode ?? context.getSourceCode?.();
  if (!sourceCode) return [];
  const filename = context.filename ?? context.getFilename?.() ?? '<input>.ts';
  const opts = (context.options[0] ?? {}) as KeywardRuleOptions;
  const key = `${filename}\u0000${opts.session ?? 'auto'}`;
  const hit = cache.get(sourceCode);
  if (hit && hit.key === key) return hit.findings;
  const path = /\.[cm]?[jt]sx?$/.test(filename) ? filename : `${filename}.ts`;
  let findings: SourceFinding[];
  try {
    findings = analyzeSources([{ path, text: sourceCode.text }], { session: opts.session ?? 'auto' });
  } catch {
    findings = [];
  }
  // findings in other files (an imported options object) are reported by the rule in that file
  const own = findings.filter((f) => f.start <= sourceCode.text.length);
  cache.set(sourceCode, { key, findings: own });
  return own;
}

function makeRule(meta: RuleMeta): KeywardEslintRule {
  const fixable = FIXABLE_RULES.includes(meta.id);
  return {
    meta: {
      ...(fixable ? { fixable: 'code' as const, hasSuggestions: true } : {}),
      type: 'problem',
      docs: { description: meta.title, recommended: true, url: `https://github.com/keyward/keyward/blob/main/docs/cli.md#${meta.id.toLowerCase()}-${meta.name}` },
      schema: [
        {
          type: 'object',
          properties: { session: { enum: ['auto', 'client', 'server'] } },
          additionalProperties: false,
        },
      ],
    },
    create(context) {
      return {
        Program() {
          const own = findingsFor(context).filter((f) => f.ruleId === meta.id);
          const sourceCode = context.sourceCode ?? context.getSourceCode?.();
          const filename = context.filename ?? context.getFilename?.() ?? '<input>.ts';
          // the same fixes as `keyward audit --fix`: applied by `eslint --fix`, and offered as suggestions
          const fixes = fixable && sourceCode ? new Map(planFixes(filename, sourceCode.text, own).map((p) => [p.finding, p.fix])) : new Map<SourceFinding, PlannedFix>();
          for (const f of own) {
            const planned = fixes.get(f);
            const apply = planned ? (fixer: RuleFixer): EslintFix[] => planned.edits.map((e) => fixer.replaceTextRange([e.start, e.end], e.text)) : undefined;
            context.report({
              loc: { start: { line: f.line, column: f.column - 1 }, end: { line: f.endLine, column: f.endColumn - 1 } },
              message: `${f.message}${f.evidence ? ` [${f.evidence}]` : ''} (${meta.id}; fix: ${meta.fix})`,
              ...(apply && planned ? { fix: apply, suggest: [{ desc: planned.description, fix: apply }] } : {}),
            });
          }
        },
      };
    },
  };
}

/** The rules by ESLint name (without the `keyward/` prefix). */
export const rules: Record<string, KeywardEslintRule> = Object.fromEntries(RULE_LIST.filter((r) => r.sources.includes('audit')).map((r) => [r.name, makeRule(r)]));

/** A flat-config object. */
export interface FlatConfig {
  name?: string;
  files?: string[];
  plugins: Record<string, unknown>;
  rules: Record<string, 'error' | 'warn' | 'off' | ['error' | 'warn', KeywardRuleOptions]>;
}

/**
 * The ESLint plugin.
 *
 * @example
 * // eslint.config.js
 * import keyward from '@keyward/cli/eslint-plugin';
 * export default [keyward.configs.recommended];
 */
const plugin: { meta: { name: string; version: string }; rules: Record<string, KeywardEslintRule>; configs: { recommended: FlatConfig } } = {
  meta: { name: '@keyward/eslint-plugin', version: TOOL_VERSION },
  rules,
  configs: { recommended: { name: 'keyward/recommended', plugins: {}, rules: {} } },
};
plugin.configs.recommended = {
  name: 'keyward/recommended',
  plugins: { keyward: plugin },
  rules: Object.fromEntries(Object.keys(rules).map((name) => [`keyward/${name}`, 'error' as const])),
};

export default plugin;
