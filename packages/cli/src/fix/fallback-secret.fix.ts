import ts from 'typescript5';
import { memberName, nodeAt, outermostWrapper, quoted, standsAlone, styleOf, unwrapExpression } from './fix-syntax.js';
import type { FixableFinding, PlannedFix } from './fix-planner.js';
import type { TextEdit } from './text-edit.js';

/*
 * KW003 fixes for a literal fallback secret: `process.env.X || 'literal'`, `?? 'literal'`,
 * `process.env.X ? process.env.X : 'literal'` and `config.get('X', 'literal')` become a value that
 * is required: when X is missing the expression throws `Error('Set X: ...')`, so the app stops at
 * startup (where configuration is read) instead of running with a public secret. The replacement
 * is one expression (an arrow function called in place) and needs no import, so it drops in
 * wherever the literal stood. A literal that is not a fallback (a hard-coded secret) has no
 * automatic fix: what replaces it is the user's choice.
 */

/** Calls that read a configuration value and take a default as their second argument. */
const CONFIG_GET = /^(?:get|getOrThrow|getString|getOrDefault|read)$/;

/** The env var or config key an expression reads, for the error message: `X` of `process.env.X`, `config.get('X')`. */
function configName(node: ts.Expression): string | undefined {
  const e = unwrapExpression(node);
  if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.BarBarToken || e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)) {
    const names = [configName(e.left), configName(e.right)].filter((n): n is string => n !== undefined);
    return names.length > 0 ? names.join(' or ') : undefined;
  }
  if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
    const holder = unwrapExpression(e.expression);
    // process.env.X, import.meta.env.X, env.X, config.X
    if ((ts.isPropertyAccessExpression(holder) && holder.name.text === 'env') || (ts.isIdentifier(holder) && /^(?:env|config|settings)$/i.test(holder.text))) return memberName(e);
    return undefined;
  }
  if (ts.isCallExpression(e)) {
    const callee = unwrapExpression(e.expression);
    const arg = e.arguments[0] ? unwrapExpression(e.arguments[0]) : undefined;
    if (ts.isPropertyAccessExpression(callee) && CONFIG_GET.test(callee.name.text) && arg && ts.isStringLiteralLike(arg)) return arg.text;
  }
  return undefined;
}

/** The name a finding's message gives in backquotes after "for" (`Literal fallback for \`X\``), if any. */
function nameInMessage(message: string): string | undefined {
  return /\bfor `([^`]{1,80})`/.exec(message)?.[1];
}

/** `(() => { throw new Error('Set X: ...'); })()`: an expression of type never that stops the app with a clear message. */
function requiredValue(name: string, sf: ts.SourceFile): string {
  const message = `Set ${name}: it is required (a default written in the source would be a public secret)`;
  return `(() => { throw new Error(${quoted(message, styleOf(sf))}); })()`;
}

/**
 * The fix of a KW003 finding on a literal fallback secret, or undefined when the literal is not
 * a fallback (a hard-coded secret, a constant used as a fallback elsewhere).
 */
export function planFallbackSecretFix(sf: ts.SourceFile, finding: FixableFinding): PlannedFix | undefined {
  const found = nodeAt(sf, finding.start, finding.end);
  if (!found || !(ts.isStringLiteral(found) || ts.isNoSubstitutionTemplateLiteral(found) || ts.isTemplateExpression(found))) return undefined;
  const lit = outermostWrapper(found);
  const parent = lit.parent;
  const name = (left: ts.Expression): string => configName(left) ?? nameInMessage(finding.message) ?? 'the secret';
  let edits: TextEdit[] | undefined;
  let what = '';
  if (parent && ts.isBinaryExpression(parent) && parent.right === lit && (parent.operatorToken.kind === ts.SyntaxKind.BarBarToken || parent.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)) {
    what = name(parent.left);
    edits = [{ start: lit.getStart(sf), end: lit.getEnd(), text: requiredValue(what, sf) }];
  } else if (parent && ts.isConditionalExpression(parent) && parent.whenFalse === lit) {
    what = configName(parent.whenTrue) ?? name(parent.condition);
    edits = [{ start: lit.getStart(sf), end: lit.getEnd(), text: requiredValue(what, sf) }];
  } else if (parent && ts.isCallExpression(parent) && parent.arguments.length === 2 && parent.arguments[1] === lit) {
    const callee = unwrapExpression(parent.expression);
    if (!ts.isPropertyAccessExpression(callee) || !CONFIG_GET.test(callee.name.text)) return undefined;
    what = name(parent);
    // config.get<string>('X', 'literal') -> (config.get<string>('X') ?? (() => { throw ... })())
    const start = parent.getStart(sf);
    const read = `${sf.text.slice(start, parent.arguments[0]!.getEnd())})`;
    const replacement = `${read} ?? ${requiredValue(what, sf)}`;
    edits = [{ start, end: parent.getEnd(), text: standsAlone(outermostWrapper(parent)) && outermostWrapper(parent) === parent ? replacement : `(${replacement})` }];
  }
  if (!edits) return undefined;
  return { ruleId: finding.ruleId, description: `Require ${what} at startup instead of falling back to a literal`, edits };
}
