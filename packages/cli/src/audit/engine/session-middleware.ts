import ts from '../../typescript.cjs';
import { SESSION_MODULES, type SessionLib, accessName, calleeName, decoratorName, decoratorsOf, unwrap } from './ast.js';
import type { Constants } from './constants.js';
import type { Symbols } from './symbols.js';

/* The session room: session middleware calls and their options, and expressions that are the session. */

/** Recognises session middleware and session objects. */
export class SessionMiddleware {
  constructor(
    private readonly symbols: Symbols,
    private readonly constants: Constants,
  ) {}

  sessionLibOf(call: ts.CallExpression): SessionLib | undefined {
    const mod = this.symbols.importSource(call.expression, isSessionModule);
    return mod ? SESSION_MODULES[mod] : undefined;
  }

  isSessionExpression(node: ts.Expression): boolean {
    const e = unwrap(node);
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
      if (accessName(e) === 'session' || accessName(e) === 'secureSession') return true;
      return this.isSessionExpression(e.expression);
    }
    if (ts.isIdentifier(e)) {
      const decl = this.symbols.declarationOf(e);
      if (decl && ts.isParameter(decl)) return decoratorsOf(decl).some((d) => decoratorName(d) === 'Session') || /^(?:session|sess)$/i.test(e.text);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return this.isSessionExpression(decl.initializer);
    }
    return false;
  }

  /** A session middleware call (`session(opts)`, `cookieSession(opts)`, `fastify.register(secureSession, opts)`) and its options. */
  sessionMiddlewareOf(call: ts.CallExpression): { lib: SessionLib; opts: ts.ObjectLiteralExpression } | undefined {
    let lib: SessionLib | undefined;
    let optsArg: ts.Expression | undefined;
    if (calleeName(call) === 'register' && call.arguments.length >= 1) {
      const mod = this.symbols.importSource(call.arguments[0]!, isSessionModule);
      lib = mod ? SESSION_MODULES[mod] : undefined;
      optsArg = call.arguments[1];
    } else {
      lib = this.sessionLibOf(call);
      optsArg = call.arguments[0];
    }
    if (!lib) return undefined;
    const opts = this.constants.objectLiteralOf(optsArg);
    return opts ? { lib, opts } : undefined;
  }

  /**
   * Options assigned after the object literal: `opts.cookie.secure = false`, `sess.cookie = { … }`.
   * Returns the last plain assignment to `<holder>.<path>` in this file, if any.
   */
}

/** The modules whose import `sessionLibOf` looks for (any key SESSION_MODULES answers for). */
function isSessionModule(mod: string): boolean {
  return SESSION_MODULES[mod] !== undefined;
}
