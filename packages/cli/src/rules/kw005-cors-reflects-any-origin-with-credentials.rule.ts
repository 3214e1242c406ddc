import ts from '../typescript.cjs';
import type { AnalysisContext } from '../audit/engine/analysis-context.js';
import { CORS_MODULES, calleeName, objectName, unwrap } from '../audit/engine/ast.js';
import { type BranchCondition, branchConditions, conditionText, developmentOnly, environmentText } from '../audit/engine/conditions.js';
import type { Rule } from './rule.js';
import { MIGRATION_GUIDE, docUrl } from './guides.js';

/*
 * KW005: CORS that lets any origin read responses with the user's cookies. Options are followed
 * through variables, config objects (`cors(config.cors)`), defaults (`{ ...corsDefaults }`,
 * parameter defaults) and both branches of a condition (`origin: isDev ? true : allowlist`,
 * `enableCors(isDev ? devCors : prodCors)`, `origin: process.env.CORS_ORIGIN || true`). A
 * reflection that only runs outside production is reported with that context and lower: LOW when
 * it needs NODE_ENV to say development, MEDIUM when it is on whenever NODE_ENV is not 'production'
 * (a production deployment that forgets NODE_ENV runs it too).
 */

/** The CORS options argument of a call, if the call configures CORS. */
function corsOptionsOf(ctx: AnalysisContext, call: ts.CallExpression): ts.Expression | undefined | false {
  const name = calleeName(call);
  if (name === 'enableCors') return call.arguments[0];
  if (name === 'create' && objectName((unwrap(call.expression) as ts.PropertyAccessExpression).expression ?? call.expression) === 'NestFactory') {
    const appOpts = ctx.objectLiteralOf(call.arguments[call.arguments.length - 1]);
    return ctx.propertyValue(appOpts, 'cors');
  }
  if (name === 'register' && call.arguments[0] && CORS_MODULES.has(ctx.importSource(call.arguments[0], isCorsModule) ?? '')) return call.arguments[1];
  if (CORS_MODULES.has(ctx.importSource(call.expression, isCorsModule) ?? '')) return call.arguments[0];
  return false;
}

/** Values a property of the options can take, through conditional spreads and conditional values. */
function optionValues(ctx: AnalysisContext, o: ts.ObjectLiteralExpression, name: string): { value: ts.Expression; conds: BranchCondition[]; prop: ts.Node }[] {
  const out: { value: ts.Expression; conds: BranchCondition[]; prop: ts.Node }[] = [];
  for (const p of ctx.propertyAlternatives(o, name)) {
    if (p.value === undefined) continue;
    const expr = ts.isShorthandPropertyAssignment(p.value) ? p.value.name : p.value;
    const prop = ts.isShorthandPropertyAssignment(p.value) ? p.value : p.value.parent && ts.isPropertyAssignment(p.value.parent) ? p.value.parent : p.value;
    for (const v of ctx.valueAlternatives(expr)) if (v.value) out.push({ value: v.value, conds: [...p.conds, ...v.conds], prop });
  }
  return out;
}

function checkCors(ctx: AnalysisContext, call: ts.CallExpression): void {
  const optsArg = corsOptionsOf(ctx, call);
  if (optsArg === false || optsArg === undefined) return;
  const callConds = branchConditions(call);
  for (const optAlt of ctx.valueAlternatives(optsArg)) {
    const o = ctx.objectLiteralOf(optAlt.value);
    if (!o) continue;
    const credentials = optionValues(ctx, o, 'credentials').filter((c) => ctx.constValue(c.value) === true);
    if (credentials.length === 0) continue;
    for (const origin of optionValues(ctx, o, 'origin')) {
      const why = originAllowsAll(ctx, origin.value);
      if (!why) continue;
      // options declared elsewhere (a dev-only block, a config file) carry their own branch
      const declaredApart = origin.prop.getSourceFile() !== call.getSourceFile() || origin.prop.pos < call.pos || origin.prop.end > call.end;
      const conds = [...callConds, ...optAlt.conds, ...origin.conds, ...credentials[0]!.conds, ...(declaredApart ? branchConditions(origin.prop) : [])];
      const dev = developmentOnly(ctx, conds);
      const message = `CORS ${why} together with \`credentials: true\``;
      const at = ts.isPropertyAssignment(origin.prop) || ts.isShorthandPropertyAssignment(origin.prop) ? origin.prop : call;
      if (dev) {
        ctx.report('KW005', dev.failOpen ? 'medium' : 'low', at, `${message}, ${environmentText(dev)}: any website a developer visits can make authenticated requests to this server and read the responses; allow the dev front-end's origin instead`);
      } else {
        const when = conds.length > 0 ? ` when ${conds.map((c) => conditionText(c)).join(' and ')}` : '';
        ctx.report('KW005', 'high', at, `${message}${when}: any website can make authenticated requests and read the responses`);
      }
    }
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
  fix:
    'Allow an explicit list of trusted origins, or do not allow credentials cross-origin. With ' +
    '@keyward/nest, `KeywardModule.forRoot({ cors: { origins: [...] } })` takes exact origins only ' +
    "(`*` and `null` are refused), and its origin guard refuses a cookie's request from any other " +
    'site (`origin.allowedOrigins`, the `X-CSRF: 1` header).',
  example: [
    "import { KeywardModule } from '@keyward/nest';",
    'KeywardModule.forRoot({',
    '  session: { secrets, store },',
    "  cors: { origins: ['https://app.example.com'] }, // exact origins; credentials only for them",
    '});',
    "// without Keyward: app.enableCors({ origin: ['https://app.example.com'], credentials: true });",
  ].join('\n'),
  guide: docUrl('packages/nest/README.md'),
  sources: ['audit', 'probe'],
},
  visit(node, ctx) {
    if (ts.isCallExpression(node)) checkCors(ctx, node);
  },
};

function isCorsModule(mod: string): boolean {
  return CORS_MODULES.has(mod);
}
