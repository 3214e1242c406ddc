import ts from '../../typescript.cjs';
import { accessName, isProcessEnv, unwrap } from './ast.js';

/*
 * Conditions a value or a call depends on: which branch of an `if`, a `? :` or an `&&` it sits in,
 * and whether such a condition is a test of the deployment environment (`NODE_ENV`, `isDev`,
 * `configService.get('NODE_ENV') === 'development'`). Rules use them to judge both branches of a
 * conditional option and to say when a setting applies ("only when NODE_ENV is development").
 */

/** What the condition helpers need of the engine: names resolved, constants folded (an `AnalysisContext` is one). */
export interface ConditionResolver {
  declarationOf(node: ts.Node): ts.Declaration | undefined;
  constValue(node: ts.Expression | undefined): boolean | number | string | null | undefined;
}

/** A condition and the side of it that holds: `{ expr: isProd, holds: false }` reads "when `isProd` is false". */
export interface BranchCondition {
  expr: ts.Expression;
  holds: boolean;
  /** The right side of `x || y` / `x ?? y`: taken when `x` is unset. */
  fallback?: boolean;
}

/**
 * What an environment test says: `production` (true only in production) or `development` (true
 * outside production). `failOpen`: the condition also holds when NODE_ENV is unset
 * (`NODE_ENV !== 'production'`, `!isProd`), so a production deployment that forgets NODE_ENV runs
 * the branch too.
 */
export interface EnvironmentTest {
  when: 'production' | 'development';
  failOpen: boolean;
}

const PROD_NAME = /^(?:is_?)?prod(?:uction)?(?:_?mode|_?env)?$/i;
const DEV_NAME = /^(?:is_?)?(?:dev(?:elopment)?|local|debug)(?:_?mode|_?env)?$|^__DEV__$/i;
const ENV_KEY = /^(?:NODE_ENV|APP_ENV|ENV|ENVIRONMENT|(?:app|server|config)\.(?:env|environment|nodeEnv))$/i;
const PROD_VALUE = /^(?:production|prod)$/i;
const DEV_VALUE = /^(?:development|dev|local|test|debug)$/i;

function flip(t: EnvironmentTest | undefined): EnvironmentTest | undefined {
  if (!t) return undefined;
  return t.when === 'production' ? { when: 'development', failOpen: !t.failOpen } : { when: 'production', failOpen: false };
}

/** True when an expression reads the environment name: `process.env.NODE_ENV`, `config.get('NODE_ENV')`, `app.get('env')`. */
function readsEnvironmentName(ctx: ConditionResolver, node: ts.Expression, depth = 0): boolean {
  if (depth > 6) return false;
  const e = unwrap(node);
  if ((ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && isProcessEnv(e.expression)) return ENV_KEY.test(accessName(e) ?? '');
  if (ts.isCallExpression(e) && e.arguments[0] && ts.isStringLiteralLike(e.arguments[0])) {
    const callee = unwrap(e.expression);
    if (ts.isPropertyAccessExpression(callee) && /^(?:get|getOrThrow)$/.test(callee.name.text)) return ENV_KEY.test(e.arguments[0].text);
  }
  // const env = process.env.NODE_ENV; a variable or field named like the environment
  if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
    const decl = ctx.declarationOf(ts.isIdentifier(e) ? e : e.name);
    if (decl && ts.isVariableDeclaration(decl) && decl.initializer && readsEnvironmentName(ctx, decl.initializer, depth + 1)) return true;
    return /^(?:nodeEnv|NODE_ENV|env|environment|appEnv)$/.test(ts.isIdentifier(e) ? e.text : e.name.text) && !isProcessEnv(e);
  }
  return false;
}

/**
 * Classifies a condition as a test of the deployment environment, following constants
 * (`const isDev = process.env.NODE_ENV === 'development'`).
 */
export function environmentTest(ctx: ConditionResolver, node: ts.Expression, depth = 0): EnvironmentTest | undefined {
  if (depth > 6) return undefined;
  const e = unwrap(node);
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) return flip(environmentTest(ctx, e.operand, depth + 1));
  if (ts.isBinaryExpression(e)) {
    const op = e.operatorToken.kind;
    const eq = op === ts.SyntaxKind.EqualsEqualsEqualsToken || op === ts.SyntaxKind.EqualsEqualsToken;
    const ne = op === ts.SyntaxKind.ExclamationEqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsToken;
    if (eq || ne) {
      const [subject, other] = readsEnvironmentName(ctx, e.left) ? [e.left, e.right] : readsEnvironmentName(ctx, e.right) ? [e.right, e.left] : [undefined, undefined];
      if (!subject || !other) return undefined;
      const v = ctx.constValue(other);
      if (typeof v !== 'string') return undefined;
      let t: EnvironmentTest | undefined;
      if (PROD_VALUE.test(v)) t = { when: 'production', failOpen: false };
      else if (DEV_VALUE.test(v)) t = { when: 'development', failOpen: false };
      return ne ? flip(t) : t;
    }
    return undefined;
  }
  if (ts.isCallExpression(e)) {
    // app.get('env') === … is handled above; `isProduction()` helpers by name
    const name = ts.isIdentifier(unwrap(e.expression)) ? (unwrap(e.expression) as ts.Identifier).text : accessName(unwrap(e.expression));
    if (name && PROD_NAME.test(name)) return { when: 'production', failOpen: false };
    if (name && DEV_NAME.test(name)) return { when: 'development', failOpen: false };
    return undefined;
  }
  if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
    const decl = ctx.declarationOf(ts.isIdentifier(e) ? e : e.name);
    if (decl && (ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer) {
      const t = environmentTest(ctx, decl.initializer, depth + 1);
      if (t) return t;
    }
    const name = ts.isIdentifier(e) ? e.text : e.name.text;
    if (PROD_NAME.test(name)) return { when: 'production', failOpen: false };
    if (DEV_NAME.test(name)) return { when: 'development', failOpen: false };
  }
  return undefined;
}

/** The environment a branch runs in, when its condition is an environment test. */
export function branchEnvironment(ctx: ConditionResolver, c: BranchCondition): EnvironmentTest | undefined {
  const t = environmentTest(ctx, c.expr);
  return c.holds ? t : flip(t);
}

/** The first condition among `conds` that limits the code to outside production, if any. */
export function developmentOnly(ctx: ConditionResolver, conds: readonly BranchCondition[]): EnvironmentTest | undefined {
  for (const c of conds) {
    const t = branchEnvironment(ctx, c);
    if (t?.when === 'development') return t;
  }
  return undefined;
}

/**
 * The conditions under which `node` runs, innermost first, up to the enclosing function: the
 * branch of an `if`, a `? :`, the right side of `&&` / `||`, and an earlier `if (c) return;` in
 * an enclosing block.
 */
export function branchConditions(node: ts.Node): BranchCondition[] {
  const out: BranchCondition[] = [];
  let child: ts.Node = node;
  for (let p = node.parent; p && !ts.isSourceFile(p); child = p, p = p.parent) {
    if (ts.isFunctionLike(p)) break;
    if (ts.isIfStatement(p) && child !== p.expression) out.push({ expr: p.expression, holds: child === p.thenStatement });
    else if (ts.isConditionalExpression(p) && child !== p.condition) out.push({ expr: p.condition, holds: child === p.whenTrue });
    else if (ts.isBinaryExpression(p) && child === p.right) {
      if (p.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) out.push({ expr: p.left, holds: true });
      else if (p.operatorToken.kind === ts.SyntaxKind.BarBarToken) out.push({ expr: p.left, holds: false });
    } else if (ts.isBlock(p) || ts.isSourceFile(p)) {
      // if (isProd) return; …node…
      for (const s of p.statements) {
        if (s === child) break;
        if (ts.isIfStatement(s) && !s.elseStatement && leaves(s.thenStatement)) out.push({ expr: s.expression, holds: false });
      }
    }
  }
  return out;
}

function leaves(s: ts.Statement): boolean {
  if (ts.isReturnStatement(s) || ts.isThrowStatement(s)) return true;
  if (ts.isBlock(s)) return s.statements.some((x) => ts.isReturnStatement(x) || ts.isThrowStatement(x));
  return false;
}

/** Readable text of a condition on one of its sides: `` `isProd` `` / `` `!isProd` ``, `` `a !== b` ``. */
export function conditionText(c: BranchCondition): string {
  const e = unwrap(c.expr);
  const text = (n: ts.Node): string => {
    const t = n.getText().replace(/\s+/g, ' ');
    return t.length > 60 ? `${t.slice(0, 57)}...` : t;
  };
  if (c.fallback) {
    const env = (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && isProcessEnv(e.expression) ? accessName(e) : undefined;
    return `\`${env ?? text(e)}\` is unset`;
  }
  if (c.holds) return `\`${text(e)}\``;
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) return `\`${text(e.operand)}\``;
  if (ts.isBinaryExpression(e)) {
    const swap: Partial<Record<ts.SyntaxKind, string>> = {
      [ts.SyntaxKind.EqualsEqualsEqualsToken]: '!==',
      [ts.SyntaxKind.ExclamationEqualsEqualsToken]: '===',
      [ts.SyntaxKind.EqualsEqualsToken]: '!=',
      [ts.SyntaxKind.ExclamationEqualsToken]: '==',
    };
    const op = swap[e.operatorToken.kind];
    if (op) return `\`${text(e.left)} ${op} ${text(e.right)}\``;
  }
  return ts.isIdentifier(e) || ts.isPropertyAccessExpression(e) || ts.isCallExpression(e) ? `\`!${text(e)}\`` : `\`!(${text(e)})\``;
}

/** Words for an environment test: "only when NODE_ENV is development" or "whenever NODE_ENV is not 'production' (also when it is unset)". */
export function environmentText(t: EnvironmentTest): string {
  if (t.when === 'production') return 'only in production';
  return t.failOpen ? "whenever NODE_ENV is not 'production' (also when it is unset)" : 'only when NODE_ENV is development';
}
