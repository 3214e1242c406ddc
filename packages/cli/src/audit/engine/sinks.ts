import ts from 'typescript5';
import { calleeName, objectName, unwrap } from './ast.js';
import type { Constants } from './constants.js';
import type { Symbols } from './symbols.js';

/* The sink room: recognising where a value is written to (cookies, headers). */

/** A cookie write found by {@link Sinks.cookieWriteOf}. */
export interface CookieWrite {
  call: ts.CallExpression;
  nameArg: ts.Expression | undefined;
  valueArg: ts.Expression | undefined;
  optsArg: ts.Expression | undefined;
  /** A raw `Set-Cookie` header rather than a cookie API. */
  header: boolean;
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
   * `cookies.set`, or a `Set-Cookie` header (`res.setHeader('Set-Cookie', …)`, `reply.header`).
   * The cookie name is folded when it is a constant (a variable holding a literal included).
   */
  cookieWriteOf(call: ts.CallExpression): CookieWrite | undefined {
    const name = calleeName(call);
    const callee = unwrap(call.expression);
    if (!ts.isPropertyAccessExpression(callee)) return undefined;
    let nameArg: ts.Expression | undefined;
    let valueArg: ts.Expression | undefined;
    let optsArg: ts.Expression | undefined;
    let header = false;
    if ((name === 'cookie' || name === 'setCookie') && call.arguments.length >= 2) {
      [nameArg, valueArg, optsArg] = call.arguments;
    } else if (name === 'set' && call.arguments.length >= 2 && objectName(callee.expression) === 'cookies') {
      [nameArg, valueArg, optsArg] = call.arguments;
    } else if ((name === 'setHeader' || name === 'header' || name === 'append' || name === 'set') && call.arguments.length >= 2) {
      const h = this.constants.constValue(call.arguments[0]);
      if (typeof h === 'string' && h.toLowerCase() === 'set-cookie') {
        valueArg = call.arguments[1];
        header = true;
      } else return undefined;
    } else return undefined;
    const cookieName = nameArg ? this.constants.constValue(nameArg) : undefined;
    const label = typeof cookieName === 'string' ? `cookie \`${cookieName}\`` : 'a cookie';
    return { call, nameArg, valueArg, optsArg, header, ...(typeof cookieName === 'string' ? { cookieName } : {}), label };
  }
}
