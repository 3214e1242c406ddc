import ts from '../../typescript.cjs';
import { REQUEST_OBJECT_NAMES, accessName, isBooleanish, isProcessEnv, isSanitizerCall, objectName, propertyNameText, unwrap } from './ast.js';
import { isSecretConfigName, isSecretName, matchProvider } from '../../secrets/secret-detector.js';
import { NON_TOKEN_FIELDS } from './knowledge/oauth-sources.js';
import type { Taint, TaintMode } from './taint.js';
import { DeclarationTrace } from './trace-declarations.js';

/*
 * The value-following room: from a value written to a sink back to where it comes from (a key, a
 * provider's token, a bearer header), through expressions, declarations, calls and imports.
 */

/** Follows the value at a sink to its source, for one analysed file. */
export class Provenance extends DeclarationTrace {
  private readonly sinkCache = new Map<string, Taint | undefined>();

  /** Where a value written to a sink comes from, when that is a secret for this kind of sink. */
  sinkTaint(node: ts.Node | undefined, mode: TaintMode): Taint | undefined {
    if (!node) return undefined;
    const key = `${mode}:${node.pos}:${node.end}:${node.kind}`;
    if (this.sinkCache.has(key)) return this.sinkCache.get(key);
    const saved = this.mode;
    this.mode = mode;
    try {
      const t = this.taint(node);
      this.sinkCache.set(key, t);
      return t;
    } finally {
      this.mode = saved;
    }
  }


  /** Where an expression's value comes from, when that is a secret. */
  taint(node: ts.Node | undefined, depth = 0): Taint | undefined {
    if (!node || depth > 14 || this.visiting.has(node)) return undefined;
    this.visiting.add(node);
    const savedFile = this.valueFile;
    this.valueFile = node.getSourceFile();
    try {
      return this.taintInner(node, depth);
    } finally {
      this.visiting.delete(node);
      this.valueFile = savedFile;
    }
  }

  /**
   * Values that come through the program rather than a declaration: a cookie or a session field
   * read back, the passport user and its fields. `false` when the access is none of these.
   */
  private programTaint(e: ts.PropertyAccessExpression | ts.ElementAccessExpression, name: string, d: number): Taint | undefined | false {
    if (this.mode === 'secret') return false;
    if (this.isRequestCookies(e.expression)) return this.cookieReadBackTaint(name, e, d);
    if (name === 'user' && this.isPassportUser(e)) {
      const t = this.passportUserTaint(undefined, e, d);
      if (t) return t;
    }
    if (this.isPassportUser(e.expression)) {
      const t = this.passportUserTaint(name, e, d);
      if (t) return t;
    }
    if (name !== 'session' && this.sessions.isSessionExpression(e.expression)) {
      const t = this.sessionReadBackTaint(name, e.expression, d);
      if (t) return t;
    }
    return false;
  }

  taintInner(node: ts.Node, depth: number): Taint | undefined {
    const d = depth + 1;
    if (ts.isShorthandPropertyAssignment(node)) {
      if (isSecretName(node.name.text)) return { label: `\`${node.name.text}\`` };
      const decl = this.symbols.declarationOf(node);
      return (decl ? this.taintOfDeclaration(decl, node.name.text, d) : undefined) ?? (decl ? undefined : this.tokenNameTaint(node.name.text));
    }
    if (!ts.isExpression(node)) return undefined;
    const e = unwrap(node);
    if (ts.isStringLiteralLike(e)) {
      const provider = matchProvider(e.text);
      return provider ? { label: `a ${provider} literal`, literal: e } : undefined;
    }
    if (ts.isTemplateExpression(e)) {
      for (const span of e.templateSpans) {
        const t = this.taint(span.expression, d);
        if (t) return t;
      }
      return undefined;
    }
    if (ts.isBinaryExpression(e)) {
      switch (e.operatorToken.kind) {
        case ts.SyntaxKind.PlusToken:
        case ts.SyntaxKind.BarBarToken:
        case ts.SyntaxKind.QuestionQuestionToken:
          return this.taint(e.left, d) ?? this.taint(e.right, d);
        case ts.SyntaxKind.AmpersandAmpersandToken:
        case ts.SyntaxKind.CommaToken:
        case ts.SyntaxKind.EqualsToken:
          return this.taint(e.right, d);
        default:
          return undefined;
      }
    }
    if (ts.isConditionalExpression(e)) return this.taint(e.whenTrue, d) ?? this.taint(e.whenFalse, d);
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
      const name = accessName(e);
      if (this.mode === 'any-token' && isProcessEnv(e)) return { label: 'the whole environment (`process.env`)' };
      if (name === undefined) return undefined;
      if (this.mode === 'any-token' && name === 'headers' && REQUEST_OBJECT_NAMES.test(objectName(e.expression) ?? '')) return { label: 'the request headers (Cookie, Authorization)', kind: 'bearer' };
      // Node lower-cases incoming header names: headers['Authorization'] is always undefined
      if (ts.isElementAccessExpression(e) && /[A-Z]/.test(name) && /^headers$/.test(accessName(unwrap(e.expression)) ?? '')) return undefined;
      if (isProcessEnv(e.expression)) return isSecretConfigName(name) ? { label: `env \`${name}\`` } : undefined;
      const through = this.programTaint(e, name, d);
      if (through !== false) return through;
      // a declaration with a value decides (enum members and constants are not secrets by name)
      const decl = ts.isPropertyAccessExpression(e) ? this.symbols.declarationOf(e.name) : undefined;
      if (decl && ts.isEnumMember(decl)) return undefined;
      if (decl && (ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl) || ts.isVariableDeclaration(decl) || ts.isShorthandPropertyAssignment(decl) || ts.isGetAccessorDeclaration(decl)) && (ts.isShorthandPropertyAssignment(decl) || ts.isGetAccessorDeclaration(decl) || decl.initializer)) {
        const t = this.taintOfDeclaration(decl, name, d);
        if (t) return t;
        if (this.mode !== 'secret' && !ts.isVariableDeclaration(decl)) {
          const assigned = this.memberAssignmentTaint(e, d);
          if (assigned) return assigned;
        }
        const init = ts.isShorthandPropertyAssignment(decl) || ts.isGetAccessorDeclaration(decl) ? undefined : decl.initializer && unwrap(decl.initializer);
        if (init && (ts.isLiteralExpression(init) || isBooleanish(init) || isSanitizerCall(init) || ts.isObjectLiteralExpression(init))) return undefined;
        return isSecretName(name) ? { label: `\`${name}\`` } : undefined;
      }
      if (isSecretName(name)) return { label: `\`${name}\`` };
      // a member of a type (`tokens: { access_token?: string }`) says nothing of the value: go on by name
      if (decl && !ts.isPropertySignature(decl)) return this.taintOfDeclaration(decl, name, d);
      const obj = this.constants.objectLiteralOf(e.expression);
      const v = this.constants.propertyValue(obj, name);
      if (v) {
        const t = this.taint(v, d);
        if (t || this.mode === 'secret') return t;
      }
      if (this.mode === 'secret') return undefined;
      const assigned = this.memberAssignmentTaint(e, d);
      if (assigned) return assigned;
      // a field of a token response (response.data, tokens.access_token): where it comes from decides before its name
      const base = NON_TOKEN_FIELDS.test(name) ? undefined : this.taint(e.expression, d);
      if (base?.response) return base;
      return this.responseFieldTaint(e, name) ?? this.tokenNameTaint(name);
    }
    if (ts.isIdentifier(e)) {
      if (e.text === 'undefined') return undefined;
      if (this.mode !== 'secret' && this.isAbsentAt(e)) return undefined;
      const decl = this.symbols.declarationOf(e);
      if (decl) return this.taintOfDeclaration(decl, e.text, d);
      return isSecretName(e.text) ? { label: `\`${e.text}\`` } : this.tokenNameTaint(e.text);
    }
    if (ts.isCallExpression(e)) return this.taintOfCall(e, d);
    if (ts.isNewExpression(e)) {
      // new UserEntity(user) returned through ClassSerializerInterceptor: its @Expose() fields are sent
      const cls = this.symbols.classOf(e.expression);
      return cls ? this.serializedFieldTaint(this.exposedFields(cls), `\`@Expose()\` in \`${cls.name?.text ?? 'a class'}\``) : undefined;
    }
    if (ts.isObjectLiteralExpression(e)) {
      for (const p of e.properties) {
        let t: Taint | undefined;
        if (ts.isPropertyAssignment(p)) {
          const v = unwrap(p.initializer);
          const key = propertyNameText(p.name);
          t = this.taint(p.initializer, d);
          if (!t && key && isSecretName(key) && !ts.isLiteralExpression(v) && v.kind !== ts.SyntaxKind.TrueKeyword && v.kind !== ts.SyntaxKind.FalseKeyword && !ts.isCallExpression(v)) {
            t = { label: `\`${key}\`` };
          }
        } else if (ts.isShorthandPropertyAssignment(p)) t = this.taint(p, d);
        else if (ts.isSpreadAssignment(p)) t = this.taint(p.expression, d);
        if (t) return t;
      }
      return undefined;
    }
    if (ts.isArrayLiteralExpression(e)) {
      for (const el of e.elements) {
        const t = this.taint(ts.isSpreadElement(el) ? el.expression : el, d);
        if (t) return t;
      }
    }
    return undefined;
  }
}
