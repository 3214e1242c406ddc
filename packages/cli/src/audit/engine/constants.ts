import ts from '../../typescript.cjs';
import type { BranchCondition } from './conditions.js';
import { accessName, propertyNameText, returnExpressions, unwrap } from './ast.js';
import type { Symbols } from './symbols.js';

/*
 * The constants room: what an expression evaluates to when the source says so — object literals
 * behind variables, imports and simple calls; property values through spreads (and both branches
 * of a conditional spread); folded booleans, numbers and strings; options assigned after the literal.
 */

/** One value an option or expression can take, and the branch conditions that lead to it. */
export interface Alternative<T = ts.Expression> {
  /** The value, or undefined when the property is absent on this branch. */
  value: T | undefined;
  conds: BranchCondition[];
  /** The conditional spread or expression that made the choice, where a finding about it belongs. */
  at?: ts.Node;
}

/** A constant an expression folds to. */
export type ConstValue = boolean | number | string | null | undefined;

/** Folds constants and finds object literals, following names with the {@link Symbols} room. */
export class Constants {
  constructor(private readonly symbols: Symbols) {}

  /** The object literal an expression evaluates to, following identifiers, imports and simple calls. */
  objectLiteralOf(node: ts.Expression | undefined, depth = 0): ts.ObjectLiteralExpression | undefined {
    if (!node || depth > 8) return undefined;
    const e = unwrap(node);
    if (ts.isObjectLiteralExpression(e)) return e;
    if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
      const decl = this.symbols.declarationOf(ts.isPropertyAccessExpression(e) ? e.name : e);
      if (!decl) return undefined;
      // a parameter's default (`function useCors(app, options = { … })`) is what runs when the caller gives none
      if ((ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl) || ts.isParameter(decl)) && decl.initializer) return this.objectLiteralOf(decl.initializer, depth + 1);
      if (ts.isExportAssignment(decl)) return this.objectLiteralOf(decl.expression, depth + 1);
      return undefined;
    }
    if (ts.isCallExpression(e)) {
      const fn = this.symbols.functionOf(e.expression);
      if (fn) {
        for (const r of returnExpressions(fn)) {
          const o = this.objectLiteralOf(r, depth + 1);
          if (o) return o;
        }
      }
    }
    return undefined;
  }

  /** Value of a property of an object literal (following spreads), or undefined. */
  property(obj: ts.ObjectLiteralExpression | undefined, name: string, depth = 0): ts.Expression | ts.ShorthandPropertyAssignment | undefined {
    if (!obj || depth > 5) return undefined;
    for (let i = obj.properties.length - 1; i >= 0; i--) {
      const p = obj.properties[i]!;
      if (ts.isPropertyAssignment(p) && propertyNameText(p.name) === name) return p.initializer;
      if (ts.isShorthandPropertyAssignment(p) && p.name.text === name) return p;
      if (ts.isSpreadAssignment(p)) {
        const inner = this.property(this.objectLiteralOf(p.expression), name, depth + 1);
        if (inner) return inner;
      }
    }
    return undefined;
  }

  /**
   * Every value a property can take, with the conditions that choose it: a conditional spread
   * (`{ ...(prod ? { secure: true } : {}) }`, `{ ...(prod && { secure: true }) }`) gives one
   * alternative per branch, where a branch without the property falls back to the properties
   * before the spread. A plain property gives one alternative with no condition; an absent one,
   * one alternative whose value is undefined.
   */
  propertyAlternatives(obj: ts.ObjectLiteralExpression | undefined, name: string, depth = 0): Alternative<ts.Expression | ts.ShorthandPropertyAssignment>[] {
    if (!obj || depth > 5) return [{ value: undefined, conds: [] }];
    const from = (i: number): Alternative<ts.Expression | ts.ShorthandPropertyAssignment>[] => {
      for (; i >= 0; i--) {
        const p = obj.properties[i]!;
        if (ts.isPropertyAssignment(p) && propertyNameText(p.name) === name) return [{ value: p.initializer, conds: [] }];
        if (ts.isShorthandPropertyAssignment(p) && p.name.text === name) return [{ value: p, conds: [] }];
        if (!ts.isSpreadAssignment(p)) continue;
        const e = unwrap(p.expression);
        let branches: [BranchCondition, ts.Expression | undefined][] | undefined;
        if (ts.isConditionalExpression(e)) branches = [[{ expr: e.condition, holds: true }, e.whenTrue], [{ expr: e.condition, holds: false }, e.whenFalse]];
        else if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) branches = [[{ expr: e.left, holds: true }, e.right], [{ expr: e.left, holds: false }, undefined]];
        if (branches) {
          const rest = from(i - 1);
          const out: Alternative<ts.Expression | ts.ShorthandPropertyAssignment>[] = [];
          for (const [cond, branch] of branches) {
            const inner = branch ? this.objectLiteralOf(branch) : undefined;
            const alts = inner && this.property(inner, name) !== undefined ? this.propertyAlternatives(inner, name, depth + 1) : rest;
            for (const a of alts) out.push({ value: a.value, conds: [cond, ...a.conds], at: a.at ?? p });
          }
          return out;
        }
        const inner = this.objectLiteralOf(p.expression);
        if (inner && this.property(inner, name) !== undefined) return this.propertyAlternatives(inner, name, depth + 1);
      }
      return [{ value: undefined, conds: [] }];
    };
    return from(obj.properties.length - 1);
  }

  /**
   * The values an expression can take, with their conditions: both branches of `c ? a : b`, the
   * fallback of `x || y` / `x ?? y` (taken when `x` is unset), constants and parameter defaults
   * followed to their initializers.
   */
  valueAlternatives(node: ts.Expression | undefined, depth = 0): Alternative[] {
    if (!node) return [];
    const e = unwrap(node);
    if (depth > 6) return [{ value: e, conds: [] }];
    const d = depth + 1;
    if (ts.isConditionalExpression(e)) {
      return [
        ...this.valueAlternatives(e.whenTrue, d).map((a) => ({ ...a, conds: [{ expr: e.condition, holds: true }, ...a.conds], at: a.at ?? e })),
        ...this.valueAlternatives(e.whenFalse, d).map((a) => ({ ...a, conds: [{ expr: e.condition, holds: false }, ...a.conds], at: a.at ?? e })),
      ];
    }
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.BarBarToken || e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)) {
      return [
        ...this.valueAlternatives(e.left, d),
        ...this.valueAlternatives(e.right, d).map((a) => ({ ...a, conds: [{ expr: e.left, holds: false, fallback: true }, ...a.conds], at: a.at ?? e })),
      ];
    }
    if (ts.isIdentifier(e) && e.text !== 'undefined') {
      const decl = this.symbols.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return this.valueAlternatives(decl.initializer, d);
      if (decl && ts.isParameter(decl) && decl.initializer) return this.valueAlternatives(decl.initializer, d);
    }
    if (ts.isPropertyAccessExpression(e)) {
      const decl = this.symbols.declarationOf(e.name);
      if (decl && (ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer && ts.isObjectLiteralExpression(decl.parent)) return this.valueAlternatives(decl.initializer, d);
    }
    return [{ value: e, conds: [] }];
  }

  /** The value of a property, a shorthand property followed to its variable's initializer. */
  propertyValue(obj: ts.ObjectLiteralExpression | undefined, name: string): ts.Expression | undefined {
    const p = this.property(obj, name);
    if (!p) return undefined;
    if (ts.isShorthandPropertyAssignment(p)) {
      const decl = this.symbols.declarationOf(p);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return decl.initializer;
      return p.name;
    }
    return p;
  }

  /** Constant value of an expression when it can be folded: booleans, numbers, strings. */
  constValue(node: ts.Expression | undefined, depth = 0): ConstValue {
    if (!node || depth > 8) return undefined;
    const e = unwrap(node);
    if (e.kind === ts.SyntaxKind.TrueKeyword) return true;
    if (e.kind === ts.SyntaxKind.FalseKeyword) return false;
    if (e.kind === ts.SyntaxKind.NullKeyword) return null;
    if (ts.isNumericLiteral(e)) return Number(e.text);
    if (ts.isStringLiteralLike(e)) return e.text;
    if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken) {
      const v = this.constValue(e.operand, depth + 1);
      return typeof v === 'number' ? -v : undefined;
    }
    if (ts.isBinaryExpression(e)) return foldArithmetic(e.operatorToken.kind, this.constValue(e.left, depth + 1), this.constValue(e.right, depth + 1));
    if (ts.isIdentifier(e)) {
      if (e.text === 'undefined') return undefined;
      const decl = this.symbols.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return this.constValue(decl.initializer, depth + 1);
    }
    if (ts.isPropertyAccessExpression(e)) {
      const decl = this.symbols.declarationOf(e.name);
      if (decl && (ts.isPropertyAssignment(decl) || ts.isEnumMember(decl)) && decl.initializer) return this.constValue(decl.initializer, depth + 1);
    }
    return undefined;
  }

  /**
   * Options assigned after the object literal: `opts.cookie.secure = false`, `sess.cookie = { … }`.
   * Returns the last plain assignment to `<holder>.<path>` in the literal's file, if any.
   */
  assignedOption(obj: ts.ObjectLiteralExpression, path: readonly string[]): ts.Expression | undefined {
    let holder: ts.Node = obj;
    while (holder.parent && (ts.isParenthesizedExpression(holder.parent) || ts.isAsExpression(holder.parent) || ts.isSatisfiesExpression(holder.parent))) holder = holder.parent;
    const decl = holder.parent;
    if (!decl || !ts.isVariableDeclaration(decl) || !ts.isIdentifier(decl.name)) return undefined;
    const sym = this.symbols.symbolAt(decl.name);
    if (!sym) return undefined;
    let found: ts.Expression | undefined;
    const visit = (n: ts.Node): void => {
      if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        const names: string[] = [];
        let l = unwrap(n.left);
        while (ts.isPropertyAccessExpression(l) || ts.isElementAccessExpression(l)) {
          const a = accessName(l);
          if (a === undefined) break;
          names.unshift(a);
          l = unwrap(l.expression);
        }
        if (ts.isIdentifier(l) && this.symbols.symbolAt(l) === sym && names.join('.') === path.join('.')) found = n.right;
      }
      ts.forEachChild(n, visit);
    };
    visit(obj.getSourceFile());
    return found;
  }
}

function foldArithmetic(op: ts.SyntaxKind, l: ConstValue, r: ConstValue): ConstValue {
  if (typeof l !== 'number' || typeof r !== 'number') return undefined;
  switch (op) {
    case ts.SyntaxKind.AsteriskToken:
      return l * r;
    case ts.SyntaxKind.PlusToken:
      return l + r;
    case ts.SyntaxKind.MinusToken:
      return l - r;
    case ts.SyntaxKind.SlashToken:
      return l / r;
    default:
      return undefined;
  }
}
