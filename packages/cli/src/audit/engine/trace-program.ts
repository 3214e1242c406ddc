import ts from '../../typescript.cjs';
import { NON_SENSITIVE_COOKIE_NAME, REQUEST_OBJECT_NAMES, SENSITIVE_COOKIE_NAME, accessName, calleeName, decoratorName, decoratorsOf, objectName, returnExpressions, unwrap } from './ast.js';
import { OAUTH_PROVIDER, SESSION_TOKEN_PATHS } from './knowledge/oauth-sources.js';
import { isSecretName } from '../../secrets/secret-detector.js';
import { type Taint, tokenNameKind } from './taint.js';
import { TraceBase } from './trace-base.js';
import { verifyParameterRole } from './token-sources.js';

/*
 * The value-following room, program layer: values that travel through the program rather than
 * through a name — a passport verify callback's tokens (and the `req.user` it builds), members
 * assigned elsewhere (`tokens.access_token = accessToken` in a callback, `this.tokens = …`), a
 * cookie or a session field read back where it was written.
 */

/** Parameter decorators that hand a handler the authenticated user. */
const USER_DECORATOR = /^(?:User|CurrentUser|GetUser|AuthUser|ReqUser|AuthenticatedUser|Principal)$/;

/** Follows values through the program: verify callbacks, the passport user, members, cookies and session fields. */
export abstract class ProgramTrace extends TraceBase {
  /** A passport OAuth verify callback's parameter: `accessToken`, `refreshToken`, `params` (the token response). */
  protected verifyParameterTaint(param: ts.ParameterDeclaration): Taint | undefined {
    if (this.mode === 'secret') return undefined;
    const fn = param.parent;
    if (!ts.isFunctionLike(fn)) return undefined;
    const cb = this.sources.verifyCallbackOf(fn);
    if (!cb) return undefined;
    const role = verifyParameterRole(fn, param);
    if (!role) return undefined;
    if (cb.bearer) return role === 'access' ? { label: `the bearer token${ts.isIdentifier(param.name) ? ` \`${param.name.text}\`` : ''} the client sent (verify callback of ${cb.strategy}, ${this.where(param)})`, kind: 'bearer' } : undefined;
    const what = role === 'response' ? 'token response' : `${role} token`;
    const name = ts.isIdentifier(param.name) ? ` \`${param.name.text}\`` : '';
    return { label: `the provider's ${what}${name} (verify callback of ${cb.strategy}, ${this.where(param)})`, kind: 'provider-token', ...(role === 'response' ? { response: true } : {}) };
  }

  /** True when an expression is the authenticated user passport puts on the request (`req.user`, `@CurrentUser() user`). */
  protected isPassportUser(node: ts.Expression): boolean {
    const e = unwrap(node);
    if (ts.isPropertyAccessExpression(e) && e.name.text === 'user') {
      const base = unwrap(e.expression);
      if (ts.isIdentifier(base) && REQUEST_OBJECT_NAMES.test(base.text)) return true;
      const decl = ts.isIdentifier(base) ? this.symbols.declarationOf(base) : undefined;
      return !!decl && ts.isParameter(decl) && decoratorsOf(decl).some((d) => /^(?:Req|Request)$/.test(decoratorName(d) ?? ''));
    }
    if (ts.isIdentifier(e)) {
      const decl = this.symbols.declarationOf(e);
      return !!decl && ts.isParameter(decl) && decoratorsOf(decl).some((d) => USER_DECORATOR.test(decoratorName(d) ?? ''));
    }
    return false;
  }

  /**
   * What the passport user holds: the whole user (`field` undefined) or one of its fields, from
   * what the OAuth verify callbacks pass to `done(null, user)` or return.
   */
  protected passportUserTaint(field: string | undefined, at: ts.Node, d: number): Taint | undefined {
    if (this.mode === 'secret') return undefined;
    for (const cb of this.sources.verifyCallbacks()) {
      if (cb.bearer) continue;
      const last = cb.fn.parameters[cb.fn.parameters.length - 1];
      const done = last && ts.isIdentifier(last.name) ? last.name.text : undefined;
      const users: ts.Expression[] = [...returnExpressions(cb.fn)];
      const visit = (n: ts.Node): void => {
        if (ts.isCallExpression(n) && done && ts.isIdentifier(n.expression) && n.expression.text === done && n.arguments[1]) users.push(n.arguments[1]);
        if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
      };
      const body = (cb.fn as ts.FunctionLikeDeclaration).body;
      if (body) ts.forEachChild(body, visit);
      for (const user of users) {
        let t: Taint | undefined;
        if (field === undefined) t = this.taint(user, d);
        else {
          const v = this.constants.propertyValue(this.constants.objectLiteralOf(user), field);
          t = v ? this.taint(v, d) : this.assignedWithin(user, field, cb.fn, d);
        }
        if (t) return { ...t, label: `${t.label}, kept in the passport user (\`req.user${field ? `.${field}` : ''}\`)` };
      }
    }
    // the strategy is not in the scan, but the handler runs behind an OAuth guard: its user's access,
    // refresh and id tokens are the provider's
    if (field !== undefined && tokenNameKind(field) === 'oauth' && !this.sources.verifyCallbacks().some((c) => !c.bearer)) {
      const guard = oauthGuardOf(at);
      if (guard) return { label: `the provider's token \`req.user.${field}\` (the handler runs behind ${guard})`, kind: 'provider-token' };
    }
    return undefined;
  }

  /** `profile.accessToken = accessToken` inside `fn`, for `user` a variable or parameter. */
  private assignedWithin(user: ts.Expression, field: string, fn: ts.SignatureDeclaration, d: number): Taint | undefined {
    const u = unwrap(user);
    if (!ts.isIdentifier(u)) return undefined;
    const decl = this.symbols.declarationOf(u);
    for (const a of this.symbols.memberAssignments(field)) {
      if (a.pos < fn.pos || a.end > fn.end) continue;
      const base = unwrap((unwrap(a.left) as ts.PropertyAccessExpression).expression);
      if (ts.isIdentifier(base) && this.symbols.declarationOf(base) === decl) {
        const t = this.taint(a.right, d);
        if (t) return t;
      }
    }
    return undefined;
  }

  /**
   * A member whose declaration says nothing (an empty placeholder, a class field without a value):
   * the values assigned to it anywhere in the analysed files, on the same object
   * (`tokens.access_token = accessToken` in a verify callback, `this.tokens = await getTokens()`).
   */
  protected memberAssignmentTaint(e: ts.PropertyAccessExpression | ts.ElementAccessExpression, d: number): Taint | undefined {
    const name = accessName(e);
    // only members whose name says they may hold a token or a key are looked for elsewhere
    if (!name || !(tokenNameKind(name) || isSecretName(name, true))) return undefined;
    const owner = this.ownerOf(e.expression);
    if (!owner) return undefined;
    for (const a of this.symbols.memberAssignments(name)) {
      const left = unwrap(a.left);
      if (left === e || !(ts.isPropertyAccessExpression(left) || ts.isElementAccessExpression(left))) continue;
      if (this.ownerOf(left.expression) !== owner) continue;
      const t = this.taint(a.right, d);
      if (t) return { ...t, label: `${t.label} (assigned to \`${name}\` at ${this.where(a)})` };
    }
    return undefined;
  }

  /** The declaration an object expression stands for: a variable's, or the class for `this`. */
  private ownerOf(node: ts.Expression): ts.Node | undefined {
    const e = unwrap(node);
    if (e.kind === ts.SyntaxKind.ThisKeyword) {
      let p: ts.Node | undefined = e.parent;
      while (p && !ts.isClassLike(p)) p = p.parent;
      return p;
    }
    if (ts.isIdentifier(e)) return this.symbols.declarationOf(e);
    return undefined;
  }

  /** `req.cookies` / `req.signedCookies` / `request.cookies`. */
  protected isRequestCookies(node: ts.Expression): boolean {
    const e = unwrap(node);
    return (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && /^(?:cookies|signedCookies)$/.test(accessName(e) ?? '') && REQUEST_OBJECT_NAMES.test(objectName(e.expression) ?? '');
  }

  /**
   * A cookie read back from the request: what the app wrote into that cookie (anywhere in the
   * analysed files), or, where any token counts, the cookie itself when its name says it holds one.
   */
  protected cookieReadBackTaint(name: string, at: ts.Node, d: number): Taint | undefined {
    for (const callee of ['cookie', 'setCookie', 'set']) {
      for (const call of this.symbols.callsMentioning(callee, name)) {
        const w = this.sinks.cookieWriteOf(call);
        if (!w || w.cookieName !== name || !w.valueArg) continue;
        const t = this.taint(w.valueArg, d);
        if (t) return { ...t, label: `cookie \`${name}\` read back (written at ${this.where(call)} with ${t.label})` };
      }
    }
    if ((this.mode === 'any-token' || this.mode === 'readable-cookie') && (tokenNameKind(name) || (SENSITIVE_COOKIE_NAME.test(name) && !NON_SENSITIVE_COOKIE_NAME.test(name) && !/sess|sid/i.test(name)))) {
      return this.accepts({ label: `the token in cookie \`${name}\`, read back from the request (${this.where(at)})`, kind: 'own-token' });
    }
    return undefined;
  }

  /**
   * A session field read back (`req.session.token`, `request.session.get('token')`): what the app
   * wrote into it, or a library's token response kept there (grant's `session.grant.response`).
   */
  protected sessionReadBackTaint(field: string, base: ts.Expression, d: number): Taint | undefined {
    if (this.mode === 'secret') return undefined;
    const b = unwrap(base);
    const parent = ts.isPropertyAccessExpression(b) || ts.isElementAccessExpression(b) ? accessName(b) : undefined;
    for (const p of SESSION_TOKEN_PATHS) {
      if (p.path[p.path.length - 1] === field && (p.path.length === 1 || parent === p.path[p.path.length - 2])) return { label: `the provider's token response that ${p.label} keeps in the session`, kind: 'provider-token', response: true };
    }
    for (const a of this.symbols.memberAssignments(field)) {
      const left = unwrap(a.left);
      if ((ts.isPropertyAccessExpression(left) || ts.isElementAccessExpression(left)) && this.sessions.isSessionExpression(left.expression)) {
        const t = this.taint(a.right, d);
        if (t) return { ...t, label: `session field \`${field}\` (written at ${this.where(a)} with ${t.label})` };
      }
    }
    for (const call of this.symbols.callsMentioning('set', field)) {
      const callee = unwrap(call.expression);
      const key = call.arguments[0];
      if (!ts.isPropertyAccessExpression(callee) || !key || !ts.isStringLiteralLike(key) || key.text !== field || !this.sessions.isSessionExpression(callee.expression)) continue;
      const t = this.taint(call.arguments[1], d);
      if (t) return { ...t, label: `session field \`${field}\` (written at ${this.where(call)} with ${t.label})` };
    }
    return undefined;
  }

  /** `request.session.get('token')` / `ctx.cookies.get('token')`: a read of a session field or a cookie by its key. */
  protected keyedReadTaint(call: ts.CallExpression, d: number): Taint | undefined | false {
    const callee = unwrap(call.expression);
    const key = call.arguments[0];
    if (calleeName(call) !== 'get' || !ts.isPropertyAccessExpression(callee) || !key || !ts.isStringLiteralLike(key)) return false;
    if (this.sessions.isSessionExpression(callee.expression)) return this.sessionReadBackTaint(key.text, callee.expression, d) ?? this.tokenNameTaint(key.text);
    if (accessName(unwrap(callee.expression)) === 'cookies' || objectName(callee.expression) === 'cookies') return this.cookieReadBackTaint(key.text, call, d);
    return false;
  }
}

/**
 * The OAuth guard a handler runs behind, if any: Nest's `@UseGuards(AuthGuard('google'))` (or a
 * guard class named for a provider), Express's `passport.authenticate('github')` in the route.
 */
function oauthGuardOf(node: ts.Node): string | undefined {
  for (let p: ts.Node | undefined = node.parent; p; p = p.parent) {
    if (ts.isMethodDeclaration(p)) {
      for (const dec of decoratorsOf(p)) {
        if (decoratorName(dec) !== 'UseGuards' || !ts.isCallExpression(dec.expression)) continue;
        for (const a of dec.expression.arguments) {
          const text = a.getText();
          if (/AuthGuard\(\s*['"`]([^'"`]+)/.test(text) && OAUTH_PROVIDER.test(RegExp.$1)) return `\`${text}\``;
          if (/Guard\b/.test(text) && OAUTH_PROVIDER.test(text)) return `\`${text}\``;
        }
      }
      return undefined;
    }
    if ((ts.isArrowFunction(p) || ts.isFunctionExpression(p)) && ts.isCallExpression(p.parent)) {
      for (const a of p.parent.arguments) {
        const e = unwrap(a);
        if (ts.isCallExpression(e) && calleeName(e) === 'authenticate' && e.arguments[0] && ts.isStringLiteralLike(e.arguments[0]) && OAUTH_PROVIDER.test(e.arguments[0].text)) return `\`${e.getText()}\``;
      }
    }
  }
  return undefined;
}
