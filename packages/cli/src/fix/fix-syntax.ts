import ts from 'typescript5';
import type { TextEdit } from './text-edit.js';

/*
 * Syntax helpers of the fixes: where a finding is in the tree, what a name was imported from, the
 * file's quote and line-ending style, and how to add properties to an object literal in the style
 * it is written in. The fixes read the file's own syntax tree; they depend on nothing of the
 * analysis engine but the findings it reports.
 */

/** How a file writes strings and ends lines, so that inserted code reads like its neighbours. */
export interface FileStyle {
  quote: "'" | '"';
  eol: '\n' | '\r\n';
}

const styles = new WeakMap<ts.SourceFile, FileStyle>();

/** The file's usual quote (the one most of its string literals use; single when none) and line ending. */
export function styleOf(sf: ts.SourceFile): FileStyle {
  const hit = styles.get(sf);
  if (hit) return hit;
  let single = 0;
  let double = 0;
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteral(n)) {
      const c = sf.text.charAt(n.getStart(sf));
      if (c === "'") single++;
      else if (c === '"') double++;
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  const style: FileStyle = { quote: double > single ? '"' : "'", eol: sf.text.includes('\r\n') ? '\r\n' : '\n' };
  styles.set(sf, style);
  return style;
}

/** `text` as a string literal in the file's quote style. */
export function quoted(text: string, style: FileStyle): string {
  const q = style.quote;
  return q + text.replace(/\\/g, '\\\\').replace(new RegExp(q, 'g'), `\\${q}`).replace(/\r/g, '\\r').replace(/\n/g, '\\n') + q;
}

/** The deepest node whose range is exactly `[start, end)`, or failing that the deepest node that contains it. */
export function nodeAt(sf: ts.SourceFile, start: number, end: number): ts.Node | undefined {
  let exact: ts.Node | undefined;
  let containing: ts.Node | undefined;
  const visit = (n: ts.Node): void => {
    const s = n.getStart(sf);
    if (s > start || n.getEnd() < end) return;
    containing = n;
    if (s === start && n.getEnd() === end) exact = n;
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(sf, visit);
  return exact ?? containing;
}

/** The expression inside parentheses, `as`, `satisfies`, `!` and type assertions. */
export function unwrapExpression(node: ts.Expression): ts.Expression {
  let n = node;
  while (ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isSatisfiesExpression(n) || ts.isNonNullExpression(n) || ts.isTypeAssertionExpression(n)) n = n.expression;
  return n;
}

/** The outermost wrapper (parentheses, `as`, ...) around an expression: the node that stands in its parent. */
export function outermostWrapper(node: ts.Expression): ts.Expression {
  let n = node;
  while (
    n.parent &&
    (ts.isParenthesizedExpression(n.parent) || ts.isAsExpression(n.parent) || ts.isSatisfiesExpression(n.parent) || ts.isNonNullExpression(n.parent) || ts.isTypeAssertionExpression(n.parent))
  ) {
    n = n.parent;
  }
  return n;
}

/** The name of a property, a property access or an element access with a literal key. */
export function memberName(node: ts.Node | undefined): string | undefined {
  if (!node) return undefined;
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) return node.text;
  if (ts.isStringLiteralLike(node) || ts.isNumericLiteral(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isElementAccessExpression(node)) {
    const arg = unwrapExpression(node.argumentExpression);
    return ts.isStringLiteralLike(arg) ? arg.text : undefined;
  }
  if (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) return memberName(node.name);
  if (ts.isComputedPropertyName(node)) return memberName(unwrapExpression(node.expression));
  return undefined;
}

/** The property of an object literal named `name` that counts (the last one), if any. */
export function ownProperty(obj: ts.ObjectLiteralExpression, name: string): ts.PropertyAssignment | ts.ShorthandPropertyAssignment | undefined {
  for (let i = obj.properties.length - 1; i >= 0; i--) {
    const p = obj.properties[i]!;
    if ((ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && memberName(p.name) === name) return p;
  }
  return undefined;
}

/** The module a local name was imported or required from (an import declaration or a require call), in this file. */
export function moduleOfName(sf: ts.SourceFile, name: string): string | undefined {
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier) && st.importClause) {
      const c = st.importClause;
      const names = [c.name?.text];
      if (c.namedBindings && ts.isNamespaceImport(c.namedBindings)) names.push(c.namedBindings.name.text);
      if (c.namedBindings && ts.isNamedImports(c.namedBindings)) names.push(...c.namedBindings.elements.map((e) => e.name.text));
      if (names.includes(name)) return st.moduleSpecifier.text;
    } else if (ts.isImportEqualsDeclaration(st) && st.name.text === name && ts.isExternalModuleReference(st.moduleReference) && ts.isStringLiteral(st.moduleReference.expression)) {
      return st.moduleReference.expression.text;
    } else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        const mod = d.initializer ? requiredModule(d.initializer) : undefined;
        if (!mod) continue;
        if (ts.isIdentifier(d.name) && d.name.text === name) return mod;
        if (ts.isObjectBindingPattern(d.name) && d.name.elements.some((e) => ts.isIdentifier(e.name) && e.name.text === name)) return mod;
      }
    }
  }
  return undefined;
}

/** `require(<module>)`, `require(<module>).default`, `(await import(<module>)).default`: the module, else undefined. */
export function requiredModule(node: ts.Expression): string | undefined {
  let e = unwrapExpression(node);
  if (ts.isPropertyAccessExpression(e) && e.name.text === 'default') e = unwrapExpression(e.expression);
  if (ts.isAwaitExpression(e)) e = unwrapExpression(e.expression);
  if (ts.isCallExpression(e) && (e.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(e.expression) && e.expression.text === 'require'))) {
    const arg = e.arguments[0];
    return arg && ts.isStringLiteralLike(arg) ? arg.text : undefined;
  }
  return undefined;
}

/** The module an expression names: an imported or required name, or an inline `require(<module>)`. */
export function moduleOfExpression(sf: ts.SourceFile, node: ts.Expression): string | undefined {
  const e = unwrapExpression(node);
  if (ts.isIdentifier(e)) return moduleOfName(sf, e.text);
  if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && e.name.text === 'default') return moduleOfName(sf, e.expression.text);
  return requiredModule(e);
}

/**
 * The object literal an expression stands for in this file: the literal itself, or a variable
 * declared once in the file with an object literal as its value. Undefined otherwise (a parameter,
 * an import, a call): the fix then leaves the finding alone.
 */
export function objectLiteralIn(sf: ts.SourceFile, node: ts.Expression | undefined): ts.ObjectLiteralExpression | undefined {
  if (!node) return undefined;
  const e = unwrapExpression(node);
  if (ts.isObjectLiteralExpression(e)) return e;
  if (!ts.isIdentifier(e)) return undefined;
  const found: ts.VariableDeclaration[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === e.text) found.push(n);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  if (found.length !== 1 || !found[0]!.initializer) return undefined;
  const init = unwrapExpression(found[0]!.initializer);
  return ts.isObjectLiteralExpression(init) ? init : undefined;
}

/** The indentation (spaces and tabs) at the start of the line holding `pos`, when only indentation precedes `pos` there. */
function indentBefore(text: string, pos: number): string | undefined {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const lead = text.slice(lineStart, pos);
  return /^[ \t]*$/.test(lead) ? lead : undefined;
}

/** The end of the line after `pos` when the rest of it is blank or a comment, else undefined. */
function endOfLineAfter(text: string, pos: number): number | undefined {
  let nl = text.indexOf('\n', pos);
  if (nl === -1) nl = text.length;
  const end = text.charAt(nl - 1) === '\r' ? nl - 1 : nl;
  const rest = text.slice(pos, end);
  return /^\s*(?:\/\/.*|\/\*[^]*?\*\/\s*)?$/.test(rest) ? end : undefined;
}

/**
 * Edits that add `props` (each `name: value` source text) to an object literal, in its style: on
 * one line for a one-line object, one per line at the indentation of the others otherwise, keeping
 * a trailing comma and end-of-line comments where they are. `first` puts them before the existing
 * properties (so that later spreads still override them), otherwise after the last one.
 */
export function addProperties(sf: ts.SourceFile, obj: ts.ObjectLiteralExpression, props: readonly string[], first: boolean): TextEdit[] {
  const text = sf.text;
  const { eol } = styleOf(sf);
  const members = obj.properties;
  if (members.length === 0) {
    return [{ start: obj.getStart(sf), end: obj.getEnd(), text: `{ ${props.join(', ')} }` }];
  }
  const open = obj.getStart(sf) + 1;
  const firstMember = members[0]!;
  const firstStart = firstMember.getStart(sf);
  const multiline = /\n/.test(text.slice(open, firstStart));
  const indent = multiline ? indentBefore(text, firstStart) : undefined;
  if (multiline && indent !== undefined) {
    if (first) return [{ start: firstStart, end: firstStart, text: props.map((p) => `${p},${eol}${indent}`).join('') }];
    const last = members[members.length - 1]!;
    const lastEnd = last.getEnd();
    const after = /^[ \t]*,/.exec(text.slice(lastEnd));
    if (after) {
      const lineEnd = endOfLineAfter(text, lastEnd + after[0].length);
      if (lineEnd !== undefined) return [{ start: lineEnd, end: lineEnd, text: props.map((p) => `${eol}${indent}${p},`).join('') }];
    } else {
      const lineEnd = endOfLineAfter(text, lastEnd);
      if (lineEnd === lastEnd) return [{ start: lastEnd, end: lastEnd, text: props.map((p) => `,${eol}${indent}${p}`).join('') }];
      if (lineEnd !== undefined) {
        return [
          { start: lastEnd, end: lastEnd, text: ',' },
          { start: lineEnd, end: lineEnd, text: props.map((p) => `${eol}${indent}${p}`).join(',') },
        ];
      }
    }
    return [{ start: lastEnd, end: lastEnd, text: props.map((p) => `,${eol}${indent}${p}`).join('') }];
  }
  if (first) return [{ start: firstStart, end: firstStart, text: props.map((p) => `${p}, `).join('') }];
  const lastEnd = members[members.length - 1]!.getEnd();
  return [{ start: lastEnd, end: lastEnd, text: props.map((p) => `, ${p}`).join('') }];
}

/** True when an expression put where `node` stands needs no parentheses even if it is a `??` or `||` chain. */
export function standsAlone(node: ts.Expression): boolean {
  const p = node.parent;
  if (!p) return true;
  if (ts.isParenthesizedExpression(p) || ts.isExpressionStatement(p) || ts.isReturnStatement(p) || ts.isArrayLiteralExpression(p) || ts.isTemplateSpan(p)) return true;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isParameter(p) || ts.isBindingElement(p)) return p.initializer === node;
  if (ts.isCallExpression(p) || ts.isNewExpression(p)) return p.arguments?.includes(node) ?? false;
  if (ts.isArrowFunction(p)) return p.body === node;
  if (ts.isBinaryExpression(p)) return p.operatorToken.kind === ts.SyntaxKind.EqualsToken && p.right === node;
  return false;
}
