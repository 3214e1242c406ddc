import ts from 'typescript5';
import { relative, resolve } from 'node:path';
import type { Finding, RuleId, Severity } from '../finding.js';
import { isSecretConfigName, isSecretName, looksLikeProse, looksRandom, maskSecret, matchProvider, isPlaceholder } from '../secrets/secret-detector.js';
import { isWellKnownWeakSecret } from '../secrets/weak-secrets.js';
import { createAuditProgram, type SourceInput } from './program.js';
import { mergeSessionKind, sessionKindFromPackageJson, sessionKindOfModules, type SessionKind } from './session-kind.js';

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

/** Options of the static analysis. */
export interface AnalyzeOptions {
  /**
   * Where session data lives. `auto` (default) looks at the imports of the analysed files and,
   * failing that, at the nearest package.json.
   */
  session?: 'auto' | 'client' | 'server';
  /** Base directory for relative paths in findings. Default: the working directory. */
  cwd?: string;
  /** Load files that analysed files import, from disk, to follow option objects across files. Default true. */
  followImports?: boolean;
  /** Called after each file is analysed. */
  onFileAnalysed?: (done: number, total: number) => void;
}

/** Where a secret came from, for messages. */
interface Taint {
  label: string;
  /** The literal, when the secret is a literal in the source. */
  literal?: ts.StringLiteralLike;
}

/** A string literal that ends up as a secret value, and how. */
interface LiteralCandidate {
  node: ts.StringLiteralLike;
  /** Set when the literal is a fallback for an env var or config value, e.g. `process.env.X || 'lit'`. */
  fallbackFor?: string;
}

const LOG_METHODS = new Set(['log', 'info', 'warn', 'error', 'debug', 'trace', 'verbose', 'fatal']);
const HTTP_METHOD_DECORATORS = new Set(['Get', 'Post', 'Put', 'Patch', 'Delete', 'All', 'Options', 'Head', 'Search', 'Sse']);
const PASSTHROUGH_CALLS = new Set(['stringify', 'String', 'from', 'encodeURIComponent', 'encodeURI', 'btoa', 'structuredClone', 'assign', 'toString', 'trim', 'trimStart', 'trimEnd', 'concat', 'toUpperCase', 'toLowerCase', 'normalize', 'valueOf', 'padStart', 'padEnd', 'base64url']);
const SANITIZER_CALLS = /^(?:mask|redact|hash|hmac|digest|encrypt|seal|createHash|createHmac|slice|substring|substr|at|charAt|startsWith|endsWith|includes|test|match|compare|timingSafeEqual|verify|length|last4|lastFour|fingerprint|sanitize|scrub|obfuscate|censor|anonymi[sz]e|truncate|has|exists|isSet|isConfigured)$/i;
const SIGNING_SECRET_OPTIONS = new Set(['secret', 'secrets', 'keys', 'secretOrKey', 'secretOrPrivateKey', 'privateKey', 'signingKey', 'jwtSecret', 'sessionSecret', 'cookieSecret', 'signingSecret']);
const REQUEST_OBJECT_NAMES = /^(?:req|request|ctx|context)$/;
const RESPONSE_OBJECT_NAMES = /^(?:res|response|reply|ctx)$/;
const SENSITIVE_COOKIE_NAME = /(?:sess|sid|auth|token|jwt|key|secret|login|remember|credential|bearer|access|refresh)/i;
const NON_SENSITIVE_COOKIE_NAME = /(?:csrf|xsrf|theme|lang|locale|consent|pref)/i;
const LONG_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
const SESSION_MODULES: Record<string, SessionLib> = {
  'express-session': 'express-session',
  'cookie-session': 'cookie-session',
  'client-sessions': 'cookie-session',
  '@fastify/secure-session': 'secure-session',
  'fastify-secure-session': 'secure-session',
  '@fastify/session': 'fastify-session',
  'fastify-session': 'fastify-session',
};
type SessionLib = 'express-session' | 'cookie-session' | 'secure-session' | 'fastify-session';
const CORS_MODULES = new Set(['cors', '@fastify/cors', 'fastify-cors']);
const COOKIE_PARSER_MODULES = new Set(['cookie-parser', '@fastify/cookie', 'fastify-cookie']);

/**
 * Runs every static rule over a set of files (one TypeScript program, so values are followed
 * across the files' imports) and returns the findings, sorted by file and position.
 *
 * @example
 * const findings = analyzeSources([{ path: 'src/main.ts', text }]);
 */
export function analyzeSources(files: readonly SourceInput[], options: AnalyzeOptions = {}): SourceFinding[] {
  const program = createAuditProgram(files, options.followImports ?? true);
  const checker = program.getTypeChecker();
  const roots = files.map((f) => program.getSourceFile(resolve(f.path))).filter((sf): sf is ts.SourceFile => sf !== undefined);
  let kind: SessionKind;
  if (options.session === 'client') kind = { client: true, server: false };
  else if (options.session === 'server') kind = { client: false, server: true };
  else {
    kind = sessionKindOfModules(roots.flatMap((sf) => importedModules(sf)));
    if (!kind.client && !kind.server) {
      for (const sf of roots) {
        const fromPkg = sessionKindFromPackageJson(sf.fileName);
        if (fromPkg) kind = mergeSessionKind(kind, fromPkg);
      }
    }
  }
  const shared: SharedState = { roots: new Set(roots), reported: new Set(), out: [], cwd: options.cwd ?? process.cwd() };
  roots.forEach((sf, i) => {
    new FileAnalyzer(sf, checker, kind, shared).run();
    options.onFileAnalysed?.(i + 1, roots.length);
  });
  return shared.out.sort((a, b) => (a.file === b.file ? a.start - b.start || a.ruleId.localeCompare(b.ruleId) : a.file < b.file ? -1 : 1));
}

/** Module specifiers a file imports (ESM imports, `import x = require()`, `require()` calls). */
function importedModules(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression))
      out.push(node.moduleReference.expression.text);
    else if (ts.isCallExpression(node) && isRequireCall(node)) out.push((node.arguments[0] as ts.StringLiteral).text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function isRequireCall(node: ts.Node): node is ts.CallExpression {
  return (
    ts.isCallExpression(node) &&
    ((ts.isIdentifier(node.expression) && node.expression.text === 'require') || node.expression.kind === ts.SyntaxKind.ImportKeyword) &&
    node.arguments.length === 1 &&
    ts.isStringLiteral(node.arguments[0]!)
  );
}

function unwrap(node: ts.Expression): ts.Expression {
  let n = node;
  for (;;) {
    if (ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isNonNullExpression(n) || ts.isTypeAssertionExpression(n) || ts.isSatisfiesExpression(n) || ts.isAwaitExpression(n)) {
      n = n.expression;
    } else return n;
  }
}

function propertyNameText(name: ts.PropertyName | ts.BindingName | ts.MemberName | undefined): string | undefined {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteralLike(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name) && ts.isStringLiteralLike(name.expression)) return name.expression.text;
  return undefined;
}

/** Name of the accessed member: `a.b` → b, `a['b']` → b. */
function accessName(node: ts.Expression): string | undefined {
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) return node.argumentExpression.text;
  return undefined;
}

/** Last name in a callee: `a.b.c()` → c, `f()` → f. */
function calleeName(call: ts.CallExpression | ts.NewExpression): string | undefined {
  const e = unwrap(call.expression);
  if (ts.isIdentifier(e)) return e.text;
  return accessName(e);
}

/** Text name of an expression used as an object: `this.logger` → logger, `res` → res. */
function objectName(node: ts.Expression): string | undefined {
  const e = unwrap(node);
  if (ts.isIdentifier(e)) return e.text;
  if (e.kind === ts.SyntaxKind.ThisKeyword) return 'this';
  return accessName(e);
}

function isProcessEnv(node: ts.Expression): boolean {
  const e = unwrap(node);
  return (
    (ts.isPropertyAccessExpression(e) && e.name.text === 'env' && ts.isIdentifier(e.expression) && e.expression.text === 'process') ||
    (ts.isPropertyAccessExpression(e) && e.name.text === 'env' && ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'meta')
  );
}

function decoratorsOf(node: ts.Node): readonly ts.Decorator[] {
  return ts.canHaveDecorators(node) ? (ts.getDecorators(node) ?? []) : [];
}

function decoratorName(d: ts.Decorator): string | undefined {
  const e = d.expression;
  if (ts.isCallExpression(e)) return calleeName(e);
  if (ts.isIdentifier(e)) return e.text;
  return undefined;
}

/** State shared by the analysers of one run. */
interface SharedState {
  roots: Set<ts.SourceFile>;
  reported: Set<string>;
  out: SourceFinding[];
  cwd: string;
}

class FileAnalyzer {
  private readonly visiting = new Set<ts.Node>();
  /** The node being checked in this file: where findings in non-analysed files are reported. */
  private anchor: ts.Node | undefined;

  constructor(
    private readonly sf: ts.SourceFile,
    private readonly checker: ts.TypeChecker,
    private readonly sessionKind: SessionKind,
    private readonly shared: SharedState,
  ) {}

  run(): void {
    const visit = (node: ts.Node): void => {
      try {
        this.anchor = node;
        this.check(node);
      } catch {
        // a checker failure on one odd node must not stop the file
      }
      ts.forEachChild(node, visit);
    };
    visit(this.sf);
  }

  // ---------------------------------------------------------------- reporting

  private report(ruleId: RuleId, severity: Severity, node: ts.Node, message: string, evidence?: string, maskNodes: readonly ts.Node[] = []): void {
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

  private displayPath(sf: ts.SourceFile): string {
    const rel = relative(this.shared.cwd, sf.fileName);
    return rel.startsWith('..') ? sf.fileName : rel;
  }

  // ---------------------------------------------------------------- dispatch

  private check(node: ts.Node): void {
    if (ts.isCallExpression(node)) {
      this.checkCookieWrite(node);
      this.checkSessionMiddleware(node);
      this.checkLogCall(node);
      this.checkResponseSend(node);
      this.checkCors(node);
      this.checkSessionCallWrite(node);
      this.checkSerializeUser(node);
      return;
    }
    if (ts.isBinaryExpression(node)) {
      if (node.operatorToken.kind === ts.SyntaxKind.EqualsToken) this.checkSessionAssignment(node);
      if (node.operatorToken.kind === ts.SyntaxKind.BarBarToken || node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) this.checkFallback(node);
      if (node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(node.left)) {
        this.checkNamedLiteral(node.left.name.text, node.right);
      }
      return;
    }
    if (ts.isConditionalExpression(node)) {
      this.checkConditionalFallback(node);
      return;
    }
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      this.checkNamedLiteral(node.name.text, node.initializer);
      return;
    }
    if (ts.isPropertyAssignment(node)) {
      const name = propertyNameText(node.name);
      if (name) {
        if (SIGNING_SECRET_OPTIONS.has(name)) this.checkSigningSecret(node.initializer, `\`${name}\` option`);
        else this.checkNamedLiteral(name, node.initializer);
      }
      return;
    }
    if (ts.isPropertyDeclaration(node) && node.initializer) {
      const name = propertyNameText(node.name);
      if (name) this.checkNamedLiteral(name, node.initializer);
      return;
    }
    if (ts.isStringLiteralLike(node)) {
      this.checkProviderLiteral(node);
      return;
    }
    if (ts.isThrowStatement(node) && node.expression) {
      this.checkThrow(node.expression);
      return;
    }
    if (ts.isReturnStatement(node) && node.expression) {
      this.checkHandlerReturn(node);
      return;
    }
    if (ts.isArrowFunction(node) && !ts.isBlock(node.body)) {
      this.checkHandlerReturn(node);
    }
  }

  // ---------------------------------------------------------------- symbol resolution

  private declarationOf(node: ts.Node): ts.Declaration | undefined {
    let sym: ts.Symbol | undefined;
    if (ts.isShorthandPropertyAssignment(node)) sym = this.checker.getShorthandAssignmentValueSymbol(node);
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

  /** Module an identifier was imported from (`import x from 'm'`, `import * as x`, `const x = require('m')`). */
  private importSource(node: ts.Expression): string | undefined {
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
  private objectLiteralOf(node: ts.Expression | undefined, depth = 0): ts.ObjectLiteralExpression | undefined {
    if (!node || depth > 8) return undefined;
    const e = unwrap(node);
    if (ts.isObjectLiteralExpression(e)) return e;
    if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
      const decl = this.declarationOf(ts.isPropertyAccessExpression(e) ? e.name : e);
      if (!decl) return undefined;
      if ((ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer) return this.objectLiteralOf(decl.initializer, depth + 1);
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
  private property(obj: ts.ObjectLiteralExpression | undefined, name: string, depth = 0): ts.Expression | ts.ShorthandPropertyAssignment | undefined {
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

  private propertyValue(obj: ts.ObjectLiteralExpression | undefined, name: string): ts.Expression | undefined {
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
  private functionOf(callee: ts.Expression): ts.SignatureDeclaration | undefined {
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
  private constValue(node: ts.Expression | undefined, depth = 0): boolean | number | string | null | undefined {
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

  // ---------------------------------------------------------------- taint

  /** Where an expression's value comes from, when that is a secret. */
  private taint(node: ts.Node | undefined, depth = 0): Taint | undefined {
    if (!node || depth > 14 || this.visiting.has(node)) return undefined;
    this.visiting.add(node);
    try {
      return this.taintInner(node, depth);
    } finally {
      this.visiting.delete(node);
    }
  }

  private taintInner(node: ts.Node, depth: number): Taint | undefined {
    const d = depth + 1;
    if (ts.isShorthandPropertyAssignment(node)) {
      if (isSecretName(node.name.text)) return { label: `\`${node.name.text}\`` };
      const decl = this.declarationOf(node);
      return decl ? this.taintOfDeclaration(decl, node.name.text, d) : undefined;
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
      if (name === undefined) return undefined;
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
      if (decl) return this.taintOfDeclaration(decl, name, d);
      const obj = this.objectLiteralOf(e.expression);
      const v = this.propertyValue(obj, name);
      return v ? this.taint(v, d) : undefined;
    }
    if (ts.isIdentifier(e)) {
      if (e.text === 'undefined') return undefined;
      const decl = this.declarationOf(e);
      if (decl) return this.taintOfDeclaration(decl, e.text, d);
      return isSecretName(e.text) ? { label: `\`${e.text}\`` } : undefined;
    }
    if (ts.isCallExpression(e)) return this.taintOfCall(e, d);
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

  private taintOfDeclaration(decl: ts.Declaration, usedName: string, d: number): Taint | undefined {
    if (ts.isVariableDeclaration(decl)) {
      if (ts.isIdentifier(decl.name)) {
        if (decl.initializer) {
          const t = this.taint(decl.initializer, d);
          if (t) return t;
          const init = unwrap(decl.initializer);
          if (isSecretName(decl.name.text) && !ts.isLiteralExpression(init) && !isSanitizerCall(init) && !isBooleanish(init)) return { label: `\`${decl.name.text}\`` };
          return undefined;
        }
        return this.taintOfAssignments(decl.name, d) ?? (isSecretName(decl.name.text) ? { label: `\`${decl.name.text}\`` } : undefined);
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
      return ts.isIdentifier(decl.name) && isSecretName(decl.name.text) ? { label: `\`${decl.name.text}\`` } : undefined;
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

  /** `let k; k = process.env.KEY;` — taint of plain assignments to a local variable in this file. */
  private taintOfAssignments(id: ts.Identifier, d: number): Taint | undefined {
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

  private taintOfCall(call: ts.CallExpression, d: number): Taint | undefined {
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
    if (PASSTHROUGH_CALLS.has(name)) {
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
      for (const r of returnExpressions(fn)) {
        const t = this.taint(r, d);
        if (t) return t;
      }
      return undefined;
    }
    // getApiKey(), this.keys.loadStripeSecret()
    const stripped = name.replace(/^(?:get|load|fetch|read|resolve|find|retrieve|obtain|decrypt)/, '');
    if (stripped !== name && stripped.length > 0 && isSecretName(stripped)) return { label: `\`${name}()\`` };
    return undefined;
  }

  // ---------------------------------------------------------------- literals (KW003)

  /** String literals an expression can evaluate to, following constants and `||` / `??` fallbacks. */
  private literalCandidates(node: ts.Expression | undefined, depth = 0, fallbackFor?: string): LiteralCandidate[] {
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
      if (name === 'from' || name === 'String' || name === 'trim') return this.literalCandidates(e.arguments[0], d, fallbackFor);
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
  private configReadName(node: ts.Expression): string | undefined {
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

  /** A value used as a signing secret (`secret`, `keys`, `cookieParser(x)`, `jwt.sign(p, x)`): no literal may reach it. */
  private checkSigningSecret(value: ts.Expression | undefined, where: string): void {
    for (const c of this.literalCandidates(value)) {
      if (isPlaceholderKeyword(c.node.text)) continue;
      if (looksLikeProse(c.node.text) && !isWellKnownWeakSecret(c.node.text)) continue;
      this.reportLiteralSecret(c, where);
    }
  }

  private reportLiteralSecret(c: LiteralCandidate, where: string): void {
    const value = c.node.text;
    if (this.isRejectedAtRuntime(c)) return;
    const weak = isWellKnownWeakSecret(value);
    const masked = maskSecret(value);
    const what = c.fallbackFor
      ? `literal fallback for \`${c.fallbackFor}\` used as ${where}${weak ? ' (a well-known weak secret)' : ''}: when the variable is missing, production runs with a public value`
      : `hard-coded secret used as ${where}${weak ? ' (a well-known weak secret)' : ''}`;
    this.report('KW003', 'high', c.node, what.charAt(0).toUpperCase() + what.slice(1), masked, [c.node]);
  }

  /** `const API_KEY = 'sk_live_…'`, `password: 'hunter2…'`: a literal assigned to a secret-like name. */
  private checkNamedLiteral(name: string, value: ts.Expression): void {
    if (!isSecretName(name, true)) return;
    const init = unwrap(value);
    // direct literal
    if (ts.isStringLiteralLike(init)) {
      const v = init.text;
      if (v.length === 0 || isPlaceholderKeyword(v)) return;
      if (matchProvider(v)) return; // reported by checkProviderLiteral
      if (isWellKnownWeakSecret(v) || looksRandom(v)) this.reportLiteralSecret({ node: init }, `\`${name}\``);
      return;
    }
    // fallbacks: process.env.X || 'literal'
    for (const c of this.literalCandidates(value)) {
      if (c.fallbackFor && fallbackMatters(c.fallbackFor, c.node.text) && !matchProvider(c.node.text)) this.reportLiteralSecret(c, `\`${name}\``);
    }
  }

  /** `process.env.SESSION_SECRET || 'literal'` anywhere, when the variable names a secret. */
  private checkFallback(node: ts.BinaryExpression): void {
    const source = this.configReadName(node.left);
    if (!source || !isSecretConfigName(source)) return;
    for (const c of this.literalCandidates(node.right, 0, source)) {
      if (fallbackMatters(source, c.node.text)) this.reportLiteralSecret(c, `\`${source}\``);
    }
  }

  private checkConditionalFallback(node: ts.ConditionalExpression): void {
    const cond = unwrap(node.condition);
    const source = this.configReadName(cond);
    if (!source || !isSecretConfigName(source)) return;
    for (const c of this.literalCandidates(node.whenFalse, 0, source)) {
      if (fallbackMatters(source, c.node.text)) this.reportLiteralSecret(c, `\`${source}\``);
    }
  }

  /** A provider key anywhere in the source. */
  private checkProviderLiteral(node: ts.StringLiteralLike): void {
    if (ts.isImportDeclaration(node.parent) || ts.isExternalModuleReference(node.parent)) return;
    const provider = matchProvider(node.text);
    if (!provider) return;
    this.report('KW003', 'high', node, `Hard-coded ${provider} in source`, maskSecret(node.text), [node]);
  }

  /**
   * True when code in this file refuses the literal at runtime: an `if` whose condition mentions
   * the literal's value, the env var it falls back for, or the constant holding it in a comparison,
   * and whose branch throws or exits.
   */
  private isRejectedAtRuntime(c: LiteralCandidate): boolean {
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

  // ---------------------------------------------------------------- KW001 cookies

  private checkCookieWrite(call: ts.CallExpression): void {
    const name = calleeName(call);
    const callee = unwrap(call.expression);
    if (!ts.isPropertyAccessExpression(callee)) return;
    let nameArg: ts.Expression | undefined;
    let valueArg: ts.Expression | undefined;
    let optsArg: ts.Expression | undefined;
    if ((name === 'cookie' || name === 'setCookie') && call.arguments.length >= 2) {
      [nameArg, valueArg, optsArg] = call.arguments;
    } else if (name === 'set' && call.arguments.length >= 2 && objectName(callee.expression) === 'cookies') {
      [nameArg, valueArg, optsArg] = call.arguments;
    } else if ((name === 'setHeader' || name === 'header' || name === 'append' || name === 'set') && call.arguments.length >= 2) {
      const h = call.arguments[0]!;
      if (ts.isStringLiteralLike(h) && h.text.toLowerCase() === 'set-cookie') valueArg = call.arguments[1];
      else return;
    } else return;
    const cookieName = nameArg ? this.constValue(nameArg) : undefined;
    const label = typeof cookieName === 'string' ? `cookie \`${cookieName}\`` : 'a cookie';
    const t = this.taint(valueArg);
    if (t) {
      this.report(
        'KW001',
        'high',
        call,
        `${capitalise(t.label)} is written into ${label}: anyone holding the cookie can read it`,
        t.literal ? maskSecret(t.literal.text) : undefined,
        t.literal ? [t.literal] : [],
      );
    }
    if (nameArg === undefined) return;
    const valueIsJwt = valueArg !== undefined && this.isJwtValue(valueArg);
    const sensitive =
      t !== undefined ||
      valueIsJwt ||
      (typeof cookieName === 'string' && SENSITIVE_COOKIE_NAME.test(cookieName) && !NON_SENSITIVE_COOKIE_NAME.test(cookieName));
    if (!sensitive) return;
    const opts = this.objectLiteralOf(optsArg);
    if (!opts) {
      if (optsArg === undefined) {
        this.report('KW002', 'medium', call, `Sensitive ${label} is set without options: not HttpOnly, not Secure, no SameSite, no maxAge`);
      }
      return;
    }
    this.checkCookieFlags(opts, call, label, { httpOnlyDefault: false, secureDefault: false, requireMaxAge: false });
  }

  private isJwtValue(node: ts.Expression, depth = 0): boolean {
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

  /** Flags of one cookie (res.cookie options, express-session `cookie`, cookie-session options). */
  private checkCookieFlags(
    opts: ts.ObjectLiteralExpression,
    at: ts.Node,
    label: string,
    defaults: { httpOnlyDefault: boolean; secureDefault: boolean; requireMaxAge: boolean },
  ): void {
    const missing: string[] = [];
    const httpOnly = this.property(opts, 'httpOnly');
    const secure = this.property(opts, 'secure');
    const sameSite = this.property(opts, 'sameSite');
    const maxAgeNode = this.property(opts, 'maxAge') ?? this.property(opts, 'expires');
    const node = (p: ts.Expression | ts.ShorthandPropertyAssignment): ts.Node => (ts.isShorthandPropertyAssignment(p) ? p : p.parent && ts.isPropertyAssignment(p.parent) ? p.parent : p);
    const value = (p: ts.Expression | ts.ShorthandPropertyAssignment): ReturnType<FileAnalyzer['constValue']> =>
      ts.isShorthandPropertyAssignment(p) ? this.constValue(p.name) : this.constValue(p);
    if (httpOnly === undefined) {
      if (!defaults.httpOnlyDefault) missing.push('httpOnly');
    } else if (value(httpOnly) === false) {
      this.report('KW002', 'medium', node(httpOnly), `\`httpOnly: false\` on ${label}: any script in the page (XSS) can read it`);
    }
    if (secure === undefined) {
      if (!defaults.secureDefault) missing.push('secure');
    } else if (value(secure) === false) {
      this.report('KW002', 'medium', node(secure), `\`secure: false\` on ${label}: it is sent over plain HTTP; use \`secure: true\` (or \`secure: isProd\`)`);
    }
    if (sameSite === undefined) missing.push('sameSite');
    else {
      const v = value(sameSite);
      if (typeof v === 'string' && v.toLowerCase() === 'none') {
        this.report('KW002', 'medium', node(sameSite), `\`sameSite: 'none'\` on ${label}: other sites can send it with cross-site requests; use 'lax' or 'strict' unless a cross-site flow needs it`);
      } else if (v === false) {
        this.report('KW002', 'low', node(sameSite), `\`sameSite: false\` on ${label}: no SameSite protection`);
      }
    }
    if (maxAgeNode === undefined) {
      if (defaults.requireMaxAge) missing.push('maxAge');
    } else if (!ts.isShorthandPropertyAssignment(maxAgeNode) || true) {
      const v = value(maxAgeNode);
      if (typeof v === 'number' && v > LONG_LIFETIME_MS) {
        this.report('KW002', 'low', node(maxAgeNode), `${capitalise(label)} lives ${Math.round(v / 86_400_000)} days: a stolen cookie stays useful that long; keep sessions short (hours) and renew them`);
      }
    }
    if (missing.length > 0) {
      this.report('KW002', missing.includes('httpOnly') || missing.includes('secure') ? 'medium' : 'low', at, `${capitalise(label)} is missing ${missing.map((m) => `\`${m}\``).join(', ')}`);
    }
  }

  // ---------------------------------------------------------------- KW001/KW002/KW003 session middleware

  private sessionLibOf(call: ts.CallExpression): SessionLib | undefined {
    const mod = this.importSource(call.expression);
    return mod ? SESSION_MODULES[mod] : undefined;
  }

  private checkSessionMiddleware(call: ts.CallExpression): void {
    const name = calleeName(call);
    let lib: SessionLib | undefined;
    let optsArg: ts.Expression | undefined;
    let at: ts.Node = call;
    if (name === 'register' && call.arguments.length >= 1) {
      // fastify.register(plugin, opts)
      const mod = this.importSource(call.arguments[0]!);
      if (mod && COOKIE_PARSER_MODULES.has(mod)) {
        const secret = this.propertyValue(this.objectLiteralOf(call.arguments[1]), 'secret');
        if (secret) this.checkSigningSecret(secret, 'the @fastify/cookie secret');
        return;
      }
      if (mod && CORS_MODULES.has(mod)) return;
      lib = mod ? SESSION_MODULES[mod] : undefined;
      optsArg = call.arguments[1];
    } else {
      lib = this.sessionLibOf(call);
      optsArg = call.arguments[0];
      if (!lib) {
        const mod = this.importSource(call.expression);
        if (mod && COOKIE_PARSER_MODULES.has(mod) && call.arguments[0]) this.checkSigningSecret(call.arguments[0], 'the cookie-parser secret');
        if ((calleeName(call) === 'sign' || calleeName(call) === 'verify') && ts.isPropertyAccessExpression(unwrap(call.expression))) {
          const obj = objectName((unwrap(call.expression) as ts.PropertyAccessExpression).expression) ?? '';
          if (/^(?:jwt|jsonwebtoken|jose)$/i.test(obj) || this.importSource((unwrap(call.expression) as ts.PropertyAccessExpression).expression) === 'jsonwebtoken') {
            const secretArg = call.arguments[1];
            if (secretArg && !ts.isObjectLiteralExpression(unwrap(secretArg))) this.checkSigningSecret(secretArg, 'the JWT signing secret');
          }
        }
        return;
      }
    }
    if (!lib) return;
    const opts = this.objectLiteralOf(optsArg);
    if (!opts) return;
    at = call;
    // the signing secret, also when the options object lives in a file that is not analysed
    for (const secretProp of ['secret', 'keys']) {
      const v = this.propertyValue(opts, secretProp);
      if (v) this.checkSigningSecret(v, `\`${secretProp}\` option`);
    }
    const cookieNameProp = lib === 'secure-session' ? 'cookieName' : 'name';
    const cookieName = this.constValue(this.propertyValue(opts, cookieNameProp));
    const defaultName = lib === 'express-session' ? 'connect.sid' : lib === 'fastify-session' ? 'sessionId' : 'session';
    if (cookieName === undefined && this.property(opts, cookieNameProp) === undefined) {
      this.report('KW002', 'low', at, `Session cookie uses the default name \`${defaultName}\`, which fingerprints the framework; set \`${cookieNameProp}\` (e.g. '__Host-sid')`);
    } else if (cookieName === defaultName) {
      this.report('KW002', 'low', this.property(opts, cookieNameProp)!.parent ?? at, `Session cookie uses the default name \`${defaultName}\`; use a custom name (e.g. '__Host-sid')`);
    }
    if (lib === 'express-session' || lib === 'fastify-session') {
      const store = this.propertyValue(opts, 'store');
      if (store === undefined) {
        this.report('KW002', 'medium', at, 'Session has no `store`: the default MemoryStore leaks memory, loses sessions on restart and is not meant for production; use Redis');
      } else if (ts.isNewExpression(unwrap(store)) && /MemoryStore$/.test(calleeName(unwrap(store) as ts.NewExpression) ?? '')) {
        this.report('KW002', 'medium', store, 'Session uses `MemoryStore`, which is not meant for production; use Redis');
      }
      const saveUninit = this.propertyValue(opts, 'saveUninitialized');
      if (saveUninit && this.constValue(saveUninit) === true) {
        this.report('KW002', 'low', saveUninit.parent, '`saveUninitialized: true` creates and stores a session (and sets a cookie) for every anonymous request; set it to false');
      }
      const resave = this.propertyValue(opts, 'resave');
      if (resave && this.constValue(resave) === true) {
        this.report('KW002', 'low', resave.parent, '`resave: true` rewrites the session on every request and loses concurrent updates; set it to false');
      }
      const cookie = this.objectLiteralOf(this.propertyValue(opts, 'cookie'));
      if (cookie) this.checkCookieFlags(cookie, this.property(opts, 'cookie')!.parent ?? at, 'the session cookie', { httpOnlyDefault: true, secureDefault: false, requireMaxAge: true });
      else this.report('KW002', 'low', at, 'Session cookie options are not set: `secure` defaults to false, no SameSite, no maxAge');
    } else if (lib === 'cookie-session') {
      this.checkCookieFlags(opts, at, 'the session cookie', { httpOnlyDefault: true, secureDefault: false, requireMaxAge: true });
    } else if (lib === 'secure-session') {
      const cookie = this.objectLiteralOf(this.propertyValue(opts, 'cookie'));
      if (cookie) this.checkCookieFlags(cookie, this.property(opts, 'cookie')!.parent ?? at, 'the session cookie', { httpOnlyDefault: true, secureDefault: false, requireMaxAge: true });
      else this.report('KW002', 'low', at, 'Session cookie options are not set: `secure` defaults to false, no SameSite, no maxAge');
      const key = this.propertyValue(opts, 'key');
      if (key) this.checkSigningSecret(key, 'the secure-session key');
      const salt = this.propertyValue(opts, 'salt');
      const secret = this.propertyValue(opts, 'secret');
      if (secret && salt) {
        // the pair from the docs is public
        for (const c of this.literalCandidates(salt)) if (isWellKnownWeakSecret(c.node.text)) this.reportLiteralSecret(c, 'the secure-session salt');
      }
    }
  }

  // ---------------------------------------------------------------- KW001 session writes

  private isSessionExpression(node: ts.Expression): boolean {
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

  private reportSessionWrite(at: ts.Node, t: Taint): void {
    if (!this.sessionKind.client) return;
    this.report(
      'KW001',
      'high',
      at,
      `${capitalise(t.label)} is stored in a client-side session (the whole session travels in the cookie): anyone holding the cookie can read it`,
      t.literal ? maskSecret(t.literal.text) : undefined,
      t.literal ? [t.literal] : [],
    );
  }

  private checkSessionAssignment(node: ts.BinaryExpression): void {
    const left = unwrap(node.left);
    if (!(ts.isPropertyAccessExpression(left) || ts.isElementAccessExpression(left))) return;
    if (!this.isSessionExpression(left)) return;
    const t = this.taint(node.right);
    if (t) {
      this.reportSessionWrite(node, t);
      return;
    }
    // req.session.apiKey = something opaque: the target's name says it is a key
    const target = accessName(left);
    if (target && isSecretName(target) && accessName(left) !== 'session') {
      const v = unwrap(node.right);
      if (!ts.isLiteralExpression(v) && v.kind !== ts.SyntaxKind.NullKeyword && !(ts.isIdentifier(v) && v.text === 'undefined') && !isBooleanish(v) && !this.isSanitized(v)) {
        this.reportSessionWrite(node, { label: `\`${target}\`` });
      }
    }
  }

  /** True when a value is a hash, mask or other derivative of a secret (`hash(k)`, `k.slice(-4)`, a variable holding one). */
  private isSanitized(node: ts.Expression, depth = 0): boolean {
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

  private checkSessionCallWrite(call: ts.CallExpression): void {
    const name = calleeName(call);
    const callee = unwrap(call.expression);
    if (name === 'set' && ts.isPropertyAccessExpression(callee) && this.isSessionExpression(callee.expression) && call.arguments.length >= 2) {
      const key = call.arguments[0]!;
      const t = this.taint(call.arguments[1]) ?? (ts.isStringLiteralLike(key) && isSecretName(key.text) ? { label: `\`${key.text}\`` } : undefined);
      if (t) this.reportSessionWrite(call, t);
      return;
    }
    if (name === 'assign' && ts.isPropertyAccessExpression(callee) && objectName(callee.expression) === 'Object' && call.arguments[0] && this.isSessionExpression(call.arguments[0])) {
      for (const src of call.arguments.slice(1)) {
        const t = this.taint(src);
        if (t) {
          this.reportSessionWrite(call, t);
          return;
        }
      }
    }
  }

  /** passport.serializeUser((user, done) => done(null, { id, apiKey })) with a client-side session. */
  private checkSerializeUser(call: ts.CallExpression): void {
    const cb = unwrap(call.expression);
    if (!ts.isIdentifier(cb) || call.arguments.length < 2) return;
    const fn = enclosingFunction(call);
    if (!fn) return;
    const params = fn.parameters;
    const doneParam = params[params.length - 1];
    if (!doneParam || !ts.isIdentifier(doneParam.name) || doneParam.name.text !== cb.text) return;
    const isSerializer =
      (ts.isMethodDeclaration(fn) && propertyNameText(fn.name) === 'serializeUser') ||
      (ts.isCallExpression(fn.parent) && calleeName(fn.parent) === 'serializeUser');
    if (!isSerializer) return;
    const t = this.taint(call.arguments[1]);
    if (t) this.reportSessionWrite(call, { label: `${t.label} (serialized into the passport session)` });
  }

  // ---------------------------------------------------------------- KW004

  private checkLogCall(call: ts.CallExpression): void {
    const callee = unwrap(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || !LOG_METHODS.has(callee.name.text)) return;
    const obj = objectName(callee.expression) ?? '';
    if (!(obj === 'console' || /log(?:ger)?$/i.test(obj))) return;
    for (const a of call.arguments) {
      const t = this.taint(a);
      if (t) {
        this.report('KW004', 'high', call, `${capitalise(t.label)} is written to a log (\`${obj}.${callee.name.text}\`)`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
        return;
      }
    }
  }

  private checkResponseSend(call: ts.CallExpression): void {
    const callee = unwrap(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || !['json', 'send', 'end', 'write', 'jsonp'].includes(callee.name.text)) return;
    if (!RESPONSE_OBJECT_NAMES.test(objectName(callee.expression) ?? '')) return;
    for (const a of call.arguments) {
      const t = this.taint(a);
      if (t) {
        this.report('KW004', 'high', call, `${capitalise(t.label)} is sent in a response body`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
        return;
      }
    }
  }

  private checkThrow(expr: ts.Expression): void {
    const e = unwrap(expr);
    if (!ts.isNewExpression(e) && !ts.isCallExpression(e)) return;
    for (const a of e.arguments ?? []) {
      const t = this.taint(a);
      if (t) {
        this.report('KW004', 'high', expr, `${capitalise(t.label)} is put into an exception, which reaches logs and, for HTTP exceptions, the client`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
        return;
      }
    }
  }

  private checkHandlerReturn(node: ts.ReturnStatement | ts.ArrowFunction): void {
    const expr = ts.isReturnStatement(node) ? node.expression : (node.body as ts.Expression);
    if (!expr) return;
    const fn = ts.isReturnStatement(node) ? enclosingFunction(node) : undefined;
    if (!fn || !ts.isMethodDeclaration(fn)) return;
    const isHandler = decoratorsOf(fn).some((d) => HTTP_METHOD_DECORATORS.has(decoratorName(d) ?? ''));
    const cls = fn.parent;
    const isController = ts.isClassDeclaration(cls) && decoratorsOf(cls).some((d) => decoratorName(d) === 'Controller');
    if (!isHandler || !isController) return;
    const t = this.taint(expr);
    if (t) this.report('KW004', 'high', node, `${capitalise(t.label)} is returned in a response body`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
  }

  // ---------------------------------------------------------------- KW005

  private checkCors(call: ts.CallExpression): void {
    const name = calleeName(call);
    let opts: ts.Expression | undefined;
    if (name === 'enableCors') opts = call.arguments[0];
    else if (name === 'create' && objectName((unwrap(call.expression) as ts.PropertyAccessExpression).expression ?? call.expression) === 'NestFactory') {
      const appOpts = this.objectLiteralOf(call.arguments[call.arguments.length - 1]);
      opts = this.propertyValue(appOpts, 'cors');
    } else if (name === 'register' && call.arguments[0] && CORS_MODULES.has(this.importSource(call.arguments[0]) ?? '')) opts = call.arguments[1];
    else if (CORS_MODULES.has(this.importSource(call.expression) ?? '')) opts = call.arguments[0];
    else return;
    const o = this.objectLiteralOf(opts);
    if (!o) return;
    if (this.constValue(this.propertyValue(o, 'credentials')) !== true) return;
    const origin = this.propertyValue(o, 'origin');
    if (!origin) return;
    const why = this.originAllowsAll(origin);
    if (why) {
      this.report('KW005', 'high', origin.parent && ts.isPropertyAssignment(origin.parent) ? origin.parent : call, `CORS ${why} together with \`credentials: true\`: any website can make authenticated requests and read the responses`);
    }
  }

  private originAllowsAll(origin: ts.Expression): string | undefined {
    const v = this.constValue(origin);
    if (v === true) return 'reflects every origin (`origin: true`)';
    const e = unwrap(origin);
    if (ts.isRegularExpressionLiteral(e)) {
      const body = e.text.slice(1, e.text.lastIndexOf('/'));
      if (/^\^?\.[*+]\$?$/.test(body)) return `allows every origin (\`${e.text}\`)`;
      return undefined;
    }
    const fn = ts.isFunctionExpression(e) || ts.isArrowFunction(e) ? e : this.functionOf(e);
    if (!fn || fn.parameters.length < 2) return undefined;
    const originParam = fn.parameters[0]!.name;
    const cbParam = fn.parameters[fn.parameters.length - 1]!.name;
    if (!ts.isIdentifier(cbParam)) return undefined;
    let allowAll = false;
    const visit = (n: ts.Node, conditional: boolean): void => {
      if (allowAll) return;
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === cbParam.text && !conditional) {
        const arg = n.arguments[1];
        if (arg && (arg.kind === ts.SyntaxKind.TrueKeyword || (ts.isIdentifier(arg) && ts.isIdentifier(originParam) && arg.text === originParam.text))) allowAll = true;
      }
      const childConditional =
        conditional ||
        ts.isIfStatement(n) ||
        ts.isConditionalExpression(n) ||
        ts.isSwitchStatement(n) ||
        (ts.isBinaryExpression(n) && (n.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken || n.operatorToken.kind === ts.SyntaxKind.BarBarToken));
      ts.forEachChild(n, (c) => visit(c, childConditional));
    };
    const fnBody = (fn as ts.FunctionLikeDeclaration).body;
    if (fnBody) visit(fnBody, false);
    return allowAll ? 'allows every origin (the origin callback accepts all)' : undefined;
  }
}

function capitalise(s: string): string {
  return s.length > 0 ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}

/**
 * A literal fallback matters for a signing secret whatever its value (anyone can forge with it);
 * for an API key or token only when the literal looks like a real key (a dummy value just fails).
 */
function fallbackMatters(source: string, literal: string): boolean {
  if (isWellKnownWeakSecret(literal) || matchProvider(literal) || looksRandom(literal)) return true;
  if (isPlaceholderKeyword(literal)) return false;
  return /secret|passw|signing|jwt|session|cookie|salt|encryption|private|hmac/i.test(source);
}

function isPlaceholderKeyword(v: string): boolean {
  return isPlaceholder(v) && !isWellKnownWeakSecret(v);
}

function isSanitizerCall(e: ts.Expression): boolean {
  return ts.isCallExpression(e) && SANITIZER_CALLS.test(calleeName(e) ?? '');
}

function isBooleanish(e: ts.Expression): boolean {
  return (
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword ||
    (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) ||
    (ts.isBinaryExpression(e) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken].includes(e.operatorToken.kind))
  );
}

function enclosingFunction(node: ts.Node): ts.SignatureDeclaration | undefined {
  let p: ts.Node | undefined = node.parent;
  while (p) {
    if (ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isArrowFunction(p) || ts.isMethodDeclaration(p) || ts.isGetAccessorDeclaration(p)) return p;
    p = p.parent;
  }
  return undefined;
}

/** Expressions a function returns (not those of nested functions). */
function returnExpressions(fn: ts.SignatureDeclaration): ts.Expression[] {
  const body = (fn as ts.FunctionLikeDeclaration).body;
  if (!body) return [];
  if (!ts.isBlock(body)) return [body];
  const out: ts.Expression[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n)) return;
    if (ts.isReturnStatement(n) && n.expression) out.push(n.expression);
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(body, visit);
  return out;
}

/** True when a statement always throws or exits the process. */
function exits(stmt: ts.Statement): boolean {
  if (ts.isThrowStatement(stmt)) return true;
  if (ts.isExpressionStatement(stmt)) {
    const e = stmt.expression;
    return ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'exit' && objectName(e.expression.expression) === 'process';
  }
  if (ts.isBlock(stmt)) return stmt.statements.some((s) => exits(s));
  return false;
}
