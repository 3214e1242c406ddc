import ts from '../../typescript.cjs';
import { calleeName, decoratorName, decoratorsOf, isBooleanish, isProcessEnv, isSanitizerCall, propertyNameText, returnExpressions, unwrap } from './ast.js';
import { isSecretConfigName, isSecretName } from '../../secrets/secret-detector.js';
import { NON_TOKEN_FIELDS } from './knowledge/oauth-sources.js';
import { NON_SECRET_PARAMETER } from './knowledge/sink-shapes.js';
import type { Taint } from './taint.js';
import { CallTrace } from './trace-calls.js';

/* The value-following room, declarations: variables, parameters (bound, or followed to their callers), destructuring, members. */

/** Follows values to their declarations. */
export abstract class DeclarationTrace extends CallTrace {
  taintOfDeclaration(decl: ts.Declaration, usedName: string, d: number): Taint | undefined {
    if (ts.isVariableDeclaration(decl)) {
      if (ts.isIdentifier(decl.name)) {
        if (decl.initializer) {
          const t = this.taint(decl.initializer, d);
          if (t) return t;
          const init = unwrap(decl.initializer);
          if (isSecretName(decl.name.text) && !ts.isLiteralExpression(init) && !isSanitizerCall(init) && !isBooleanish(init)) return { label: `\`${decl.name.text}\`` };
          if (this.mode === 'secret' || isSanitizerCall(init) || isBooleanish(init) || this.isOwnTokenIssuer(init)) return undefined;
          if (isRandomId(init)) return undefined;
          if (ts.isLiteralExpression(init) || init.kind === ts.SyntaxKind.NullKeyword || (ts.isObjectLiteralExpression(init) && init.properties.length === 0)) return this.taintOfAssignments(decl.name, d);
          return this.tokenNameTaint(decl.name.text);
        }
        return this.taintOfAssignments(decl.name, d) ?? (isSecretName(decl.name.text) ? { label: `\`${decl.name.text}\`` } : this.tokenNameTaint(decl.name.text));
      }
      return undefined;
    }
    if (ts.isParameter(decl)) {
      for (const dec of decoratorsOf(decl)) {
        const name = decoratorName(dec);
        if (name && ['Body', 'Headers', 'Query', 'Param', 'Cookies', 'Req'].includes(name) && ts.isCallExpression(dec.expression)) {
          const arg = dec.expression.arguments[0];
          if (arg && ts.isStringLiteralLike(arg) && isSecretName(arg.text)) return { label: `request field \`${arg.text}\`` };
        }
      }
      if (!ts.isIdentifier(decl.name)) return undefined;
      if (this.bindings.has(decl)) {
        const arg = this.bindings.get(decl) ?? decl.initializer;
        return arg ? this.taint(arg, d) : undefined;
      }
      if (isSecretName(decl.name.text)) return { label: `\`${decl.name.text}\`` };
      // a passport OAuth strategy's verify callback receives the provider's tokens
      const verify = this.verifyParameterTaint(decl);
      if (verify) return this.accepts(verify);
      // a helper's parameter: what its callers pass decides (one level)
      const callers = this.taintOfCallers(decl, d);
      if (callers !== 'unknown') return callers;
      if (this.mode === 'secret') return undefined;
      return this.tokenNameTaint(decl.name.text) ?? this.taintOfCallbackParameter(decl, d);
    }
    if (ts.isBindingElement(decl)) {
      const prop = propertyNameText(decl.propertyName) ?? (ts.isIdentifier(decl.name) ? decl.name.text : undefined);
      if (prop && isSecretName(prop)) return { label: `\`${prop}\`` };
      if (ts.isIdentifier(decl.name) && isSecretName(decl.name.text)) return { label: `\`${decl.name.text}\`` };
      // const { key } = someObject: follow the object
      const pattern = decl.parent;
      const holder = pattern.parent;
      if (prop && ts.isVariableDeclaration(holder) && holder.initializer) {
        const init = unwrap(holder.initializer);
        if (isProcessEnv(init)) return isSecretConfigName(prop) ? { label: `env \`${prop}\`` } : undefined;
        const v = this.constants.propertyValue(this.constants.objectLiteralOf(init), prop);
        if (v) return this.taint(v, d);
      }
      if (this.mode === 'secret' || !prop) return undefined;
      // const { token } = req.cookies; const { accessToken } = req.session; const { accessToken } = req.user
      if (ts.isVariableDeclaration(holder) && holder.initializer) {
        const init = unwrap(holder.initializer);
        if (this.isRequestCookies(init)) return this.cookieReadBackTaint(prop, decl, d);
        if (this.sessions.isSessionExpression(init)) {
          const t = this.sessionReadBackTaint(prop, init, d);
          if (t) return t;
        }
        if (this.isPassportUser(init)) {
          const t = this.passportUserTaint(prop, decl, d);
          if (t) return t;
        }
      }
      const byName = this.tokenNameTaint(prop);
      if (byName) return byName;
      if (ts.isVariableDeclaration(holder) && holder.initializer && !NON_TOKEN_FIELDS.test(prop)) {
        const base = this.taint(holder.initializer, d);
        if (base?.response) return base;
      }
      return undefined;
    }
    if (ts.isPropertyAssignment(decl)) return this.taint(decl.initializer, d);
    if (ts.isShorthandPropertyAssignment(decl)) return this.taint(decl, d);
    if (ts.isPropertyDeclaration(decl)) {
      if (decl.initializer) return this.taint(decl.initializer, d);
      return isSecretName(usedName) ? { label: `\`${usedName}\`` } : undefined;
    }
    if (ts.isGetAccessorDeclaration(decl)) {
      for (const r of returnExpressions(decl)) {
        const t = this.taint(r, d);
        if (t) return t;
      }
    }
    return undefined;
  }

  /**
   * The taint of a helper's parameter from the arguments its callers pass, one level deep
   * (`setAuthCookie(res, tokens.access_token)` taints `token` inside `setAuthCookie`). 'unknown'
   * when the function has no direct call in the analysed files (a callback, an exported API), when
   * the parameter's name says it holds a name or an id, or when this walk already crossed a function
   * boundary (a parameter to its callers, or a call into its return value).
   */
  taintOfCallers(param: ts.ParameterDeclaration, d: number): Taint | undefined | 'unknown' {
    const fn = param.parent;
    // one level: not from a parameter to its callers after already entering a callee's return value
    if (this.paramHops > 0 || this.bindings.size > 0 || param.dotDotDotToken) return 'unknown';
    // the helper's author says what the parameter holds: a name or an id is not the secret itself
    if (ts.isIdentifier(param.name) && NON_SECRET_PARAMETER.test(param.name.text)) return 'unknown';
    if (!(ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn) || ts.isFunctionExpression(fn) || ts.isArrowFunction(fn))) return 'unknown';
    const name = ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn) ? propertyNameText(fn.name) : ts.isVariableDeclaration(fn.parent) ? propertyNameText(fn.parent.name) : ts.isPropertyAssignment(fn.parent) || ts.isPropertyDeclaration(fn.parent) ? propertyNameText(fn.parent.name) : undefined;
    if (!name) return 'unknown';
    const index = fn.parameters.indexOf(param);
    const calls = this.symbols.callsNamed(name).filter((c) => this.symbols.functionOf(c.expression) === fn);
    if (calls.length === 0) return 'unknown';
    this.paramHops++;
    try {
      for (const call of calls) {
        const arg = call.arguments[index];
        if (!arg || ts.isSpreadElement(arg)) continue;
        const t = this.taint(arg, d);
        if (t) {
          const sf = call.getSourceFile();
          const line = sf.getLineAndCharacterOfPosition(call.getStart(sf)).line + 1;
          const where = sf === param.getSourceFile() ? `line ${line}` : `${this.displayPath(sf)}:${line}`;
          return { ...t, label: `${t.label} (passed to \`${name}\` at ${where})` };
        }
      }
      return undefined;
    } finally {
      this.paramHops--;
    }
  }


  /**
   * `let k; k = process.env.KEY;`, `({ tokens: current } = await client.getToken(code))`: taint of
   * plain and destructuring assignments to a variable in its file.
   */
  taintOfAssignments(id: ts.Identifier, d: number): Taint | undefined {
    const sym = this.symbols.symbolAt(id);
    if (!sym) return undefined;
    const is = (n: ts.Node): boolean => ts.isIdentifier(n) && this.symbols.symbolAt(n) === sym;
    let found: Taint | undefined;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        const left = unwrap(n.left);
        if (is(left)) found = this.taint(n.right, d);
        else if (ts.isObjectLiteralExpression(left)) {
          for (const p of left.properties) {
            const target = ts.isPropertyAssignment(p) ? unwrap(p.initializer) : ts.isShorthandPropertyAssignment(p) ? p.name : undefined;
            const key = propertyNameText(p.name);
            if (!target || !is(target) || !key) continue;
            const whole = this.taint(n.right, d);
            if (whole?.response || (whole && !NON_TOKEN_FIELDS.test(key))) found = whole;
          }
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(id.getSourceFile());
    return found;
  }

}

/** An opaque random identifier (`randomBytes(32).toString('hex')`, `uuid()`, `nanoid()`): a session id, not a token that says who the user is. */
function isRandomId(node: ts.Expression): boolean {
  let e = unwrap(node);
  for (let i = 0; i < 4 && ts.isCallExpression(e); i++) {
    if (/^(?:randomBytes|randomUUID|uuid|v4|uuidv4|nanoid|cuid|createId|ulid|generateSessionId|genid)$/.test(calleeName(e) ?? '')) return true;
    const callee = unwrap(e.expression);
    if (!ts.isPropertyAccessExpression(callee)) return false;
    e = unwrap(callee.expression);
  }
  return false;
}
