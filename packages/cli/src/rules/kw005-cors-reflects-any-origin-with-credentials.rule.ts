import ts from 'typescript5';
import type { AnalysisContext } from '../audit/engine/analysis-context.js';
import { CORS_MODULES, calleeName, objectName, unwrap } from '../audit/engine/ast.js';
import type { Rule } from './rule.js';

/* KW005: CORS that lets any origin read responses with the user's cookies. */

function checkCors(ctx: AnalysisContext, call: ts.CallExpression): void {
  const name = calleeName(call);
  let opts: ts.Expression | undefined;
  if (name === 'enableCors') opts = call.arguments[0];
  else if (name === 'create' && objectName((unwrap(call.expression) as ts.PropertyAccessExpression).expression ?? call.expression) === 'NestFactory') {
    const appOpts = ctx.objectLiteralOf(call.arguments[call.arguments.length - 1]);
    opts = ctx.propertyValue(appOpts, 'cors');
  } else if (name === 'register' && call.arguments[0] && CORS_MODULES.has(ctx.importSource(call.arguments[0]) ?? '')) opts = call.arguments[1];
  else if (CORS_MODULES.has(ctx.importSource(call.expression) ?? '')) opts = call.arguments[0];
  else return;
  const o = ctx.objectLiteralOf(opts);
  if (!o) return;
  if (ctx.constValue(ctx.propertyValue(o, 'credentials')) !== true) return;
  const origin = ctx.propertyValue(o, 'origin');
  if (!origin) return;
  const why = originAllowsAll(ctx, origin);
  if (why) {
    ctx.report('KW005', 'high', origin.parent && ts.isPropertyAssignment(origin.parent) ? origin.parent : call, `CORS ${why} together with \`credentials: true\`: any website can make authenticated requests and read the responses`);
  }
}

function originAllowsAll(ctx: AnalysisContext, origin: ts.Expression): string | undefined {
  const v = ctx.constValue(origin);
  if (v === true) return 'reflects every origin (`origin: true`)';
  const e = unwrap(origin);
  if (ts.isRegularExpressionLiteral(e)) {
    const body = e.text.slice(1, e.text.lastIndexOf('/'));
    if (/^\^?\.[*+]\$?$/.test(body)) return `allows every origin (\`${e.text}\`)`;
    return undefined;
  }
  const fn = ts.isFunctionExpression(e) || ts.isArrowFunction(e) ? e : ctx.functionOf(e);
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

export const corsReflectsAnyOriginWithCredentials: Rule = {
  meta: {
  id: 'KW005',
  name: 'cors-reflects-any-origin-with-credentials',
  severity: 'high',
  title: 'CORS reflects any origin and allows credentials',
  why:
    'With `origin: true` (or a callback that allows every origin) and `credentials: true`, any ' +
    'website the user visits can send requests with the user\'s session cookie and read the ' +
    'responses, including keys and personal data.',
  fix: 'Allow an explicit list of trusted origins, or do not allow credentials cross-origin.',
  example: [
    'app.enableCors({',
    "  origin: ['https://app.example.com'], // explicit allowlist",
    '  credentials: true,',
    '});',
  ].join('\n'),
  sources: ['audit', 'probe'],
},
  visit(node, ctx) {
    if (ts.isCallExpression(node)) checkCors(ctx, node);
  },
};
