import ts from '../typescript.cjs';
import type { AnalysisContext, LiteralCandidate } from '../audit/engine/analysis-context.js';
import { COOKIE_PARSER_MODULES, SIGNING_SECRET_OPTIONS, calleeName, fallbackMatters, isPlaceholderKeyword, objectName, propertyNameText, unwrap } from '../audit/engine/ast.js';
import { isSecretConfigName, isSecretName, looksLikeProse, looksRandom, maskSecret, matchProvider } from '../secrets/secret-detector.js';
import { isWellKnownWeakSecret } from '../secrets/weak-secrets.js';
import type { Rule } from './rule.js';
import { MIGRATION_GUIDE, docUrl } from './guides.js';

/* KW003: a literal signing secret or key in the source, or a literal fallback for one. */

/** A value used as a signing secret (`secret`, `keys`, `cookieParser(x)`, `jwt.sign(p, x)`): no literal may reach it. */
function checkSigningSecret(ctx: AnalysisContext, value: ts.Expression | undefined, where: string, libraryOption = false): void {
  for (const c of ctx.literalCandidates(value)) {
    if (isPlaceholderKeyword(c.node.text)) continue;
    // a literal that goes straight into a library's signing option is judged even when it reads like prose
    // (an object that merely has a `secret` key, such as a table of hints, is not such an option)
    const direct = libraryOption && value !== undefined && unwrap(value) === c.node;
    if (!direct && looksLikeProse(c.node.text) && !isWellKnownWeakSecret(c.node.text)) continue;
    reportLiteralSecret(ctx, c, where);
  }
}

function reportLiteralSecret(ctx: AnalysisContext, c: LiteralCandidate, where: string): void {
  const value = c.node.text;
  if (ctx.isRejectedAtRuntime(c)) return;
  const weak = isWellKnownWeakSecret(value);
  const masked = maskSecret(value);
  const what = c.fallbackFor
    ? `literal fallback for \`${c.fallbackFor}\` used as ${where}${weak ? ' (a well-known weak secret)' : ''}: when the variable is missing, production runs with a public value`
    : `hard-coded secret used as ${where}${weak ? ' (a well-known weak secret)' : ''}`;
  ctx.report('KW003', 'high', c.node, what.charAt(0).toUpperCase() + what.slice(1), masked, [c.node]);
}

/** `const API_KEY = 'sk_live_…'`, `password: 'hunter2…'`: a literal assigned to a secret-like name. */
function checkNamedLiteral(ctx: AnalysisContext, name: string, value: ts.Expression): void {
  if (!isSecretName(name, true)) return;
  const init = unwrap(value);
  // direct literal
  if (ts.isStringLiteralLike(init)) {
    const v = init.text;
    if (v.length === 0 || isPlaceholderKeyword(v)) return;
    if (matchProvider(v)) return; // reported by checkProviderLiteral
    if (isWellKnownWeakSecret(v) || looksRandom(v)) reportLiteralSecret(ctx, { node: init }, `\`${name}\``);
    return;
  }
  // fallbacks: process.env.X || 'literal'
  for (const c of ctx.literalCandidates(value)) {
    if (c.fallbackFor && fallbackMatters(c.fallbackFor, c.node.text) && !matchProvider(c.node.text)) reportLiteralSecret(ctx, c, `\`${name}\``);
  }
}

/** `process.env.SESSION_SECRET || 'literal'` anywhere, when the variable names a secret. */
function checkFallback(ctx: AnalysisContext, node: ts.BinaryExpression): void {
  const source = ctx.configReadName(node.left);
  if (!source || !isSecretConfigName(source)) return;
  for (const c of ctx.literalCandidates(node.right, 0, source)) {
    if (fallbackMatters(source, c.node.text)) reportLiteralSecret(ctx, c, `\`${source}\``);
  }
}

function checkConditionalFallback(ctx: AnalysisContext, node: ts.ConditionalExpression): void {
  const cond = unwrap(node.condition);
  const source = ctx.configReadName(cond);
  if (!source || !isSecretConfigName(source)) return;
  for (const c of ctx.literalCandidates(node.whenFalse, 0, source)) {
    if (fallbackMatters(source, c.node.text)) reportLiteralSecret(ctx, c, `\`${source}\``);
  }
}

/** A provider key anywhere in the source. */
function checkProviderLiteral(ctx: AnalysisContext, node: ts.StringLiteralLike): void {
  if (ts.isImportDeclaration(node.parent) || ts.isExternalModuleReference(node.parent)) return;
  const provider = matchProvider(node.text);
  if (!provider) return;
  ctx.report('KW003', 'high', node, `Hard-coded ${provider} in source`, maskSecret(node.text), [node]);
}

/** Secrets given to session, cookie-parser and JWT libraries as arguments or options. */
function checkLibrarySecrets(ctx: AnalysisContext, call: ts.CallExpression): void {
  const name = calleeName(call);
  if (name === 'register' && call.arguments.length >= 1) {
    const mod = ctx.importSource(call.arguments[0]!, isCookieParserModule);
    if (mod && COOKIE_PARSER_MODULES.has(mod)) {
      const secret = ctx.propertyValue(ctx.objectLiteralOf(call.arguments[1]), 'secret');
      if (secret) checkSigningSecret(ctx, secret, 'the @fastify/cookie secret', true);
      return;
    }
  } else if (!ctx.sessionLibOf(call)) {
    const mod = ctx.importSource(call.expression, isCookieParserModule);
    if (mod && COOKIE_PARSER_MODULES.has(mod) && call.arguments[0]) checkSigningSecret(ctx, call.arguments[0], 'the cookie-parser secret', true);
    if ((name === 'sign' || name === 'verify') && ts.isPropertyAccessExpression(unwrap(call.expression))) {
      const obj = objectName((unwrap(call.expression) as ts.PropertyAccessExpression).expression) ?? '';
      if (/^(?:jwt|jsonwebtoken|jose)$/i.test(obj) || ctx.importSource((unwrap(call.expression) as ts.PropertyAccessExpression).expression, (m) => m === 'jsonwebtoken') === 'jsonwebtoken') {
        const secretArg = call.arguments[1];
        if (secretArg && !ts.isObjectLiteralExpression(unwrap(secretArg))) checkSigningSecret(ctx, secretArg, 'the JWT signing secret', true);
      }
    }
    return;
  }
  const session = ctx.sessionMiddlewareOf(call);
  if (!session) return;
  const { lib, opts } = session;
  // the signing secret, also when the options object lives in a file that is not analysed
  for (const secretProp of ['secret', 'keys']) {
    const v = ctx.propertyValue(opts, secretProp);
    if (v) checkSigningSecret(ctx, v, `\`${secretProp}\` option`, true);
  }
  if (lib === 'secure-session') {
    const key = ctx.propertyValue(opts, 'key');
    if (key) checkSigningSecret(ctx, key, 'the secure-session key', true);
    const salt = ctx.propertyValue(opts, 'salt');
    const secret = ctx.propertyValue(opts, 'secret');
    if (secret && salt) {
      // the pair from the docs is public
      for (const c of ctx.literalCandidates(salt)) if (isWellKnownWeakSecret(c.node.text)) reportLiteralSecret(ctx, c, 'the secure-session salt');
    }
  }
}

export const hardcodedOrFallbackSecret: Rule = {
  meta: {
  id: 'KW003',
  name: 'hardcoded-or-fallback-secret',
  severity: 'high',
  title: 'Hard-coded secret or literal fallback for a secret',
  why:
    'A secret in the source is in every clone, build artefact and CI log. A fallback such as ' +
    "`process.env.SESSION_SECRET || 'change-this-to-a-secure-random-value'` silently runs " +
    'production with a public value when the variable is missing: anyone can then forge signed ' +
    'session cookies. Well-known placeholders (keyboard cat, my-secret, the docs\' values) are ' +
    'the first values an attacker tries.',
  fix:
    'Read the secret from the environment or a secret manager and fail at startup when it is ' +
    'missing or weak; rotate any key that was ever committed. @keyward/nest does the startup check: ' +
    '`KeywardModule.forRoot({ session: { secrets } })` refuses a missing, placeholder or weak secret in ' +
    'production (`secretWeakness` says why), takes a ring of secrets (newest first) so they rotate ' +
    "without logging users out, and reads an upstream's key from the environment or a mounted secret " +
    'file with a `ServerKeyProvider`, never from the source.',
  example: [
    "import { KeywardModule, RedisStore, ServerKeyProvider } from '@keyward/nest';",
    'KeywardModule.forRootAsync({',
    '  imports: [ConfigModule],',
    '  inject: [ConfigService],',
    '  useFactory: (config: ConfigService) => ({',
    '    session: {',
    "      secrets: config.getOrThrow<string>('KEYWARD_SESSION_SECRETS').split(','), // refused when weak",
    "      store: new RedisStore({ url: config.getOrThrow<string>('REDIS_URL') }),",
    '    },',
    "    credentials: { partner: new ServerKeyProvider({ env: 'PARTNER_API_KEY' }) },",
    '  }),',
    '});',
  ].join('\n'),
  guide: docUrl('packages/nest/README.md', 'async-configuration'),
  sources: ['audit', 'probe'],
},
  visit(node, ctx) {
    if (ts.isCallExpression(node)) {
      checkLibrarySecrets(ctx, node);
    } else if (ts.isBinaryExpression(node)) {
      if (node.operatorToken.kind === ts.SyntaxKind.BarBarToken || node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) checkFallback(ctx, node);
      if (node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(node.left)) checkNamedLiteral(ctx, node.left.name.text, node.right);
    } else if (ts.isConditionalExpression(node)) {
      checkConditionalFallback(ctx, node);
    } else if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      checkNamedLiteral(ctx, node.name.text, node.initializer);
    } else if (ts.isPropertyAssignment(node)) {
      const name = propertyNameText(node.name);
      if (name) {
        if (SIGNING_SECRET_OPTIONS.has(name)) checkSigningSecret(ctx, node.initializer, `\`${name}\` option`);
        else checkNamedLiteral(ctx, name, node.initializer);
      }
    } else if (ts.isPropertyDeclaration(node) && node.initializer) {
      const name = propertyNameText(node.name);
      if (name) checkNamedLiteral(ctx, name, node.initializer);
    } else if (ts.isStringLiteralLike(node)) {
      checkProviderLiteral(ctx, node);
    }
  },
};

function isCookieParserModule(mod: string): boolean {
  return COOKIE_PARSER_MODULES.has(mod);
}
