import ts from '../../typescript.cjs';
import { accessName, calleeName, isProcessEnv, propertyNameText, unwrap } from './ast.js';
import { importedModules } from './module-imports.js';
import type { Constants } from './constants.js';
import {
  BEARER_PASSPORT,
  HTTP_REQUEST_CALL,
  NON_OAUTH_PASSPORT,
  OAUTH_LIBRARIES,
  OAUTH_PROVIDER,
  PASSPORT_STRATEGY_PACKAGE,
  TOKEN_ENDPOINT,
  TOKEN_ENDPOINT_NAME,
} from './knowledge/oauth-sources.js';
import type { Symbols } from './symbols.js';

/*
 * The sources of a provider's tokens, recognised from the program (not from names): calls of an
 * OAuth/OIDC library the app imports (knowledge/oauth-sources.ts), requests to a token endpoint
 * (a token URL literal, constant, env var or config key, or a `grant_type` in the request), and the
 * verify callbacks of passport OAuth strategies (`new GoogleStrategy(opts, verify)`, a Nest
 * `PassportStrategy(Strategy)` class's `validate`).
 */

/** One app of the scan (a package.json folder): the modules its files import. */
export interface App {
  dir: string | undefined;
  modules: ReadonlySet<string>;
}

/** A passport OAuth strategy's verify callback. */
export interface VerifyCallback {
  fn: ts.SignatureDeclaration;
  /** The strategy package (`passport-google-oauth20`) or class name. */
  strategy: string;
  /** A bearer-token strategy (`passport-http-bearer`): its first parameter is the client's credential, not a provider's token. */
  bearer?: boolean;
}

/** Recognises where a provider's tokens come from. */
export class TokenSources {
  private callbacks: VerifyCallback[] | undefined;
  private readonly verifyCache = new Map<ts.SignatureDeclaration, VerifyCallback | null>();
  private readonly fileModules = new Map<ts.SourceFile, ReadonlySet<string>>();

  constructor(
    private readonly symbols: Symbols,
    private readonly constants: Constants,
    private readonly roots: readonly ts.SourceFile[],
    /** Modules each analysed file imports, when already known (the analyzer reads them for the session kind). */
    known: ReadonlyMap<ts.SourceFile, readonly string[]> = new Map(),
  ) {
    for (const [sf, mods] of known) this.fileModules.set(sf, new Set(mods));
  }

  /** The library whose call this is (`oauth2Client.getToken(code)` in an app that imports google-auth-library), if any. */
  libraryCall(call: ts.CallExpression, app: App | undefined): string | undefined {
    const name = calleeName(call);
    if (!name) return undefined;
    for (const lib of OAUTH_LIBRARIES) {
      if (!lib.calls.includes(name)) continue;
      const mod = this.symbols.importSource(call.expression, (m) => lib.packages.includes(m));
      if ((mod && lib.packages.includes(mod)) || (app && lib.packages.some((p) => app.modules.has(p))) || lib.packages.some((p) => this.modulesOf(call.getSourceFile()).has(p))) return lib.label;
    }
    return undefined;
  }

  /** Modules a file imports (cached): for a file loaded through an import, which the app's list does not cover. */
  private modulesOf(sf: ts.SourceFile): ReadonlySet<string> {
    let m = this.fileModules.get(sf);
    if (!m) this.fileModules.set(sf, (m = new Set(importedModules(sf))));
    return m;
  }

  /** True when an app imports an OAuth library or a passport OAuth strategy. */
  appRunsOAuth(app: App | undefined): boolean {
    if (!app) return false;
    for (const m of app.modules) if (OAUTH_LIBRARIES.some((l) => l.packages.includes(m)) || isOAuthStrategyPackage(m)) return true;
    return false;
  }

  /**
   * A request to a token endpoint: an HTTP call whose URL is a token URL (literal, constant, env var
   * or config key named like one) or whose URL or body carries `grant_type`.
   */
  isTokenEndpointRequest(call: ts.CallExpression): boolean {
    const name = calleeName(call) ?? '';
    if (!HTTP_REQUEST_CALL.test(name)) return false;
    const url = call.arguments[0];
    if (url && this.namesTokenEndpoint(url, 0)) return true;
    return call.arguments.some((a) => this.mentionsGrantType(a, 0));
  }

  private namesTokenEndpoint(node: ts.Expression, depth: number): boolean {
    if (depth > 5) return false;
    const e = unwrap(node);
    if (ts.isStringLiteralLike(e)) return TOKEN_ENDPOINT.test(e.text) || e.text.includes('grant_type=');
    if (ts.isTemplateExpression(e)) {
      const text = e.head.text + e.templateSpans.map((s) => s.literal.text).join('');
      if (TOKEN_ENDPOINT.test(text) || text.includes('grant_type=')) return true;
      return e.templateSpans.length > 0 && this.namesTokenEndpoint(e.templateSpans[0]!.expression, depth + 1) && e.head.text === '';
    }
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) return this.namesTokenEndpoint(e.left, depth + 1) || this.namesTokenEndpoint(e.right, depth + 1);
    if (ts.isObjectLiteralExpression(e)) {
      const u = this.constants.propertyValue(e, 'url') ?? this.constants.propertyValue(e, 'uri');
      return u !== undefined && this.namesTokenEndpoint(u, depth + 1);
    }
    // process.env.TOKEN_URL, config.get('oauth.tokenUrl'), a constant named tokenEndpoint
    if ((ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && isProcessEnv(e.expression)) return TOKEN_ENDPOINT_NAME.test(accessName(e) ?? '');
    if (ts.isCallExpression(e) && /^(?:get|getOrThrow)$/.test(calleeName(e) ?? '') && e.arguments[0] && ts.isStringLiteralLike(e.arguments[0])) return TOKEN_ENDPOINT_NAME.test(e.arguments[0].text);
    if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
      const name = ts.isIdentifier(e) ? e.text : e.name.text;
      if (TOKEN_ENDPOINT_NAME.test(name)) return true;
      const decl = this.symbols.declarationOf(ts.isIdentifier(e) ? e : e.name);
      if (decl && (ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl)) && decl.initializer) return this.namesTokenEndpoint(decl.initializer, depth + 1);
    }
    return false;
  }

  /** `{ grant_type: 'authorization_code' }`, `'grant_type=…'`, `params.append('grant_type', …)`, through variables. */
  private mentionsGrantType(node: ts.Node, depth: number): boolean {
    if (depth > 3) return false;
    let found = false;
    const visit = (n: ts.Node): void => {
      if (found || ts.isFunctionLike(n)) return;
      if ((ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n)) && /^grant_?type$/i.test(propertyNameText(n.name) ?? '')) found = true;
      else if ((ts.isStringLiteralLike(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) && /(?:^|[?&])grant_type(?:=|$)/.test(n.text)) found = true;
      else if (ts.isIdentifier(n) && depth < 3) {
        const decl = this.symbols.declarationOf(n);
        if (decl && ts.isVariableDeclaration(decl) && decl.initializer && decl.initializer !== node) {
          if (this.mentionsGrantType(decl.initializer, depth + 1)) found = true;
          else if (ts.isIdentifier(decl.name)) found = this.appendsGrantType(decl.name);
        }
      }
      if (!found) ts.forEachChild(n, visit);
    };
    visit(node);
    return found;
  }

  /** `const params = new URLSearchParams(); params.append('grant_type', …)` in the variable's scope. */
  private appendsGrantType(id: ts.Identifier): boolean {
    const sym = this.symbols.symbolAt(id);
    let scope: ts.Node = id;
    while (scope.parent && !ts.isBlock(scope) && !ts.isSourceFile(scope)) scope = scope.parent;
    let found = false;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isCallExpression(n) && /^(?:append|set)$/.test(calleeName(n) ?? '') && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0]) && n.arguments[0].text === 'grant_type') {
        const obj = unwrap(n.expression);
        if (ts.isPropertyAccessExpression(obj) && ts.isIdentifier(obj.expression) && this.symbols.symbolAt(obj.expression) === sym) found = true;
      }
      ts.forEachChild(n, visit);
    };
    visit(scope);
    return found;
  }

  /** The passport OAuth strategy whose verify callback `fn` is, if it is one. */
  verifyCallbackOf(fn: ts.SignatureDeclaration): VerifyCallback | undefined {
    const known = this.verifyCache.get(fn);
    if (known !== undefined) return known ?? undefined;
    let found: VerifyCallback | undefined;
    const parent = fn.parent;
    if ((ts.isFunctionExpression(fn) || ts.isArrowFunction(fn)) && parent && ts.isNewExpression(parent) && parent.arguments?.includes(fn as ts.Expression)) {
      const strategy = this.oauthStrategy(parent.expression);
      const mod = this.symbols.importSource(parent.expression);
      if (strategy) found = { fn, strategy };
      else if (mod && BEARER_PASSPORT.test(mod)) found = { fn, strategy: mod, bearer: true };
    } else if (ts.isMethodDeclaration(fn) && propertyNameText(fn.name) === 'validate' && ts.isClassLike(parent)) {
      for (const clause of parent.heritageClauses ?? []) {
        for (const t of clause.types) {
          const base = unwrap(t.expression);
          // class GoogleStrategy extends PassportStrategy(Strategy, 'google')
          if (ts.isCallExpression(base) && calleeName(base) === 'PassportStrategy' && base.arguments[0]) {
            const strategy = this.oauthStrategy(base.arguments[0]);
            const name = base.arguments[1] && ts.isStringLiteralLike(base.arguments[1]) ? base.arguments[1].text : undefined;
            if (strategy || (name && OAUTH_PROVIDER.test(name))) found = { fn, strategy: strategy ?? name! };
          }
        }
      }
    }
    this.verifyCache.set(fn, found ?? null);
    return found;
  }

  /** Every passport OAuth verify callback in the analysed files. */
  verifyCallbacks(): readonly VerifyCallback[] {
    if (this.callbacks) return this.callbacks;
    const out: VerifyCallback[] = [];
    const visit = (n: ts.Node): void => {
      if ((ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n)) && (ts.isNewExpression(n.parent) || ts.isClassLike(n.parent))) {
        const v = this.verifyCallbackOf(n);
        if (v) out.push(v);
      }
      ts.forEachChild(n, visit);
    };
    for (const sf of this.roots) visit(sf);
    this.callbacks = out;
    return out;
  }

  /** The strategy package (or class name) when `ctor` is a passport OAuth strategy. */
  private oauthStrategy(ctor: ts.Expression): string | undefined {
    const mod = this.symbols.importSource(ctor);
    if (mod) return isOAuthStrategyPackage(mod) ? mod : undefined;
    const name = ts.isIdentifier(unwrap(ctor)) ? (unwrap(ctor) as ts.Identifier).text : accessName(unwrap(ctor));
    return name && /Strategy$/.test(name) && OAUTH_PROVIDER.test(name) ? name : undefined;
  }
}

function isOAuthStrategyPackage(mod: string): boolean {
  return PASSPORT_STRATEGY_PACKAGE.test(mod) && !NON_OAUTH_PASSPORT.test(mod.replace(/^@[a-z0-9-]+\//, ''));
}

/**
 * Which token a verify callback's parameter holds, by position: OAuth 2 strategies call
 * `verify([req,] accessToken, refreshToken, [params,] profile, done)`; OAuth 1 strategies
 * `verify([req,] token, tokenSecret, profile, done)`. `params` is the token response.
 */
export function verifyParameterRole(fn: ts.SignatureDeclaration, param: ts.ParameterDeclaration): 'access' | 'refresh' | 'response' | undefined {
  const params = [...fn.parameters];
  const first = params[0] && ts.isIdentifier(params[0].name) ? params[0].name.text : '';
  if (/^(?:req|request|_req|ctx)$/.test(first)) params.shift();
  const i = params.indexOf(param);
  if (i < 0) return undefined;
  const profileAt = params.findIndex((p) => ts.isIdentifier(p.name) && /profile/i.test(p.name.text));
  if (profileAt >= 0 && i >= profileAt) return undefined;
  if (i === 0) return 'access';
  if (i === 1) return 'refresh';
  if (i === 2 && (params.length >= 5 || profileAt > 2)) return 'response';
  return undefined;
}
