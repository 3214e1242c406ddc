import ts from '../../typescript.cjs';
import { calleeName, objectName, propertyNameText, unwrap } from './ast.js';
import { developmentOnly } from './conditions.js';
import type { Constants } from './constants.js';
import { COOKIE_WRITE_CALLS, HEADER_OBJECT_CALLS, HEADER_WRITE_CALLS } from './knowledge/sink-shapes.js';
import type { Symbols } from './symbols.js';

/* The sink room: recognising where a value is written to (cookies, headers), and whether page scripts can read a cookie. */

/** A cookie write found by {@link Sinks.cookieWriteOf}. */
export interface CookieWrite {
  call: ts.CallExpression;
  nameArg: ts.Expression | undefined;
  valueArg: ts.Expression | undefined;
  optsArg: ts.Expression | undefined;
  /** A raw `Set-Cookie` header rather than a cookie API. */
  header: boolean;
  /** The API makes the cookie HttpOnly when the options say nothing (koa's `ctx.cookies.set`). */
  httpOnlyDefault: boolean;
  cookieName?: string;
  /** `cookie \`name\`` or `a cookie`, for messages. */
  label: string;
}

/** Recognises sink calls. */
export class Sinks {
  constructor(
    private readonly symbols: Symbols,
    private readonly constants: Constants,
  ) {}

  /**
   * A cookie written to the response: `res.cookie(name, value, opts)`, `reply.setCookie`,
   * `cookies.set`, or a `Set-Cookie` header (`res.setHeader('Set-Cookie', …)`, `reply.header`, the
   * object forms `res.set({ 'Set-Cookie': … })` and `res.writeHead(200, { 'Set-Cookie': … })`).
   * The cookie name is folded when it is a constant, or when it is a helper's parameter that
   * every caller passes the same constant to.
   */
  cookieWriteOf(call: ts.CallExpression): CookieWrite | undefined {
    const name = calleeName(call) ?? '';
    const callee = unwrap(call.expression);
    if (!ts.isPropertyAccessExpression(callee)) return undefined;
    let nameArg: ts.Expression | undefined;
    let valueArg: ts.Expression | undefined;
    let optsArg: ts.Expression | undefined;
    let header = false;
    if (COOKIE_WRITE_CALLS.has(name) && call.arguments.length >= 2) {
      [nameArg, valueArg, optsArg] = call.arguments;
    } else if (name === 'set' && call.arguments.length >= 2 && objectName(callee.expression) === 'cookies') {
      [nameArg, valueArg, optsArg] = call.arguments;
      // koa's ctx.cookies.set: HttpOnly unless told otherwise
      return this.write(call, nameArg, valueArg, optsArg, false, true);
    } else if (HEADER_WRITE_CALLS.has(name) && call.arguments.length >= 2) {
      const h = this.constants.constValue(call.arguments[0]);
      if (typeof h !== 'string' || h.toLowerCase() !== 'set-cookie') return undefined;
      valueArg = call.arguments[1];
      header = true;
    } else if (HEADER_OBJECT_CALLS.has(name) && call.arguments.length >= 1) {
      const obj = this.constants.objectLiteralOf(call.arguments[call.arguments.length - 1]);
      const prop = obj?.properties.find((p) => (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && propertyNameText(p.name)?.toLowerCase() === 'set-cookie');
      if (!prop) return undefined;
      valueArg = ts.isPropertyAssignment(prop) ? prop.initializer : (prop as ts.ShorthandPropertyAssignment).name;
      header = true;
    } else return undefined;
    return this.write(call, nameArg, valueArg, optsArg, header, false);
  }

  private write(call: ts.CallExpression, nameArg: ts.Expression | undefined, valueArg: ts.Expression | undefined, optsArg: ts.Expression | undefined, header: boolean, httpOnlyDefault: boolean): CookieWrite {
    const cookieName = nameArg ? (this.constants.constValue(nameArg) ?? this.passedConstant(nameArg)) : undefined;
    const label = typeof cookieName === 'string' ? `cookie \`${cookieName}\`` : 'a cookie';
    return { call, nameArg, valueArg, optsArg, header, httpOnlyDefault, ...(typeof cookieName === 'string' ? { cookieName } : {}), label };
  }

  /** `function sendCookie(res, name, value)`: the constant every direct caller passes for `name`, if they agree. */
  private passedConstant(node: ts.Expression): string | undefined {
    const e = unwrap(node);
    if (!ts.isIdentifier(e)) return undefined;
    const decl = this.symbols.declarationOf(e);
    if (!decl || !ts.isParameter(decl) || !ts.isFunctionLike(decl.parent)) return undefined;
    const fn = decl.parent;
    const index = fn.parameters.indexOf(decl);
    const fnName = ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn) ? propertyNameText(fn.name) : ts.isVariableDeclaration(fn.parent) ? propertyNameText(fn.parent.name) : undefined;
    if (!fnName) return undefined;
    const values = new Set<unknown>();
    for (const c of this.symbols.callsNamed(fnName)) {
      if (this.symbols.functionOf(c.expression) !== fn) continue;
      values.add(this.constants.constValue(c.arguments[index]));
    }
    const [only] = values;
    return values.size === 1 && typeof only === 'string' ? only : undefined;
  }

  /**
   * True when page scripts can read the cookie: a cookie API call whose options leave `httpOnly`
   * missing or false on a branch that is not development-only (no options at all included), or a
   * raw `Set-Cookie` header whose text lacks `HttpOnly`. Unknown options (an object from
   * elsewhere) count as not readable.
   */
  readableByScripts(w: CookieWrite): boolean {
    if (w.header) {
      const text = w.valueArg ? headerText(w.valueArg) : undefined;
      return text !== undefined && /=/.test(text) && !/;\s*HttpOnly/i.test(text);
    }
    if (w.optsArg === undefined) return !w.httpOnlyDefault;
    const opts = this.constants.objectLiteralOf(w.optsArg);
    if (!opts) return false;
    const resolver = { declarationOf: (n: ts.Node) => this.symbols.declarationOf(n), constValue: (n: ts.Expression | undefined) => this.constants.constValue(n) };
    return this.constants.propertyAlternatives(opts, 'httpOnly').some((a) => {
      const v = a.value === undefined ? undefined : this.constants.constValue(ts.isShorthandPropertyAssignment(a.value) ? a.value.name : a.value);
      const off = a.value === undefined ? !w.httpOnlyDefault : v === false;
      return off && !developmentOnly(resolver, a.conds);
    });
  }
}

/** The literal text of a header value (its template's literal parts), if it has one. */
function headerText(node: ts.Expression): string | undefined {
  const e = unwrap(node);
  if (ts.isStringLiteralLike(e)) return e.text;
  if (ts.isTemplateExpression(e)) return e.head.text + e.templateSpans.map((s) => `x${s.literal.text}`).join('');
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) return (headerText(e.left) ?? 'x') + (headerText(e.right) ?? 'x');
  if (ts.isArrayLiteralExpression(e)) {
    const parts = e.elements.map((el) => headerText(el as ts.Expression));
    return parts.some((p) => p !== undefined) ? parts.map((p) => p ?? '').join(', ') : undefined;
  }
  return undefined;
}
