import ts from '../../typescript.cjs';
import { LITERAL_KEEPING_CALLS, accessName, calleeName, exits, isProcessEnv, objectName, unwrap } from './ast.js';
import type { Symbols } from './symbols.js';

/*
 * Literal secrets: the string literals an expression can evaluate to (through constants and
 * `||` / `??` fallbacks), the env var or config key an expression reads, and whether code refuses
 * a literal at runtime (an `if` that throws on it).
 */

/** A string literal that ends up as a secret value, and how. */
export interface LiteralCandidate {
  node: ts.StringLiteralLike;
  /** Set when the literal is a fallback for an env var or config value, e.g. `process.env.X || 'lit'`. */
  fallbackFor?: string;
}

/** Finds the literals behind a value and the reads of configuration. */
export class Literals {
  constructor(private readonly symbols: Symbols) {}

  /** String literals an expression can evaluate to, following constants and `||` / `??` fallbacks. */
  literalCandidates(node: ts.Expression | undefined, depth = 0, fallbackFor?: string): LiteralCandidate[] {
    if (!node || depth > 8) return [];
    const e = unwrap(node);
    const d = depth + 1;
    if (ts.isStringLiteralLike(e)) return e.text.length > 0 ? [{ node: e, ...(fallbackFor ? { fallbackFor } : {}) }] : [];
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.BarBarToken || e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)) {
      const source = this.configReadName(e.left);
      return [...this.literalCandidates(e.left, d, fallbackFor), ...this.literalCandidates(e.right, d, source ?? fallbackFor)];
    }
    if (ts.isConditionalExpression(e)) {
      return [...this.literalCandidates(e.whenTrue, d, fallbackFor), ...this.literalCandidates(e.whenFalse, d, fallbackFor)];
    }
    if (ts.isArrayLiteralExpression(e)) return e.elements.flatMap((el) => this.literalCandidates(el as ts.Expression, d, fallbackFor));
    if (ts.isCallExpression(e)) {
      const name = calleeName(e);
      if (name !== undefined && LITERAL_KEEPING_CALLS.has(name)) return this.literalCandidates(e.arguments[0], d, fallbackFor);
      if ((name === 'get' || name === 'getOrThrow') && e.arguments[1] && this.configReadName(e)) {
        return this.literalCandidates(e.arguments[1], d, this.configReadName(e));
      }
      return [];
    }
    if (ts.isIdentifier(e)) {
      const decl = this.symbols.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return this.literalCandidates(decl.initializer, d, fallbackFor);
      return [];
    }
    if (ts.isPropertyAccessExpression(e)) {
      const decl = this.symbols.declarationOf(e.name);
      if (decl && (ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer) return this.literalCandidates(decl.initializer, d, fallbackFor);
    }
    return [];
  }

  /** Name of the env var or config key an expression reads (`process.env.X`, `config.get('X')`), if any. */
  configReadName(node: ts.Expression): string | undefined {
    const e = unwrap(node);
    if ((ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && isProcessEnv(e.expression)) return accessName(e);
    if (ts.isCallExpression(e)) {
      const name = calleeName(e);
      const callee = unwrap(e.expression);
      const arg = e.arguments[0];
      if ((name === 'get' || name === 'getOrThrow') && ts.isPropertyAccessExpression(callee) && /config|env|settings/i.test(objectName(callee.expression) ?? '') && arg && ts.isStringLiteralLike(arg)) return arg.text;
    }
    return undefined;
  }

  /**
   * True when code in `sf` refuses the literal at runtime: an `if` whose condition mentions the
   * literal's value, the env var it falls back for, or the constant holding it in a comparison,
   * and whose branch throws or exits.
   */
  isRejectedAtRuntime(c: LiteralCandidate, sf: ts.SourceFile): boolean {
    const value = c.node.text;
    let holder: ts.Symbol | undefined;
    let p: ts.Node = c.node;
    while (p.parent && !ts.isVariableDeclaration(p) && !ts.isStatement(p)) p = p.parent;
    if (ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) holder = this.symbols.symbolAt(p.name);
    let rejected = false;
    const mentions = (cond: ts.Node): boolean => {
      let hit = false;
      const v = (n: ts.Node): void => {
        if (hit) return;
        if (ts.isStringLiteralLike(n) && n.text === value && n !== c.node) hit = true;
        else if (c.fallbackFor && (ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n)) && isProcessEnv(n.expression) && accessName(n) === c.fallbackFor) hit = true;
        else if (holder && ts.isIdentifier(n) && this.symbols.symbolAt(n) === holder) {
          const parent = n.parent;
          const bare = ts.isPrefixUnaryExpression(parent) || n === cond;
          if (!bare) hit = true;
        }
        ts.forEachChild(n, v);
      };
      v(cond);
      return hit;
    };
    const visit = (n: ts.Node): void => {
      if (rejected) return;
      if (ts.isIfStatement(n) && exits(n.thenStatement) && mentions(n.expression)) rejected = true;
      else if (ts.isCallExpression(n) && /^(?:assert|invariant|ok|notEqual|notStrictEqual)$/.test(calleeName(n) ?? '') && n.arguments.some((a) => mentions(a))) rejected = true;
      ts.forEachChild(n, visit);
    };
    visit(sf);
    return rejected;
  }
}
