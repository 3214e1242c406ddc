import ts from '../typescript.cjs';
import type { AnalysisContext } from '../audit/engine/analysis-context.js';
import { HTTP_METHOD_DECORATORS, LOG_METHODS, RESPONSE_OBJECT_NAMES, calleeName, capitalise, decoratorName, decoratorsOf, enclosingFunction, objectName, unwrap } from '../audit/engine/ast.js';
import { LOG_FUNCTIONS, REDIRECT_CALLS, RESPONSE_BODY_CALLS, RESPONSE_DECORATORS, RESPONSE_GETTER_CALLS } from '../audit/engine/knowledge/sink-shapes.js';
import { maskSecret } from '../secrets/secret-detector.js';
import type { Rule } from './rule.js';
import { MIGRATION_GUIDE, docUrl } from './guides.js';

/*
 * KW004: a key or a token written to a log (any token: the app's own too; a log helper called
 * bare counts), or sent in a response body (the response obtained from a call or `@Res()` too), a
 * redirect URL, an exception or a controller's return value (keys, bearer tokens and a provider's
 * tokens; the app's own login token is what a login response is for).
 */

/** Calls chained on a response before the body is sent: `res.status(500).json(…)`. */
const RESPONSE_CHAIN = new Set(['status', 'type', 'set', 'header', 'append', 'cookie', 'code', 'setHeader', 'vary', 'location', 'links', 'contentType']);

/** The response object under chained calls: `res.status(500)` → `res`. */
function responseBase(node: ts.Expression): ts.Expression {
  let e = unwrap(node);
  while (ts.isCallExpression(e) && ts.isPropertyAccessExpression(unwrap(e.expression)) && RESPONSE_CHAIN.has((unwrap(e.expression) as ts.PropertyAccessExpression).name.text)) {
    e = unwrap((unwrap(e.expression) as ts.PropertyAccessExpression).expression);
  }
  return e;
}

/**
 * True when an expression is the response: named like one (`res`, `reply`), obtained from a call
 * (`host.switchToHttp().getResponse()`, a variable holding one), or injected with `@Res()`.
 */
function isResponse(ctx: AnalysisContext, node: ts.Expression, depth = 0): boolean {
  const e = unwrap(node);
  if (ts.isCallExpression(e)) return RESPONSE_GETTER_CALLS.test(calleeName(e) ?? '');
  if (RESPONSE_OBJECT_NAMES.test(objectName(e) ?? '')) return true;
  if (ts.isIdentifier(e) && depth < 3) {
    const decl = ctx.declarationOf(e);
    if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return isResponse(ctx, decl.initializer, depth + 1);
    if (decl && ts.isParameter(decl)) return decoratorsOf(decl).some((d) => RESPONSE_DECORATORS.test(decoratorName(d) ?? ''));
  }
  return false;
}

function checkLogCall(ctx: AnalysisContext, call: ts.CallExpression): void {
  const callee = unwrap(call.expression);
  let logger: string;
  if (ts.isPropertyAccessExpression(callee) && LOG_METHODS.has(callee.name.text)) {
    const obj = objectName(callee.expression) ?? '';
    if (!(obj === 'console' || /log(?:ger)?$/i.test(obj))) return;
    logger = `${obj}.${callee.name.text}`;
  } else if (ts.isIdentifier(callee) && LOG_FUNCTIONS.test(callee.text)) {
    // a log helper called bare: logger(req, 'INFO', …, token), debug(…)
    logger = callee.text;
  } else return;
  for (const a of call.arguments) {
    const t = ctx.sinkTaint(a, 'any-token');
    if (t) {
      ctx.report('KW004', 'high', call, `${capitalise(t.label)} is written to a log (\`${logger}\`)`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
      return;
    }
  }
}

/** `res.redirect(\`${front}?token=${tokens.access_token}\`)`: the URL lands in the browser's history, the Referer and the page. */
function checkRedirect(ctx: AnalysisContext, call: ts.CallExpression): void {
  const callee = unwrap(call.expression);
  if (!ts.isPropertyAccessExpression(callee) || !REDIRECT_CALLS.has(callee.name.text) || !isResponse(ctx, responseBase(callee.expression))) return;
  for (const a of call.arguments) {
    const t = ctx.sinkTaint(a, 'provider-token');
    if (t) {
      ctx.report('KW004', 'high', call, `${capitalise(t.label)} is put into a redirect URL: it lands in the browser's history, the Referer header and the page`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
      return;
    }
  }
}

function checkResponseSend(ctx: AnalysisContext, call: ts.CallExpression): void {
  const callee = unwrap(call.expression);
  if (!ts.isPropertyAccessExpression(callee) || !RESPONSE_BODY_CALLS.has(callee.name.text)) return;
  if (!isResponse(ctx, responseBase(callee.expression))) return;
  // end(data, encoding) and write(data, encoding): only the first argument is sent
  const sent = callee.name.text === 'end' || callee.name.text === 'write' ? call.arguments.slice(0, 1) : call.arguments;
  for (const a of sent) {
    const t = ctx.sinkTaint(a, 'provider-token');
    if (t) {
      ctx.report('KW004', 'high', call, `${capitalise(t.label)} is sent in a response body`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
      return;
    }
  }
}

function checkThrow(ctx: AnalysisContext, expr: ts.Expression): void {
  const e = unwrap(expr);
  if (!ts.isNewExpression(e) && !ts.isCallExpression(e)) return;
  for (const a of e.arguments ?? []) {
    const t = ctx.sinkTaint(a, 'provider-token');
    if (t) {
      ctx.report('KW004', 'high', expr, `${capitalise(t.label)} is put into an exception, which reaches logs and, for HTTP exceptions, the client`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
      return;
    }
  }
}

function checkHandlerReturn(ctx: AnalysisContext, node: ts.ReturnStatement | ts.ArrowFunction): void {
  const expr = ts.isReturnStatement(node) ? node.expression : (node.body as ts.Expression);
  if (!expr) return;
  const fn = ts.isReturnStatement(node) ? enclosingFunction(node) : undefined;
  if (!fn || !ts.isMethodDeclaration(fn)) return;
  const isHandler = decoratorsOf(fn).some((d) => HTTP_METHOD_DECORATORS.has(decoratorName(d) ?? ''));
  const cls = fn.parent;
  const isController = ts.isClassDeclaration(cls) && decoratorsOf(cls).some((d) => decoratorName(d) === 'Controller');
  if (!isHandler || !isController) return;
  const t = ctx.sinkTaint(expr, 'provider-token');
  if (t) ctx.report('KW004', 'high', node, `${capitalise(t.label)} is returned in a response body`, t.literal ? maskSecret(t.literal.text) : undefined, t.literal ? [t.literal] : []);
}

export const secretLoggedOrReturned: Rule = {
  meta: {
  id: 'KW004',
  name: 'secret-logged-or-returned',
  severity: 'high',
  title: 'Secret written to a log, a response body or an exception',
  why:
    'Logs are shipped to third parties, kept for months and read by many people; response bodies ' +
    'and exception messages reach the browser (and its extensions, caches and error trackers). A ' +
    'key that appears in either has leaked.',
  fix:
    'Never log or return the key. Log a masked form (last 4 characters) or a keyed hash, configure ' +
    'logger redaction (pino `redact`), and return only what the client needs (for example ' +
    '`{ configured: true, last4 }`). With @keyward/nest a key is handed out as a `Secret`, which ' +
    'prints `[REDACTED]`; `Vault.listUser` returns stored keys masked (`MaskedCredential`); ' +
    '`KeywardLogger` (or `createRedactingLogger`) redacts key-like fields and scrubs every key the ' +
    'vault knows is live, and `installStdioRedaction` does the same for stray console output.',
  example: [
    "import { CurrentSession, KeywardLogger, RequestSession, Vault } from '@keyward/nest';",
    '// main.ts: every log line goes through redaction',
    'const app = await NestFactory.create(AppModule, { logger: new KeywardLogger() });',
    '// keys.controller.ts (constructor(private readonly vault: Vault))',
    "@Get('keys') list(@CurrentSession() session: RequestSession) {",
    "  return this.vault.listUser(session.user!.id); // [{ name, masked: '••••a1b2', updatedAt }], never a key",
    '}',
  ].join('\n'),
  guide: docUrl('docs/leak-prevention.md'),
  sources: ['audit', 'probe'],
},
  visit(node, ctx) {
    if (ts.isCallExpression(node)) {
      checkLogCall(ctx, node);
      checkResponseSend(ctx, node);
      checkRedirect(ctx, node);
    } else if (ts.isThrowStatement(node) && node.expression) {
      checkThrow(ctx, node.expression);
    } else if (ts.isReturnStatement(node) && node.expression) {
      checkHandlerReturn(ctx, node);
    } else if (ts.isArrowFunction(node) && !ts.isBlock(node.body)) {
      checkHandlerReturn(ctx, node);
    }
  },
};
