import ts from '../../typescript.cjs';
import { calleeName, isSanitizerCall, objectName, unwrap } from './ast.js';
import type { Constants } from './constants.js';
import { HTTP_REQUEST_CALL, OWN_TOKEN_BY_NAME, OWN_TOKEN_ISSUER, TOKEN_EXCHANGE_CALL, TOKEN_RESPONSE_FIELD } from './knowledge/oauth-sources.js';
import type { SessionMiddleware } from './session-middleware.js';
import type { Sinks } from './sinks.js';
import type { Symbols } from './symbols.js';
import { MODE_ACCEPTS, type Taint, type TaintMode, tokenNameKind } from './taint.js';
import type { App, TokenSources } from './token-sources.js';

/*
 * The value-following room, first layer: the state of one walk (which sink is asking, which
 * parameters are bound to which arguments) and the recognisers of token sources it consults.
 * The walk itself is built on it layer by layer (serializers, calls, declarations, expressions).
 */

/** The rooms a walk consults. */
export interface TraceRooms {
  symbols: Symbols;
  constants: Constants;
  sources: TokenSources;
  sinks: Sinks;
  sessions: SessionMiddleware;
}

/** The state of a walk from a sink back to where its value comes from, and the token recognisers. */
export abstract class TraceBase {
  protected readonly visiting = new Set<ts.Node>();
  /** What counts as a secret for the sink being checked (see `sinkTaint`). */
  mode: TaintMode = 'secret';
  /** The file of the node whose taint is being worked out (the value may come from an imported file). */
  protected valueFile: ts.SourceFile | undefined;
  /** How many times the current taint walk went from a parameter to a caller's argument (at most once). */
  protected paramHops = 0;
  /** Parameters bound to the arguments of the call whose return value is being followed. */
  protected readonly bindings = new Map<ts.ParameterDeclaration, ts.Expression | undefined>();

  protected readonly symbols: Symbols;
  protected readonly constants: Constants;
  protected readonly sources: TokenSources;
  protected readonly sinks: Sinks;
  protected readonly sessions: SessionMiddleware;

  constructor(
    /** The file being analysed. */
    readonly sf: ts.SourceFile,
    rooms: TraceRooms,
    /** The app the file belongs to (its package.json folder). */
    protected readonly app: App | undefined,
    /** How a file is named in messages (relative to the working directory). */
    protected readonly displayPath: (sf: ts.SourceFile) => string,
  ) {
    this.symbols = rooms.symbols;
    this.constants = rooms.constants;
    this.sources = rooms.sources;
    this.sinks = rooms.sinks;
    this.sessions = rooms.sessions;
  }

  /** Where an expression's value comes from, when that is a secret for the current sink. */
  abstract taint(node: ts.Node | undefined, depth?: number): Taint | undefined;

  /** The taint when the current sink counts its kind of value, else undefined. */
  protected accepts(t: Taint | undefined): Taint | undefined {
    return t && MODE_ACCEPTS[this.mode].has(t.kind ?? 'secret') ? t : undefined;
  }

  /** Where a node is, for messages: `line 12` in the analysed file, `src/auth.ts:12` elsewhere. */
  protected where(node: ts.Node): string {
    const sf = node.getSourceFile();
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    return sf === this.sf ? `line ${line}` : `${this.displayPath(sf)}:${line}`;
  }

  /**
   * A value named `name` with nothing else known of it: PKCE verifiers and bearer headers by their
   * name; access, refresh and id tokens only where any token counts (logs, readable cookies); a
   * plain `token` only in a cookie page scripts can read.
   */
  tokenNameTaint(name: string): Taint | undefined {
    if (this.mode === 'secret') return undefined;
    const kind = tokenNameKind(name);
    if (!kind) return undefined;
    if (kind === 'verifier') return this.accepts({ label: `PKCE verifier \`${name}\``, kind: 'verifier' });
    if (kind === 'bearer') return this.accepts({ label: `token \`${name}\``, kind: 'bearer' });
    if (kind === 'generic' && this.mode !== 'readable-cookie') return undefined;
    return this.accepts({ label: `token \`${name}\``, kind: 'named-token', nameKind: kind });
  }

  /** A call that issues the app's own token (`jwtService.sign`, `authService.login`), not a provider's. */
  isOwnTokenIssuer(node: ts.Expression): boolean {
    const e = unwrap(node);
    return ts.isCallExpression(e) && OWN_TOKEN_ISSUER.test(calleeName(e) ?? '') && this.providerCallTaint(e) === undefined;
  }

  /** The app's own token issued by `call` (`jwt.sign(…)`, `auth.login(user)`), where the sink counts it. */
  protected ownTokenTaint(call: ts.CallExpression): Taint | undefined {
    const name = calleeName(call) ?? '';
    if (!OWN_TOKEN_BY_NAME.test(name)) return undefined;
    return this.accepts({ label: `the app's own token from \`${name}()\` (${this.where(call)})`, kind: 'own-token' });
  }

  /**
   * A call whose result is a provider's token set: an OAuth library's call (by the package the app
   * imports), a request to a token endpoint, or (in an app that runs an OAuth flow) a call named
   * like a token exchange that cannot be followed into the app's code.
   */
  providerCallTaint(call: ts.CallExpression): Taint | undefined {
    const lib = this.sources.libraryCall(call, this.app);
    const at = this.where(call);
    if (lib) return { label: `the provider's tokens from ${lib} \`${calleeName(call)}()\` (${at})`, kind: 'provider-token', response: true };
    if (this.sources.isTokenEndpointRequest(call)) return { label: `the provider's token response (token-endpoint request at ${at})`, kind: 'provider-token', response: true };
    const name = calleeName(call) ?? '';
    if (TOKEN_EXCHANGE_CALL.test(name) && !this.symbols.functionOf(call.expression) && this.sources.appRunsOAuth(this.app)) {
      return { label: `the provider's tokens from \`${name}()\` (${at})`, kind: 'provider-token', response: true };
    }
    return undefined;
  }

  /**
   * A token response's own field (`access_token`, `refresh_token`, `id_token`, RFC 6749 and
   * OpenID Connect spell them so) read from what an HTTP request answered
   * (`(await fetch(url, opts).then((r) => r.json())).access_token`, `res.data.refresh_token`),
   * where the request's URL is out of sight (a parameter): the shape of the answer is the source.
   */
  responseFieldTaint(access: ts.PropertyAccessExpression | ts.ElementAccessExpression, field: string): Taint | undefined {
    if (!TOKEN_RESPONSE_FIELD.test(field) || !this.isHttpAnswer(access.expression, 0)) return undefined;
    return { label: `the provider's token response field \`${field}\` (an HTTP answer, ${this.where(access)})`, kind: 'provider-token', response: true };
  }

  /** True when `node` is what an HTTP client call answered, through `await`, `.then(r => r.json())`, `.json()` and `.data`/`.body`. */
  private isHttpAnswer(node: ts.Expression, depth: number): boolean {
    if (depth > 6) return false;
    const e = unwrap(node);
    if (ts.isCallExpression(e)) {
      const name = calleeName(e) ?? '';
      if (HTTP_REQUEST_CALL.test(name)) return true;
      if (ts.isPropertyAccessExpression(e.expression) && /^(?:then|json|text)$/.test(name)) return this.isHttpAnswer(e.expression.expression, depth + 1);
      return false;
    }
    if (ts.isPropertyAccessExpression(e) && /^(?:data|body)$/.test(e.name.text)) return this.isHttpAnswer(e.expression, depth + 1);
    if (ts.isIdentifier(e)) {
      const decl = this.symbols.declarationOf(e);
      return !!decl && ts.isVariableDeclaration(decl) && ts.isIdentifier(decl.name) && !!decl.initializer && this.isHttpAnswer(decl.initializer, depth + 1);
    }
    return false;
  }

  /** `fetch('https://github.com/login/oauth/access_token', …)`, `axios.post(tokenUrl)`, `oauth2Client.getToken(code)`. */
  isTokenEndpointCall(call: ts.CallExpression): boolean {
    return this.providerCallTaint(call) !== undefined;
  }

  /** True when `id` is known to be missing where it is read: `if (typeof x !== 'undefined') … else <here>`. */
  isAbsentAt(id: ts.Identifier): boolean {
    const sym = this.symbols.symbolAt(id);
    if (!sym) return false;
    const is = (n: ts.Expression): boolean => ts.isIdentifier(n) && this.symbols.symbolAt(n) === sym;
    const asserts = (c: ts.Expression): 'present' | 'absent' | undefined => {
      const e = unwrap(c);
      if (is(e)) return 'present';
      if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken && is(unwrap(e.operand))) return 'absent';
      if (ts.isBinaryExpression(e)) {
        const op = e.operatorToken.kind;
        const eq = op === ts.SyntaxKind.EqualsEqualsEqualsToken || op === ts.SyntaxKind.EqualsEqualsToken;
        const ne = op === ts.SyntaxKind.ExclamationEqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsToken;
        if (!eq && !ne) return undefined;
        const l = unwrap(e.left);
        const r = unwrap(e.right);
        const subject = (x: ts.Expression): boolean => is(x) || (ts.isTypeOfExpression(x) && is(unwrap(x.expression)));
        const nothing = (x: ts.Expression): boolean =>
          x.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(x) && x.text === 'undefined') || (ts.isStringLiteralLike(x) && x.text === 'undefined');
        if ((subject(l) && nothing(r)) || (subject(r) && nothing(l))) return eq ? 'absent' : 'present';
      }
      return undefined;
    };
    let child: ts.Node = id;
    for (let p = id.parent; p && !ts.isFunctionLike(p); child = p, p = p.parent) {
      if (ts.isIfStatement(p) && child !== p.expression) {
        const a = asserts(p.expression);
        if ((child === p.thenStatement && a === 'absent') || (child === p.elseStatement && a === 'present')) return true;
      }
    }
    return false;
  }



  isJwtValue(node: ts.Expression, depth = 0): boolean {
    if (depth > 6) return false;
    const e = unwrap(node);
    if (ts.isCallExpression(e)) {
      const n = calleeName(e);
      const obj = ts.isPropertyAccessExpression(unwrap(e.expression)) ? objectName((unwrap(e.expression) as ts.PropertyAccessExpression).expression) : '';
      return (n === 'sign' || n === 'signAsync') && /jwt/i.test(obj ?? '');
    }
    if (ts.isIdentifier(e)) {
      const decl = this.symbols.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return this.isJwtValue(decl.initializer, depth + 1);
    }
    return false;
  }

  /** True when a value is a hash, mask or other derivative of a secret (`hash(k)`, `k.slice(-4)`, a variable holding one). */
  isSanitized(node: ts.Expression, depth = 0): boolean {
    if (depth > 6) return false;
    const e = unwrap(node);
    if (ts.isCallExpression(e)) {
      if (isSanitizerCall(e)) return true;
      const callee = unwrap(e.expression);
      // createHash(...).update(k).digest('hex') and similar chains
      return ts.isPropertyAccessExpression(callee) && (callee.name.text === 'digest' || callee.name.text === 'toString') && this.isSanitized(callee.expression, depth + 1);
    }
    if (ts.isPropertyAccessExpression(e) && ts.isCallExpression(unwrap(e.expression))) return this.isSanitized(e.expression, depth + 1);
    if (ts.isIdentifier(e)) {
      const decl = this.symbols.declarationOf(e);
      return !!decl && ts.isVariableDeclaration(decl) && !!decl.initializer && this.isSanitized(decl.initializer, depth + 1);
    }
    return false;
  }
}
