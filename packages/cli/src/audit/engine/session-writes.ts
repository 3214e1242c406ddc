import ts from '../../typescript.cjs';
import { isSecretName } from '../../secrets/secret-detector.js';
import type { AnalysisContext, Taint } from './analysis-context.js';
import { accessName, calleeName, enclosingFunction, isBooleanish, objectName, propertyNameText, unwrap } from './ast.js';

/** A secret or a provider's token written into the session, and where. */
export interface SessionWrite {
  at: ts.Node;
  taint: Taint;
}

/**
 * Writes into the session at this node: `req.session.x = v`, `session.set('x', v)`,
 * `Object.assign(req.session, …)`, a passport serializer's `done(null, user)`. Whether the session
 * is client-side (KW001) or server-side (KW007) is the rules' question.
 */
export function sessionWrites(node: ts.Node, ctx: AnalysisContext): SessionWrite[] {
  const out: SessionWrite[] = [];
  if (ts.isCallExpression(node)) {
    checkSessionCallWrite(ctx, node, out);
    checkSerializeUser(ctx, node, out);
  } else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    checkSessionAssignment(ctx, node, out);
  }
  return out;
}


function checkSessionAssignment(ctx: AnalysisContext, node: ts.BinaryExpression, out: SessionWrite[]): void {
  const left = unwrap(node.left);
  if (!(ts.isPropertyAccessExpression(left) || ts.isElementAccessExpression(left))) return;
  if (!ctx.isSessionExpression(left)) return;
  const t = ctx.sinkTaint(node.right, 'provider-token');
  if (t) {
    out.push({ at: node, taint: t });
    return;
  }
  // req.session.apiKey = something opaque: the target's name says it is a key
  const target = accessName(left);
  if (target && isSecretName(target) && accessName(left) !== 'session') {
    const v = unwrap(node.right);
    if (!ts.isLiteralExpression(v) && v.kind !== ts.SyntaxKind.NullKeyword && !(ts.isIdentifier(v) && v.text === 'undefined') && !isBooleanish(v) && !ctx.isSanitized(v)) {
      out.push({ at: node, taint: { label: `\`${target}\`` } });
    }
  }
}

function checkSessionCallWrite(ctx: AnalysisContext, call: ts.CallExpression, out: SessionWrite[]): void {
  const name = calleeName(call);
  const callee = unwrap(call.expression);
  if (name === 'set' && ts.isPropertyAccessExpression(callee) && ctx.isSessionExpression(callee.expression) && call.arguments.length >= 2) {
    const key = call.arguments[0]!;
    const t = ctx.sinkTaint(call.arguments[1], 'provider-token') ?? (ts.isStringLiteralLike(key) && isSecretName(key.text) ? { label: `\`${key.text}\`` } : undefined);
    if (t) out.push({ at: call, taint: t });
    return;
  }
  if (name === 'assign' && ts.isPropertyAccessExpression(callee) && objectName(callee.expression) === 'Object' && call.arguments[0] && ctx.isSessionExpression(call.arguments[0])) {
    for (const src of call.arguments.slice(1)) {
      const t = ctx.sinkTaint(src, 'provider-token');
      if (t) {
        out.push({ at: call, taint: t });
        return;
      }
    }
  }
}

/** passport.serializeUser((user, done) => done(null, { id, apiKey })) with a client-side session. */
function checkSerializeUser(ctx: AnalysisContext, call: ts.CallExpression, out: SessionWrite[]): void {
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
  const t = ctx.sinkTaint(call.arguments[1], 'provider-token');
  if (t) out.push({ at: call, taint: { label: `${t.label} (serialized into the passport session)` } });
}

