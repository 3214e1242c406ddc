import ts from 'typescript5';
import { relative } from 'node:path';
import type { Finding, RuleId, Severity } from '../../finding.js';
import { isSecretConfigName, isSecretName, matchProvider } from '../../secrets/secret-detector.js';
import type { SessionKind } from '../session-kind.js';
import type { BranchCondition } from './conditions.js';
import {
  LITERAL_KEEPING_CALLS,
  PASSTHROUGH_CALLS,
  REQUEST_OBJECT_NAMES,
  SANITIZER_CALLS,
  SESSION_MODULES,
  type SessionLib,
  accessName,
  calleeName,
  decoratorName,
  decoratorsOf,
  exits,
  isBooleanish,
  isProcessEnv,
  isRequireCall,
  isSanitizerCall,
  objectName,
  propertyNameText,
  returnExpressions,
  unwrap,
} from './ast.js';

/** One value an option or expression can take, and the branch conditions that lead to it. */
export interface Alternative<T = ts.Expression> {
  /** The value, or undefined when the property is absent on this branch. */
  value: T | undefined;
  conds: BranchCondition[];
  /** The conditional spread or expression that made the choice, where a finding about it belongs. */
  at?: ts.Node;
}

/** Parameter names that say the value is not a secret but a name, an id or a message about one. */
const NON_SECRET_PARAMETER = /^(?:names?|ids?|label|title|path|url|uri|href|code|status|message|msg|type|kind|reason|field|scope|provider|service|count|length|index|format|hint|e|err|error)$|[a-z](?:Names?|Ids?|Label|Title|Path|Url|Uri|Code|Status|Message|Type|Kind|Reason|Count|Length|Index|Format|Hint)$/;
/** Calls that copy chosen fields of an object (`pick(user, ['id', 'accessToken'])`, `_.pick`, ramda). */
const PICK_CALL = /^(?:pick|pickFields|only)$/;
/** class-transformer calls that serialize an instance of a class by its decorators. */
const TRANSFORM_CALL = /^(?:plainToInstance|plainToClass|plainToClassFromExist|instanceToPlain|classToPlain|serialize)$/;

/** A finding from source code, with the character range it covers (used for code frames and masking). */
export interface SourceFinding extends Finding {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Offsets into the file text: the reported node. */
  start: number;
  end: number;
  /** Offsets of string literals whose text must be masked when the code is shown. */
  maskRanges: [number, number][];
}

/** Where a secret came from, for messages. */
export interface Taint {
  label: string;
  /** The literal, when the secret is a literal in the source. */
  literal?: ts.StringLiteralLike;
  /** A bearer or OAuth token (not a key): a secret only where the sink says so. */
  token?: boolean;
  /** A whole token-endpoint response (`await res.json()`, `response.data`): its fields are tokens. */
  response?: boolean;
}

/**
 * What counts as a secret at a sink. `secret`: keys and signing secrets only. `provider-token`: also
 * bearer tokens and, in a file that runs an OAuth flow, the provider's access, refresh and id tokens
 * and PKCE verifiers (cookies, client-side sessions, response bodies: the app's own session token
 * belongs there). `any-token`: also the app's own tokens (logs).
 */
export type TaintMode = 'secret' | 'provider-token' | 'any-token';

/** Test files: `*.spec.ts`, `*.test.js`, `test/`, `__tests__/`. */
const TEST_FILE = /(?:\.(?:spec|test)\.[cm]?[jt]sx?$|(?:^|[\\/])(?:test|tests|__tests__)[\\/])/;

/** Fields of a token response that are not tokens. */
const NON_TOKEN_FIELDS = /^(?:expires_in|expiresIn|expires_at|expiresAt|scope|token_type|tokenType|error|error_description|status|statusCode|ok|headers|message|user|profile|id|login|email|name)$/;
/** URLs of token endpoints. */
const TOKEN_ENDPOINT = /^https?:\/\/[^\s]*(?:\/oauth2?\/(?:access_)?token|\/login\/oauth\/access_token|oauth2\.googleapis\.com\/token|\/api\/token\b|\/oauth\/token|\/token\b)/i;
/** Calls whose result is a token set from the provider (in a file that runs an OAuth flow). */
const TOKEN_EXCHANGE_CALL = /^(?:getTokens?|getAccessToken|authorizationCodeGrant|exchange\w*|get\w*Token(?:s|Data|Set|Response)|request\w*Token\w*|fetch\w*Token\w*|refreshAccessToken)$/;
/** Calls that issue the app's own token. */
const OWN_TOKEN_ISSUER = /^(?:sign|signAsync|encode|generate\w*|create\w*|issue\w*|mint\w*|make\w*|login|signIn|signin|prepare\w*|refreshTokens?)$/;
/** passport strategies and libraries that run an OAuth flow. */
const OAUTH_MODULE = /^(?:passport-(?!jwt|local|custom|http|anonymous|headerapikey|cookie)[a-z0-9-]+|google-auth-library|googleapis|simple-oauth2|openid-client|oauth4webapi|@octokit\/oauth-app|spotify-web-api-node|discord-oauth2|client-oauth2|arctic|grant)$/;
const OAUTH_PROVIDER = /google|github|gitlab|discord|facebook|twitter|oauth|spotify|microsoft|linkedin|apple|slack|twitch|azure|auth0|okta|keycloak|openid|kakao|naver/i;

/** Which kind of token a name denotes, if any. */
export function tokenNameKind(name: string): 'verifier' | 'bearer' | 'oauth' | 'generic' | undefined {
  const n = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.\s]+/g, '_')
    .toLowerCase();
  if (/(?:^|_)code_verifier$|^(?:pkce_)?verifier$/.test(n)) return 'verifier';
  if (/(?:^|_)(?:bearer(?:_token|_header)?|authorization(?:_header)?|auth_header)$/.test(n)) return 'bearer';
  if (/(?:^|_)(?:access|refresh|id)_tokens?$|^_?tokens$|^oauth|(?:^|_)tokens?_(?:data|response|res|set|result|json|info)$/.test(n)) return 'oauth';
  if (/(?:^|_)token$/.test(n)) return 'generic';
  return undefined;
}

/** A string literal that ends up as a secret value, and how. */
export interface LiteralCandidate {
  node: ts.StringLiteralLike;
  /** Set when the literal is a fallback for an env var or config value, e.g. `process.env.X || 'lit'`. */
  fallbackFor?: string;
}

/** State shared by the analyses of one run. */
export interface SharedState {
  roots: Set<ts.SourceFile>;
  reported: Set<string>;
  out: SourceFinding[];
  cwd: string;
  /** Calls in the analysed files by callee name, built on first use (for following a helper's parameters to its callers). */
  calls?: Map<string, ts.CallExpression[]>;
  /** Whether a file runs an OAuth flow, per file. */
  oauth?: Map<ts.SourceFile, boolean>;
}

/**
 * The analysis engine for one file: resolves symbols with the type checker, follows values to
 * where they come from (taint), folds constants, and reports findings. Rules ask it questions and
 * report through it; it knows no rule.
 */
export class AnalysisContext {
  private readonly visiting = new Set<ts.Node>();
  /** The node being visited in this file: where findings in non-analysed files are reported. */
  anchor: ts.Node | undefined;
  /** What counts as a secret for the sink being checked (see {@link sinkTaint}). */
  mode: TaintMode = 'secret';
  /** The file of the node whose taint is being worked out (the value may come from an imported file). */
  private valueFile: ts.SourceFile | undefined;
  /** How many times the current taint walk went from a parameter to a caller's argument (at most once). */
  private paramHops = 0;
  /** Parameters bound to the arguments of the call whose return value is being followed. */
  private readonly bindings = new Map<ts.ParameterDeclaration, ts.Expression | undefined>();
  private readonly sinkCache = new Map<string, Taint | undefined>();

  constructor(
    readonly sf: ts.SourceFile,
    readonly checker: ts.TypeChecker,
    readonly sessionKind: SessionKind,
    private readonly shared: SharedState,
  ) {}

  report(ruleId: RuleId, severity: Severity, node: ts.Node, message: string, evidence?: string, maskNodes: readonly ts.Node[] = []): void {
    // a node in a file that is not analysed itself (an imported options file): report at the use
    let at = node;
    let sf = node.getSourceFile();
    if (sf !== this.sf && !this.shared.roots.has(sf)) {
      at = this.anchor ?? node;
      sf = this.sf;
    }
    const start = at.getStart(sf);
    const end = at.getEnd();
    const file = this.displayPath(sf);
    // one KW003 per literal, whatever the path that reached it
    const key = ruleId === 'KW003' ? `${ruleId}:${file}:${start}` : `${ruleId}:${file}:${start}:${message}`;
    if (this.shared.reported.has(key)) return;
    // test code is not shipped: its findings are worth a look, not a failed build
    if (TEST_FILE.test(file) && severity !== 'info') {
      severity = 'low';
      message = `${message} (in test code)`;
    }
    this.shared.reported.add(key);
    const s = sf.getLineAndCharacterOfPosition(start);
    const e = sf.getLineAndCharacterOfPosition(end);
    this.shared.out.push({
      ruleId,
      severity,
      message,
      file,
      line: s.line + 1,
      column: s.character + 1,
      endLine: e.line + 1,
      endColumn: e.character + 1,
      start,
      end,
      maskRanges: maskNodes.filter((n) => n.getSourceFile() === sf).map((n) => [n.getStart(sf), n.getEnd()] as [number, number]),
      ...(evidence !== undefined ? { evidence } : {}),
    });
  }

  displayPath(sf: ts.SourceFile): string {
    const rel = relative(this.shared.cwd, sf.fileName);
    return rel.startsWith('..') ? sf.fileName : rel;
  }

  declarationOf(node: ts.Node): ts.Declaration | undefined {
    let sym: ts.Symbol | undefined;
    // `{ origin }`: the variable, not the property it creates
    if (ts.isShorthandPropertyAssignment(node)) sym = this.checker.getShorthandAssignmentValueSymbol(node);
    else if (ts.isIdentifier(node) && node.parent && ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node) sym = this.checker.getShorthandAssignmentValueSymbol(node.parent);
    else sym = this.checker.getSymbolAtLocation(node);
    if (!sym) return undefined;
    if (sym.flags & ts.SymbolFlags.Alias) {
      try {
        const target = this.checker.getAliasedSymbol(sym);
        if (target && target.declarations && target.declarations.length > 0) sym = target;
      } catch {
        return sym.declarations?.[0];
      }
    }
    return sym.valueDeclaration ?? sym.declarations?.[0];
  }

  /** Module an identifier was imported from (a default, named or namespace import, or a CommonJS require call). */
  importSource(node: ts.Expression): string | undefined {
    const e = unwrap(node);
    if (isRequireCall(e)) return (e.arguments[0] as ts.StringLiteral).text;
    let id: ts.Expression = e;
    // session.default(...) or ns.default
    if (ts.isPropertyAccessExpression(id) && id.name.text === 'default') id = id.expression;
    if (ts.isPropertyAccessExpression(id) && isRequireCall(unwrap(id.expression))) return (unwrap(id.expression) as ts.CallExpression).arguments[0] && ((unwrap(id.expression) as ts.CallExpression).arguments[0] as ts.StringLiteral).text;
    if (!ts.isIdentifier(id)) return undefined;
    const sym = this.checker.getSymbolAtLocation(id);
    const decl = sym?.declarations?.[0];
    if (!decl) return undefined;
    let n: ts.Node = decl;
    if (ts.isImportSpecifier(n) || ts.isNamespaceImport(n) || ts.isImportClause(n)) {
      while (n && !ts.isImportDeclaration(n)) n = n.parent;
      return n && ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) ? n.moduleSpecifier.text : undefined;
    }
    if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteral(n.moduleReference.expression)) {
      return n.moduleReference.expression.text;
    }
    if (ts.isVariableDeclaration(n) && n.initializer) {
      const init = unwrap(n.initializer);
      if (isRequireCall(init)) return (init.arguments[0] as ts.StringLiteral).text;
      if (ts.isPropertyAccessExpression(init) && isRequireCall(unwrap(init.expression))) return ((unwrap(init.expression) as ts.CallExpression).arguments[0] as ts.StringLiteral).text;
    }
    if (ts.isBindingElement(n)) {
      let p: ts.Node = n;
      while (p && !ts.isVariableDeclaration(p)) p = p.parent;
      if (p && ts.isVariableDeclaration(p) && p.initializer && isRequireCall(unwrap(p.initializer))) return ((unwrap(p.initializer) as ts.CallExpression).arguments[0] as ts.StringLiteral).text;
    }
    return undefined;
  }

  /** The object literal an expression evaluates to, following identifiers, imports and simple calls. */
  objectLiteralOf(node: ts.Expression | undefined, depth = 0): ts.ObjectLiteralExpression | undefined {
    if (!node || depth > 8) return undefined;
    const e = unwrap(node);
    if (ts.isObjectLiteralExpression(e)) return e;
    if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
      const decl = this.declarationOf(ts.isPropertyAccessExpression(e) ? e.name : e);
      if (!decl) return undefined;
      // a parameter's default (`function useCors(app, options = { … })`) is what runs when the caller gives none
      if ((ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl) || ts.isParameter(decl)) && decl.initializer) return this.objectLiteralOf(decl.initializer, depth + 1);
      if (ts.isExportAssignment(decl)) return this.objectLiteralOf(decl.expression, depth + 1);
      return undefined;
    }
    if (ts.isCallExpression(e)) {
      const fn = this.functionOf(e.expression);
      if (fn) {
        for (const r of returnExpressions(fn)) {
          const o = this.objectLiteralOf(r, depth + 1);
          if (o) return o;
        }
      }
    }
    return undefined;
  }

  /** Value of a property of an object literal (following spreads), or undefined. */
  property(obj: ts.ObjectLiteralExpression | undefined, name: string, depth = 0): ts.Expression | ts.ShorthandPropertyAssignment | undefined {
    if (!obj || depth > 5) return undefined;
    for (let i = obj.properties.length - 1; i >= 0; i--) {
      const p = obj.properties[i]!;
      if (ts.isPropertyAssignment(p) && propertyNameText(p.name) === name) return p.initializer;
      if (ts.isShorthandPropertyAssignment(p) && p.name.text === name) return p;
      if (ts.isSpreadAssignment(p)) {
        const inner = this.property(this.objectLiteralOf(p.expression), name, depth + 1);
        if (inner) return inner;
      }
    }
    return undefined;
  }

  /**
   * Every value a property can take, with the conditions that choose it: a conditional spread
   * (`{ ...(prod ? { secure: true } : {}) }`, `{ ...(prod && { secure: true }) }`) gives one
   * alternative per branch, where a branch without the property falls back to the properties
   * before the spread. A plain property gives one alternative with no condition; an absent one,
   * one alternative whose value is undefined.
   */
  propertyAlternatives(obj: ts.ObjectLiteralExpression | undefined, name: string, depth = 0): Alternative<ts.Expression | ts.ShorthandPropertyAssignment>[] {
    if (!obj || depth > 5) return [{ value: undefined, conds: [] }];
    const from = (i: number): Alternative<ts.Expression | ts.ShorthandPropertyAssignment>[] => {
      for (; i >= 0; i--) {
        const p = obj.properties[i]!;
        if (ts.isPropertyAssignment(p) && propertyNameText(p.name) === name) return [{ value: p.initializer, conds: [] }];
        if (ts.isShorthandPropertyAssignment(p) && p.name.text === name) return [{ value: p, conds: [] }];
        if (!ts.isSpreadAssignment(p)) continue;
        const e = unwrap(p.expression);
        let branches: [BranchCondition, ts.Expression | undefined][] | undefined;
        if (ts.isConditionalExpression(e)) branches = [[{ expr: e.condition, holds: true }, e.whenTrue], [{ expr: e.condition, holds: false }, e.whenFalse]];
        else if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) branches = [[{ expr: e.left, holds: true }, e.right], [{ expr: e.left, holds: false }, undefined]];
        if (branches) {
          const rest = from(i - 1);
          const out: Alternative<ts.Expression | ts.ShorthandPropertyAssignment>[] = [];
          for (const [cond, branch] of branches) {
            const inner = branch ? this.objectLiteralOf(branch) : undefined;
            const alts = inner && this.property(inner, name) !== undefined ? this.propertyAlternatives(inner, name, depth + 1) : rest;
            for (const a of alts) out.push({ value: a.value, conds: [cond, ...a.conds], at: a.at ?? p });
          }
          return out;
        }
        const inner = this.objectLiteralOf(p.expression);
        if (inner && this.property(inner, name) !== undefined) return this.propertyAlternatives(inner, name, depth + 1);
      }
      return [{ value: undefined, conds: [] }];
    };
    return from(obj.properties.length - 1);
  }

  /**
   * The values an expression can take, with their conditions: both branches of `c ? a : b`, the
   * fallback of `x || y` / `x ?? y` (taken when `x` is unset), constants and parameter defaults
   * followed to their initializers.
   */
  valueAlternatives(node: ts.Expression | undefined, depth = 0): Alternative[] {
    if (!node) return [];
    const e = unwrap(node);
    if (depth > 6) return [{ value: e, conds: [] }];
    const d = depth + 1;
    if (ts.isConditionalExpression(e)) {
      return [
        ...this.valueAlternatives(e.whenTrue, d).map((a) => ({ ...a, conds: [{ expr: e.condition, holds: true }, ...a.conds], at: a.at ?? e })),
        ...this.valueAlternatives(e.whenFalse, d).map((a) => ({ ...a, conds: [{ expr: e.condition, holds: false }, ...a.conds], at: a.at ?? e })),
      ];
    }
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.BarBarToken || e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)) {
      return [
        ...this.valueAlternatives(e.left, d),
        ...this.valueAlternatives(e.right, d).map((a) => ({ ...a, conds: [{ expr: e.left, holds: false, fallback: true }, ...a.conds], at: a.at ?? e })),
      ];
    }
    if (ts.isIdentifier(e) && e.text !== 'undefined') {
      const decl = this.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return this.valueAlternatives(decl.initializer, d);
      if (decl && ts.isParameter(decl) && decl.initializer) return this.valueAlternatives(decl.initializer, d);
    }
    if (ts.isPropertyAccessExpression(e)) {
      const decl = this.declarationOf(e.name);
      if (decl && (ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer && ts.isObjectLiteralExpression(decl.parent)) return this.valueAlternatives(decl.initializer, d);
    }
    return [{ value: e, conds: [] }];
  }

  propertyValue(obj: ts.ObjectLiteralExpression | undefined, name: string): ts.Expression | undefined {
    const p = this.property(obj, name);
    if (!p) return undefined;
    if (ts.isShorthandPropertyAssignment(p)) {
      const decl = this.declarationOf(p);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return decl.initializer;
      return p.name;
    }
    return p;
  }

  /** The function a callee refers to, when it is declared in analysed code. */
  functionOf(callee: ts.Expression): ts.SignatureDeclaration | undefined {
    const e = unwrap(callee);
    if (ts.isFunctionExpression(e) || ts.isArrowFunction(e)) return e;
    const target = ts.isPropertyAccessExpression(e) ? e.name : ts.isIdentifier(e) ? e : undefined;
    if (!target) return undefined;
    const decl = this.declarationOf(target);
    if (!decl) return undefined;
    if (ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl) || ts.isGetAccessorDeclaration(decl)) return decl;
    if ((ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer) {
      const init = unwrap(decl.initializer);
      if (ts.isFunctionExpression(init) || ts.isArrowFunction(init)) return init;
    }
    return undefined;
  }

  /** Constant value of an expression when it can be folded: booleans, numbers, strings. */
  constValue(node: ts.Expression | undefined, depth = 0): boolean | number | string | null | undefined {
    if (!node || depth > 8) return undefined;
    const e = unwrap(node);
    if (e.kind === ts.SyntaxKind.TrueKeyword) return true;
    if (e.kind === ts.SyntaxKind.FalseKeyword) return false;
    if (e.kind === ts.SyntaxKind.NullKeyword) return null;
    if (ts.isNumericLiteral(e)) return Number(e.text);
    if (ts.isStringLiteralLike(e)) return e.text;
    if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken) {
      const v = this.constValue(e.operand, depth + 1);
      return typeof v === 'number' ? -v : undefined;
    }
    if (ts.isBinaryExpression(e)) {
      const l = this.constValue(e.left, depth + 1);
      const r = this.constValue(e.right, depth + 1);
      if (typeof l === 'number' && typeof r === 'number') {
        switch (e.operatorToken.kind) {
          case ts.SyntaxKind.AsteriskToken:
            return l * r;
          case ts.SyntaxKind.PlusToken:
            return l + r;
          case ts.SyntaxKind.MinusToken:
            return l - r;
          case ts.SyntaxKind.SlashToken:
            return l / r;
          default:
            return undefined;
        }
      }
      return undefined;
    }
    if (ts.isIdentifier(e)) {
      if (e.text === 'undefined') return undefined;
      const decl = this.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return this.constValue(decl.initializer, depth + 1);
    }
    if (ts.isPropertyAccessExpression(e)) {
      const decl = this.declarationOf(e.name);
      if (decl && (ts.isPropertyAssignment(decl) || ts.isEnumMember(decl)) && decl.initializer) return this.constValue(decl.initializer, depth + 1);
    }
    return undefined;
  }

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
      if (ts.isObjectLiteralExpression(e)) return urlOf(this.propertyValue(e, 'url'));
      return undefined;
    };
    return TOKEN_ENDPOINT.test(urlOf(call.arguments[0]) ?? '');
  }

  /** True when `id` is known to be missing where it is read: `if (typeof x !== 'undefined') … else <here>`. */
  isAbsentAt(id: ts.Identifier): boolean {
    const sym = this.checker.getSymbolAtLocation(id);
    if (!sym) return false;
    const is = (n: ts.Expression): boolean => ts.isIdentifier(n) && this.checker.getSymbolAtLocation(n) === sym;
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

  taintInner(node: ts.Node, depth: number): Taint | undefined {
    const d = depth + 1;
    if (ts.isShorthandPropertyAssignment(node)) {
      if (isSecretName(node.name.text)) return { label: `\`${node.name.text}\`` };
      const decl = this.declarationOf(node);
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
      if (this.mode === 'any-token' && isProcessEnv(e)) return { label: 'the whole environment (`process.env`)', token: true };
      if (name === undefined) return undefined;
      if (this.mode === 'any-token' && name === 'headers' && REQUEST_OBJECT_NAMES.test(objectName(e.expression) ?? '')) return { label: 'the request headers (Cookie, Authorization)', token: true };
      // Node lower-cases incoming header names: headers['Authorization'] is always undefined
      if (ts.isElementAccessExpression(e) && /[A-Z]/.test(name) && /^headers$/.test(accessName(unwrap(e.expression)) ?? '')) return undefined;
      if (isProcessEnv(e.expression)) return isSecretConfigName(name) ? { label: `env \`${name}\`` } : undefined;
      // a declaration with a value decides (enum members and constants are not secrets by name)
      const decl = ts.isPropertyAccessExpression(e) ? this.declarationOf(e.name) : undefined;
      if (decl && ts.isEnumMember(decl)) return undefined;
      if (decl && (ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl) || ts.isVariableDeclaration(decl) || ts.isShorthandPropertyAssignment(decl) || ts.isGetAccessorDeclaration(decl)) && (ts.isShorthandPropertyAssignment(decl) || ts.isGetAccessorDeclaration(decl) || decl.initializer)) {
        const t = this.taintOfDeclaration(decl, name, d);
        if (t) return t;
        const init = ts.isShorthandPropertyAssignment(decl) || ts.isGetAccessorDeclaration(decl) ? undefined : decl.initializer && unwrap(decl.initializer);
        if (init && (ts.isLiteralExpression(init) || isBooleanish(init) || isSanitizerCall(init) || ts.isObjectLiteralExpression(init))) return undefined;
        return isSecretName(name) ? { label: `\`${name}\`` } : undefined;
      }
      if (isSecretName(name)) return { label: `\`${name}\`` };
      // a member of a type (`tokens: { access_token?: string }`) says nothing of the value: go on by name
      if (decl && !ts.isPropertySignature(decl)) return this.taintOfDeclaration(decl, name, d);
      const obj = this.objectLiteralOf(e.expression);
      const v = this.propertyValue(obj, name);
      if (v) return this.taint(v, d);
      if (this.mode === 'secret') return undefined;
      const byName = this.tokenNameTaint(name);
      if (byName) return byName;
      // a field of a token response: response.data, tokens.access_token
      const base = this.taint(e.expression, d);
      return base?.response && !NON_TOKEN_FIELDS.test(name) ? base : undefined;
    }
    if (ts.isIdentifier(e)) {
      if (e.text === 'undefined') return undefined;
      if (this.mode !== 'secret' && this.isAbsentAt(e)) return undefined;
      const decl = this.declarationOf(e);
      if (decl) return this.taintOfDeclaration(decl, e.text, d);
      return isSecretName(e.text) ? { label: `\`${e.text}\`` } : this.tokenNameTaint(e.text);
    }
    if (ts.isCallExpression(e)) return this.taintOfCall(e, d);
    if (ts.isNewExpression(e)) {
      // new UserEntity(user) returned through ClassSerializerInterceptor: its @Expose() fields are sent
      const cls = this.classOf(e.expression);
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

  taintOfDeclaration(decl: ts.Declaration, usedName: string, d: number): Taint | undefined {
    if (ts.isVariableDeclaration(decl)) {
      if (ts.isIdentifier(decl.name)) {
        if (decl.initializer) {
          const t = this.taint(decl.initializer, d);
          if (t) return t;
          const init = unwrap(decl.initializer);
          if (isSecretName(decl.name.text) && !ts.isLiteralExpression(init) && !isSanitizerCall(init) && !isBooleanish(init)) return { label: `\`${decl.name.text}\`` };
          if (this.mode === 'secret' || isSanitizerCall(init) || isBooleanish(init) || this.isOwnTokenIssuer(init)) return undefined;
          if (ts.isLiteralExpression(init) || init.kind === ts.SyntaxKind.NullKeyword) return this.taintOfAssignments(decl.name, d);
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
        const v = this.propertyValue(this.objectLiteralOf(init), prop);
        if (v) return this.taint(v, d);
      }
      if (this.mode === 'secret' || !prop) return undefined;
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
    const calls = (this.callIndex().get(name) ?? []).filter((c) => this.functionOf(c.expression) === fn);
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

  /** Calls in the analysed files (and this one), by callee name. */
  private callIndex(): Map<string, ts.CallExpression[]> {
    if (this.shared.calls) return this.shared.calls;
    const index = new Map<string, ts.CallExpression[]>();
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) {
        const name = calleeName(n);
        if (name) {
          const list = index.get(name);
          if (list) list.push(n);
          else index.set(name, [n]);
        }
      }
      ts.forEachChild(n, visit);
    };
    for (const sf of new Set([...this.shared.roots, this.sf])) visit(sf);
    this.shared.calls = index;
    return index;
  }

  /**
   * Fields a serializer keeps that are secrets for this sink: `pick(user, ['id', 'accessToken'])`,
   * `_.pick(user, 'accessToken')`, class-transformer's `@Expose()` on a token field. A token field
   * picked from a stored object (a user, an account) is the provider's token, not a freshly issued
   * login token, so access, refresh and id tokens count at response sinks; the app's own issued
   * tokens (`pick(await auth.login(u), [...])`) do not.
   */
  serializedFieldTaint(fields: readonly string[], via: string, source?: ts.Expression): Taint | undefined {
    if (source && this.isOwnTokenSource(source)) return undefined;
    for (const f of fields) {
      if (isSecretName(f)) return { label: `field \`${f}\` kept by ${via}` };
      if (this.mode === 'secret') continue;
      const kind = tokenNameKind(f);
      if (kind === 'oauth' || kind === 'bearer' || kind === 'verifier') return { label: `token field \`${f}\` kept by ${via}`, token: true };
    }
    return undefined;
  }

  /** True when a value is (a variable holding) the app's own freshly issued token set. */
  private isOwnTokenSource(node: ts.Expression, depth = 0): boolean {
    const e = unwrap(node);
    if (this.isOwnTokenIssuer(e)) return true;
    if (ts.isIdentifier(e) && depth < 4) {
      const decl = this.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return this.isOwnTokenSource(decl.initializer, depth + 1);
    }
    return false;
  }

  /** Field names given to `pick`: string literals and arrays of them, in any argument position (lodash and ramda). */
  private pickedFields(call: ts.CallExpression): string[] {
    const out: string[] = [];
    const add = (a: ts.Expression): void => {
      const e = unwrap(a);
      if (ts.isStringLiteralLike(e)) out.push(e.text);
      else if (ts.isArrayLiteralExpression(e)) e.elements.forEach((el) => add(el as ts.Expression));
      else if (ts.isIdentifier(e)) {
        const decl = this.declarationOf(e);
        if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.isArrayLiteralExpression(unwrap(decl.initializer))) add(decl.initializer);
      }
    };
    call.arguments.forEach(add);
    return out;
  }

  /** Fields a class exposes with class-transformer's `@Expose()` (by their exposed name). */
  exposedFields(cls: ts.ClassLikeDeclaration): string[] {
    const out: string[] = [];
    for (const m of cls.members) {
      if (!(ts.isPropertyDeclaration(m) || ts.isGetAccessorDeclaration(m))) continue;
      const expose = decoratorsOf(m).find((dec) => decoratorName(dec) === 'Expose');
      if (!expose) continue;
      const opts = ts.isCallExpression(expose.expression) ? this.objectLiteralOf(expose.expression.arguments[0]) : undefined;
      const renamed = this.constValue(this.propertyValue(opts, 'name'));
      const own = propertyNameText(m.name);
      for (const n of [own, typeof renamed === 'string' ? renamed : undefined]) if (n) out.push(n);
    }
    return out;
  }

  /** The class an expression names (`UserDto`), when declared in analysed code. */
  classOf(node: ts.Expression | undefined): ts.ClassLikeDeclaration | undefined {
    if (!node) return undefined;
    const e = unwrap(node);
    if (!ts.isIdentifier(e) && !ts.isPropertyAccessExpression(e)) return undefined;
    const decl = this.declarationOf(ts.isIdentifier(e) ? e : e.name);
    return decl && (ts.isClassDeclaration(decl) || ts.isClassExpression(decl)) ? decl : undefined;
  }

  /** `let k; k = process.env.KEY;` — taint of plain assignments to a local variable in this file. */
  taintOfAssignments(id: ts.Identifier, d: number): Taint | undefined {
    const sym = this.checker.getSymbolAtLocation(id);
    if (!sym) return undefined;
    let found: Taint | undefined;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left) && this.checker.getSymbolAtLocation(n.left) === sym) {
        found = this.taint(n.right, d);
      }
      ts.forEachChild(n, visit);
    };
    visit(id.getSourceFile());
    return found;
  }

  taintOfCall(call: ts.CallExpression, d: number): Taint | undefined {
    const name = calleeName(call);
    const callee = unwrap(call.expression);
    if (!name) return undefined;
    // ConfigService.get('STRIPE_SECRET_KEY'), config.getOrThrow('session.secret')
    if ((name === 'get' || name === 'getOrThrow') && ts.isPropertyAccessExpression(callee)) {
      const arg = call.arguments[0];
      const obj = objectName(callee.expression) ?? '';
      if (arg && ts.isStringLiteralLike(arg)) {
        if (/config|env|settings|secrets?$/i.test(obj) && isSecretConfigName(arg.text)) return { label: `config \`${arg.text}\`` };
        if (REQUEST_OBJECT_NAMES.test(obj) && isSecretName(arg.text)) return { label: `request header \`${arg.text}\`` };
        if (/^headers?$/i.test(obj) && isSecretName(arg.text)) return { label: `request header \`${arg.text}\`` };
        if (/^(?:headers?|cookies)$/i.test(obj) || REQUEST_OBJECT_NAMES.test(obj)) {
          const t = this.tokenNameTaint(arg.text);
          if (t) return t;
        }
      }
    }
    if (name === 'header' && ts.isPropertyAccessExpression(callee) && REQUEST_OBJECT_NAMES.test(objectName(callee.expression) ?? '')) {
      const arg = call.arguments[0];
      if (arg && ts.isStringLiteralLike(arg) && isSecretName(arg.text)) return { label: `request header \`${arg.text}\`` };
    }
    // a JWT whose payload holds the secret
    if ((name === 'sign' || name === 'signAsync' || name === 'encode') && call.arguments[0]) {
      const t = this.taint(call.arguments[0], d);
      if (t) return { label: `${t.label} (inside a JWT payload)`, ...(t.literal ? { literal: t.literal } : {}) };
      return undefined;
    }
    if (SANITIZER_CALLS.test(name)) return undefined;
    if (PICK_CALL.test(name) && call.arguments.length >= 2) {
      const source = call.arguments.find((a) => !ts.isArrayLiteralExpression(unwrap(a)) && !ts.isStringLiteralLike(unwrap(a)));
      return this.serializedFieldTaint(this.pickedFields(call), `\`${name}\``, source);
    }
    if (TRANSFORM_CALL.test(name)) {
      const cls = this.classOf(call.arguments[0]) ?? (call.arguments[0] && ts.isNewExpression(unwrap(call.arguments[0])) ? this.classOf((unwrap(call.arguments[0]) as ts.NewExpression).expression) : undefined);
      if (cls) return this.serializedFieldTaint(this.exposedFields(cls), `\`@Expose()\` in \`${cls.name?.text ?? 'a class'}\``);
    }
    if (this.mode !== 'secret' && this.isTokenEndpointCall(call)) return { label: 'an OAuth token response', token: true, response: true };
    if (PASSTHROUGH_CALLS.has(name) || (this.mode !== 'secret' && /^(?:json|text|then)$/.test(name))) {
      for (const a of call.arguments) {
        const t = this.taint(a, d);
        if (t) return t;
      }
      if (ts.isPropertyAccessExpression(callee) && !['JSON', 'Buffer', 'Object', 'String'].includes(objectName(callee.expression) ?? '')) {
        return this.taint(callee.expression, d);
      }
      return undefined;
    }
    const fn = this.functionOf(call.expression);
    if (fn) {
      // inside this call, the function's parameters are this call's arguments (not every caller's)
      const saved = fn.parameters.map((p) => [p, this.bindings.has(p), this.bindings.get(p)] as const);
      fn.parameters.forEach((p, i) => this.bindings.set(p, p.dotDotDotToken ? undefined : call.arguments[i]));
      try {
        for (const r of returnExpressions(fn)) {
          const t = this.taint(r, d);
          // a getter imported from another file: say where the value comes from
          if (t) return fn.getSourceFile() === this.sf ? t : { ...t, label: `${t.label} (returned by \`${name}()\` in ${this.displayPath(fn.getSourceFile())})` };
        }
        return undefined;
      } finally {
        for (const [p, had, v] of saved) {
          if (had) this.bindings.set(p, v);
          else this.bindings.delete(p);
        }
      }
    }
    // getApiKey(), this.keys.loadStripeSecret()
    const stripped = name.replace(/^(?:get|load|fetch|read|resolve|find|retrieve|obtain|decrypt)/, '');
    if (stripped !== name && stripped.length > 0 && isSecretName(stripped)) return { label: `\`${name}()\`` };
    return undefined;
  }

  /**
   * A parameter of a callback that receives a token response: `request({ url: tokenUrl }, (err, response, body) => …)`,
   * `fetch(tokenUrl).then((data) => …)`.
   */
  taintOfCallbackParameter(param: ts.ParameterDeclaration, d: number): Taint | undefined {
    const fn = param.parent;
    if (!(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) || !ts.isCallExpression(fn.parent)) return undefined;
    const call = fn.parent;
    const index = fn.parameters.indexOf(param);
    if (calleeName(call) === 'then' && index === 0 && ts.isPropertyAccessExpression(call.expression)) {
      const t = this.taint(call.expression.expression, d);
      return t?.response ? t : undefined;
    }
    if (index >= 1 && call.arguments.includes(fn) && this.isTokenEndpointCall(call)) return { label: 'an OAuth token response', token: true, response: true };
    return undefined;
  }

  /** String literals an expression can evaluate to, following constants and `||` / `??` fallbacks. */
  literalCandidates(node: ts.Expression | undefined, depth = 0, fallbackFor?: string): LiteralCandidate[] {
    if (!node || depth > 8) return [];
    const e = unwrap(node);
    const d = depth + 1;
    if (ts.isStringLiteralLike(e)) return e.text.length > 0 ? [{ node: e, ...(fallbackFor ? { fallbackFor } : {}) }] : [];
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.BarBarToken || e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)) {
      const source = this.configReadName(e.left);
      return [...this.literalCandidates(e.left, d, fallbackFor), ...this.literalCandidates(e.right, d, source ?? fallbackFor)];
    }
    if (ts.isConditionalExpression(e)) {
      return [...this.literalCandidates(e.whenTrue, d, fallbackFor), ...this.literalCandidates(e.whenFalse, d, fallbackFor)];
    }
    if (ts.isArrayLiteralExpression(e)) return e.elements.flatMap((el) => this.literalCandidates(el as ts.Expression, d, fallbackFor));
    if (ts.isCallExpression(e)) {
      const name = calleeName(e);
      if (name !== undefined && LITERAL_KEEPING_CALLS.has(name)) return this.literalCandidates(e.arguments[0], d, fallbackFor);
      if ((name === 'get' || name === 'getOrThrow') && e.arguments[1] && this.configReadName(e)) {
        return this.literalCandidates(e.arguments[1], d, this.configReadName(e));
      }
      return [];
    }
    if (ts.isIdentifier(e)) {
      const decl = this.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return this.literalCandidates(decl.initializer, d, fallbackFor);
      return [];
    }
    if (ts.isPropertyAccessExpression(e)) {
      const decl = this.declarationOf(e.name);
      if (decl && (ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer) return this.literalCandidates(decl.initializer, d, fallbackFor);
    }
    return [];
  }

  /** Name of the env var or config key an expression reads (`process.env.X`, `config.get('X')`), if any. */
  configReadName(node: ts.Expression): string | undefined {
    const e = unwrap(node);
    if ((ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && isProcessEnv(e.expression)) return accessName(e);
    if (ts.isCallExpression(e)) {
      const name = calleeName(e);
      const callee = unwrap(e.expression);
      const arg = e.arguments[0];
      if ((name === 'get' || name === 'getOrThrow') && ts.isPropertyAccessExpression(callee) && /config|env|settings/i.test(objectName(callee.expression) ?? '') && arg && ts.isStringLiteralLike(arg)) return arg.text;
    }
    return undefined;
  }



  /**
   * True when code in this file refuses the literal at runtime: an `if` whose condition mentions
   * the literal's value, the env var it falls back for, or the constant holding it in a comparison,
   * and whose branch throws or exits.
   */
  isRejectedAtRuntime(c: LiteralCandidate): boolean {
    const value = c.node.text;
    let holder: ts.Symbol | undefined;
    let p: ts.Node = c.node;
    while (p.parent && !ts.isVariableDeclaration(p) && !ts.isStatement(p)) p = p.parent;
    if (ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) holder = this.checker.getSymbolAtLocation(p.name);
    let rejected = false;
    const mentions = (cond: ts.Node): boolean => {
      let hit = false;
      const v = (n: ts.Node): void => {
        if (hit) return;
        if (ts.isStringLiteralLike(n) && n.text === value && n !== c.node) hit = true;
        else if (c.fallbackFor && (ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n)) && isProcessEnv(n.expression) && accessName(n) === c.fallbackFor) hit = true;
        else if (holder && ts.isIdentifier(n) && this.checker.getSymbolAtLocation(n) === holder) {
          const parent = n.parent;
          const bare = ts.isPrefixUnaryExpression(parent) || n === cond;
          if (!bare) hit = true;
        }
        ts.forEachChild(n, v);
      };
      v(cond);
      return hit;
    };
    const visit = (n: ts.Node): void => {
      if (rejected) return;
      if (ts.isIfStatement(n) && exits(n.thenStatement) && mentions(n.expression)) rejected = true;
      else if (ts.isCallExpression(n) && /^(?:assert|invariant|ok|notEqual|notStrictEqual)$/.test(calleeName(n) ?? '') && n.arguments.some((a) => mentions(a))) rejected = true;
      ts.forEachChild(n, visit);
    };
    visit(this.sf);
    return rejected;
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
      const decl = this.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return this.isJwtValue(decl.initializer, depth + 1);
    }
    return false;
  }

  sessionLibOf(call: ts.CallExpression): SessionLib | undefined {
    const mod = this.importSource(call.expression);
    return mod ? SESSION_MODULES[mod] : undefined;
  }

  isSessionExpression(node: ts.Expression): boolean {
    const e = unwrap(node);
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
      if (accessName(e) === 'session' || accessName(e) === 'secureSession') return true;
      return this.isSessionExpression(e.expression);
    }
    if (ts.isIdentifier(e)) {
      const decl = this.declarationOf(e);
      if (decl && ts.isParameter(decl)) return decoratorsOf(decl).some((d) => decoratorName(d) === 'Session') || /^(?:session|sess)$/i.test(e.text);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return this.isSessionExpression(decl.initializer);
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
      const decl = this.declarationOf(e);
      return !!decl && ts.isVariableDeclaration(decl) && !!decl.initializer && this.isSanitized(decl.initializer, depth + 1);
    }
    return false;
  }

  // ---------------------------------------------------------------- shared recognisers

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
      const h = this.constValue(call.arguments[0]);
      if (typeof h === 'string' && h.toLowerCase() === 'set-cookie') {
        valueArg = call.arguments[1];
        header = true;
      } else return undefined;
    } else return undefined;
    const cookieName = nameArg ? this.constValue(nameArg) : undefined;
    const label = typeof cookieName === 'string' ? `cookie \`${cookieName}\`` : 'a cookie';
    return { call, nameArg, valueArg, optsArg, header, ...(typeof cookieName === 'string' ? { cookieName } : {}), label };
  }

  /** A session middleware call (`session(opts)`, `cookieSession(opts)`, `fastify.register(secureSession, opts)`) and its options. */
  sessionMiddlewareOf(call: ts.CallExpression): { lib: SessionLib; opts: ts.ObjectLiteralExpression } | undefined {
    let lib: SessionLib | undefined;
    let optsArg: ts.Expression | undefined;
    if (calleeName(call) === 'register' && call.arguments.length >= 1) {
      const mod = this.importSource(call.arguments[0]!);
      lib = mod ? SESSION_MODULES[mod] : undefined;
      optsArg = call.arguments[1];
    } else {
      lib = this.sessionLibOf(call);
      optsArg = call.arguments[0];
    }
    if (!lib) return undefined;
    const opts = this.objectLiteralOf(optsArg);
    return opts ? { lib, opts } : undefined;
  }

  /**
   * Options assigned after the object literal: `opts.cookie.secure = false`, `sess.cookie = { … }`.
   * Returns the last plain assignment to `<holder>.<path>` in this file, if any.
   */
  assignedOption(obj: ts.ObjectLiteralExpression, path: readonly string[]): ts.Expression | undefined {
    let holder: ts.Node = obj;
    while (holder.parent && (ts.isParenthesizedExpression(holder.parent) || ts.isAsExpression(holder.parent) || ts.isSatisfiesExpression(holder.parent))) holder = holder.parent;
    const decl = holder.parent;
    if (!decl || !ts.isVariableDeclaration(decl) || !ts.isIdentifier(decl.name)) return undefined;
    const sym = this.checker.getSymbolAtLocation(decl.name);
    if (!sym) return undefined;
    let found: ts.Expression | undefined;
    const visit = (n: ts.Node): void => {
      if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        const names: string[] = [];
        let l = unwrap(n.left);
        while (ts.isPropertyAccessExpression(l) || ts.isElementAccessExpression(l)) {
          const a = accessName(l);
          if (a === undefined) break;
          names.unshift(a);
          l = unwrap(l.expression);
        }
        if (ts.isIdentifier(l) && this.checker.getSymbolAtLocation(l) === sym && names.join('.') === path.join('.')) found = n.right;
      }
      ts.forEachChild(n, visit);
    };
    visit(this.sf);
    return found;
  }
}

/** A cookie write found by {@link AnalysisContext.cookieWriteOf}. */
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
