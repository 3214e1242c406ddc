import ts from 'typescript5';
import { accessName, calleeName, isRequireCall, isSanitizerCall, objectName, unwrap } from './ast.js';
import type { Constants } from './constants.js';
import { OAUTH_MODULE, OAUTH_PROVIDER, OWN_TOKEN_ISSUER, TOKEN_ENDPOINT, TOKEN_EXCHANGE_CALL } from './knowledge/oauth-sources.js';
import type { Symbols } from './symbols.js';
import { type Taint, type TaintMode, tokenNameKind } from './taint.js';

/*
 * The value-following room, first layer: the state of one walk (which sink is asking, which
 * parameters are bound to which arguments) and the recognisers of token sources it consults.
 * The walk itself is built on it layer by layer (serializers, calls, declarations, expressions).
 */

/** What the walks of one run share: the files' OAuth verdicts. */
export interface TraceShared {
  /** Whether a file runs an OAuth flow, per file. */
  oauth?: Map<ts.SourceFile, boolean>;
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

  constructor(
    /** The file being analysed. */
    readonly sf: ts.SourceFile,
    protected readonly symbols: Symbols,
    protected readonly constants: Constants,
    protected readonly shared: TraceShared,
    /** How a file is named in messages (relative to the working directory). */
    protected readonly displayPath: (sf: ts.SourceFile) => string,
  ) {}

  /** Where an expression's value comes from, when that is a secret for the current sink. */
  abstract taint(node: ts.Node | undefined, depth?: number): Taint | undefined;

  /** True when the file runs an OAuth flow: a passport OAuth strategy, an OAuth library, a token endpoint, token-response fields. */
  oauthContext(): boolean {
    if (this.fileRunsOAuth(this.sf)) return true;
    return this.valueFile !== undefined && this.valueFile !== this.sf && this.fileRunsOAuth(this.valueFile);
  }

  private fileRunsOAuth(sf: ts.SourceFile): boolean {
    this.shared.oauth ??= new Map();
    const known = this.shared.oauth.get(sf);
    if (known !== undefined) return known;
    let found = false;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isStringLiteralLike(n) || ts.isTemplateHead(n)) {
        const parent = n.parent;
        const isModule = parent && (ts.isImportDeclaration(parent) || ts.isExternalModuleReference(parent) || (ts.isCallExpression(parent) && isRequireCall(parent)));
        if (isModule ? OAUTH_MODULE.test(n.text) : TOKEN_ENDPOINT.test(n.text) || n.text === 'authorization_code') found = true;
      } else if ((ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n)) && /^(?:access_token|refresh_token|id_token)$/.test(accessName(n) ?? '')) found = true;
      else if (ts.isNewExpression(n) && /Strategy$/.test(calleeName(n) ?? '') && OAUTH_PROVIDER.test(calleeName(n) ?? '')) found = true;
      else if (ts.isCallExpression(n) && calleeName(n) === 'AuthGuard' && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0]) && OAUTH_PROVIDER.test(n.arguments[0].text)) found = true;
      else if (ts.isCallExpression(n) && /^(?:authorizationCodeGrant|getToken)$/.test(calleeName(n) ?? '')) found = true;
      ts.forEachChild(n, visit);
    };
    visit(sf);
    this.shared.oauth.set(sf, found);
    return found;
  }

  /** A token named `name`, when the current sink counts such tokens. */
  tokenNameTaint(name: string): Taint | undefined {
    if (this.mode === 'secret') return undefined;
    const kind = tokenNameKind(name);
    if (!kind) return undefined;
    const label = kind === 'verifier' ? `PKCE verifier \`${name}\`` : `token \`${name}\``;
    if (kind === 'verifier' || kind === 'bearer') return { label, token: true };
    if (this.mode === 'any-token' && kind === 'oauth') return { label, token: true };
    if (this.oauthContext()) return { label: `OAuth ${label}`, token: true, ...(kind === 'oauth' && /tokens$|data|response|res$|set|result|json|info|^oauth/i.test(name) ? { response: true } : {}) };
    return undefined;
  }

  /** A call that issues the app's own token (`jwtService.sign`, `authService.login`), not a provider's. */
  isOwnTokenIssuer(node: ts.Expression): boolean {
    const e = unwrap(node);
    return ts.isCallExpression(e) && OWN_TOKEN_ISSUER.test(calleeName(e) ?? '') && !this.isTokenEndpointCall(e);
  }

  /** `fetch('https://github.com/login/oauth/access_token', …)`, `axios.post(tokenUrl)`, `oauth2Client.getToken(code)`. */
  isTokenEndpointCall(call: ts.CallExpression): boolean {
    const name = calleeName(call) ?? '';
    if (TOKEN_EXCHANGE_CALL.test(name) && this.oauthContext()) return true;
    if (!/^(?:fetch|post|get|request|axios|default|got|ky|\$fetch|undici)$/.test(name) && !(ts.isIdentifier(call.expression) && /^(?:axios|request|fetch|got)$/.test(call.expression.text))) return false;
    const urlOf = (a: ts.Expression | undefined): string | undefined => {
      if (!a) return undefined;
      const e = unwrap(a);
      if (ts.isStringLiteralLike(e)) return e.text;
      if (ts.isTemplateExpression(e)) return e.head.text + e.templateSpans.map((s) => s.literal.text).join('');
      if (ts.isBinaryExpression(e)) return (urlOf(e.left) ?? '') + (urlOf(e.right) ?? '');
      if (ts.isObjectLiteralExpression(e)) return urlOf(this.constants.propertyValue(e, 'url'));
      return undefined;
    };
    return TOKEN_ENDPOINT.test(urlOf(call.arguments[0]) ?? '');
  }

  /** True when `id` is known to be missing where it is read: `if (typeof x !== 'undefined') … else <here>`. */
  isAbsentAt(id: ts.Identifier): boolean {
    const sym = this.symbols.checker.getSymbolAtLocation(id);
    if (!sym) return false;
    const is = (n: ts.Expression): boolean => ts.isIdentifier(n) && this.symbols.checker.getSymbolAtLocation(n) === sym;
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
