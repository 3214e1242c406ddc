import ts from '../typescript.cjs';
import type { AnalysisContext } from '../audit/engine/analysis-context.js';
import { LONG_LIFETIME_MS, NON_SENSITIVE_COOKIE_NAME, SENSITIVE_COOKIE_NAME, calleeName, capitalise, unwrap } from '../audit/engine/ast.js';
import { conditionText, developmentOnly } from '../audit/engine/conditions.js';
import type { Rule } from './rule.js';
import { MIGRATION_GUIDE, docUrl } from './guides.js';

/*
 * KW002: cookie and session options that expose a session cookie: flags disabled or missing,
 * long lifetimes, default names, an unsigned client-side session, the in-memory store. Options
 * assigned after the object literal (`opts.cookie.secure = false`) count; a flag whose value is a
 * condition (`secure: isProd`) is fine; a conditional spread is judged on both branches (fine when
 * only a development branch lacks the flag, "disabled when <condition>" otherwise).
 */

type Flag = 'httpOnly' | 'secure' | 'sameSite';
type FlagState = 'ok' | 'missing' | 'off' | 'none';

const FLAG_DAMAGE: Record<Flag, string> = {
  httpOnly: 'any script in the page (XSS) can read it',
  secure: 'it is sent over plain HTTP',
  sameSite: 'other sites can send it with cross-site requests',
};

/**
 * Flags of one cookie (res.cookie options, express-session `cookie`, cookie-session options).
 * A conditional spread (`...(prod ? { secure: true } : {})`) is judged on both branches: a flag
 * that is off or missing only on a branch that runs outside production is fine (as `secure: isProd`
 * is); on any other condition it is reported as disabled when that condition holds.
 */
function checkCookieFlags(ctx: AnalysisContext,
  opts: ts.ObjectLiteralExpression,
  at: ts.Node,
  label: string,
  defaults: { httpOnlyDefault: boolean; secureDefault: boolean; requireMaxAge: boolean },
): void {
  const missing: string[] = [];
  const node = (p: ts.Expression | ts.ShorthandPropertyAssignment): ts.Node => (ts.isShorthandPropertyAssignment(p) ? p : p.parent && ts.isPropertyAssignment(p.parent) ? p.parent : p);
  const value = (p: ts.Expression | ts.ShorthandPropertyAssignment): ReturnType<AnalysisContext['constValue']> =>
    ts.isShorthandPropertyAssignment(p) ? ctx.constValue(p.name) : ctx.constValue(p);
  const stateOf = (flag: Flag, v: ts.Expression | ts.ShorthandPropertyAssignment | undefined): FlagState => {
    if (v === undefined) return flag === 'httpOnly' ? (defaults.httpOnlyDefault ? 'ok' : 'missing') : flag === 'secure' ? (defaults.secureDefault ? 'ok' : 'missing') : 'missing';
    const c = value(v);
    if (flag === 'sameSite') return typeof c === 'string' && c.toLowerCase() === 'none' ? 'none' : c === false ? 'off' : 'ok';
    return c === false ? 'off' : 'ok';
  };
  /** The finding for one flag in one state, as if it were unconditional. */
  const reportState = (flag: Flag, state: FlagState, v: ts.Expression | ts.ShorthandPropertyAssignment | undefined): void => {
    if (state === 'missing') {
      if (!missing.includes(flag)) missing.push(flag);
    } else if (v === undefined) {
      return;
    } else if (flag === 'httpOnly' && state === 'off') {
      ctx.report('KW002', 'medium', node(v), `\`httpOnly: false\` on ${label}: any script in the page (XSS) can read it`);
    } else if (flag === 'secure' && state === 'off') {
      ctx.report('KW002', 'medium', node(v), `\`secure: false\` on ${label}: it is sent over plain HTTP; use \`secure: true\` (or \`secure: isProd\`)`);
    } else if (flag === 'sameSite' && state === 'none') {
      ctx.report('KW002', 'medium', node(v), `\`sameSite: 'none'\` on ${label}: other sites can send it with cross-site requests; use 'lax' or 'strict' unless a cross-site flow needs it`);
    } else if (flag === 'sameSite' && state === 'off') {
      ctx.report('KW002', 'low', node(v), `\`sameSite: false\` on ${label}: no SameSite protection`);
    }
  };
  for (const flag of ['httpOnly', 'secure', 'sameSite'] as const) {
    const alts = ctx.propertyAlternatives(opts, flag).map((a) => ({ ...a, state: stateOf(flag, a.value) }));
    const bad = alts.filter((a) => a.state !== 'ok');
    if (bad.length === 0) continue;
    if (bad.length === alts.length) {
      for (const a of bad) reportState(flag, a.state, a.value);
      continue;
    }
    // on some branches only
    for (const a of bad) {
      if (developmentOnly(ctx, a.conds)) continue;
      const when = a.conds.map((c) => conditionText(c)).join(' and ');
      const how = a.state === 'missing' ? 'missing' : a.state === 'none' ? "`'none'`" : '`false`';
      const severity = flag === 'sameSite' && a.state !== 'none' ? 'low' : 'medium';
      ctx.report('KW002', severity, a.at ?? at, `\`${flag}\` is disabled on ${label} when ${when} (${how} on that branch): ${FLAG_DAMAGE[flag]}; set it on every branch, or make only development differ`);
    }
  }
  const ages = [...ctx.propertyAlternatives(opts, 'maxAge'), ...ctx.propertyAlternatives(opts, 'expires')];
  if (ages.every((a) => a.value === undefined)) {
    if (defaults.requireMaxAge) missing.push('maxAge');
  } else {
    for (const a of ages) {
      if (a.value === undefined) continue;
      const v = value(a.value);
      if (typeof v === 'number' && v > LONG_LIFETIME_MS) {
        ctx.report('KW002', 'low', node(a.value), `${capitalise(label)} lives ${Math.round(v / 86_400_000)} days: a stolen cookie stays useful that long; keep sessions short (hours) and renew them`);
      }
    }
  }
  if (missing.length > 0) {
    ctx.report('KW002', missing.includes('httpOnly') || missing.includes('secure') ? 'medium' : 'low', at, `${capitalise(label)} is missing ${missing.map((m) => `\`${m}\``).join(', ')}`);
  }
}

/** `res.cookie(name, value, opts)` and `Set-Cookie` headers of cookies that look like sessions or hold a key. */
function checkCookieWrite(ctx: AnalysisContext, call: ts.CallExpression): void {
  const w = ctx.cookieWriteOf(call);
  if (!w) return;
  const t = ctx.sinkTaint(w.valueArg, 'provider-token');
  if (w.header) {
    // a raw Set-Cookie header: read its attributes from the literal parts (any token makes it sensitive)
    if (!w.valueArg || !(t ?? ctx.sinkTaint(w.valueArg, 'readable-cookie'))) return;
    const e = unwrap(w.valueArg);
    const text = ts.isTemplateExpression(e) ? e.head.text + e.templateSpans.map((s) => s.literal.text).join('') : ts.isStringLiteralLike(e) ? e.text : undefined;
    if (text === undefined) return;
    const missing = ['HttpOnly', 'Secure', 'SameSite'].filter((a) => !new RegExp(`;\\s*${a}`, 'i').test(text));
    if (missing.length > 0) ctx.report('KW002', missing.includes('HttpOnly') || missing.includes('Secure') ? 'medium' : 'low', call, `Set-Cookie header without ${missing.join(', ')}`);
    return;
  }
  if (w.nameArg === undefined) return;
  const valueIsJwt = w.valueArg !== undefined && ctx.isJwtValue(w.valueArg);
  const sensitive = t !== undefined || valueIsJwt || (w.cookieName !== undefined && SENSITIVE_COOKIE_NAME.test(w.cookieName) && !NON_SENSITIVE_COOKIE_NAME.test(w.cookieName));
  if (!sensitive) return;
  const opts = ctx.objectLiteralOf(w.optsArg);
  if (!opts) {
    if (w.optsArg === undefined) {
      ctx.report('KW002', 'medium', call, `Sensitive ${w.label} is set without options: not HttpOnly, not Secure, no SameSite, no maxAge`);
    }
    return;
  }
  checkCookieFlags(ctx, opts, call, w.label, { httpOnlyDefault: false, secureDefault: false, requireMaxAge: false });
}

/** A value that is truthy when it is a constant: `true`, `'true'`, `1`. */
function isOn(v: ReturnType<AnalysisContext['constValue']>): boolean {
  return v === true || v === 'true' || v === 1;
}

function checkSessionMiddleware(ctx: AnalysisContext, call: ts.CallExpression): void {
  const session = ctx.sessionMiddlewareOf(call);
  if (!session) return;
  const { lib, opts } = session;
  const at: ts.Node = call;
  // express-session's old `key` option names the cookie too
  const cookieNameProp = lib === 'secure-session' ? 'cookieName' : lib === 'express-session' && ctx.property(opts, 'name') === undefined && ctx.property(opts, 'key') !== undefined ? 'key' : 'name';
  const cookieName = ctx.constValue(ctx.propertyValue(opts, cookieNameProp));
  const defaultName = lib === 'express-session' ? 'connect.sid' : lib === 'fastify-session' ? 'sessionId' : 'session';
  if (cookieName === undefined && ctx.property(opts, cookieNameProp) === undefined) {
    ctx.report('KW002', 'low', at, `Session cookie uses the default name \`${defaultName}\`, which fingerprints the framework; set \`${cookieNameProp}\` (e.g. '__Host-sid')`);
  } else if (cookieName === defaultName) {
    ctx.report('KW002', 'low', ctx.property(opts, cookieNameProp)!.parent ?? at, `Session cookie uses the default name \`${defaultName}\`; use a custom name (e.g. '__Host-sid')`);
  }
  const cookieOptions = (): ts.ObjectLiteralExpression | undefined => ctx.objectLiteralOf(ctx.assignedOption(opts, ['cookie']) ?? ctx.propertyValue(opts, 'cookie'));
  if (lib === 'express-session' || lib === 'fastify-session') {
    const store = ctx.propertyValue(opts, 'store');
    if (store === undefined) {
      ctx.report('KW002', 'medium', at, 'Session has no `store`: the default MemoryStore leaks memory, loses sessions on restart and is not meant for production; use Redis');
    } else if (ts.isNewExpression(unwrap(store)) && /MemoryStore$/.test(calleeName(unwrap(store) as ts.NewExpression) ?? '')) {
      ctx.report('KW002', 'medium', store, 'Session uses `MemoryStore`, which is not meant for production; use Redis');
    }
    const saveUninit = ctx.propertyValue(opts, 'saveUninitialized');
    if (saveUninit && isOn(ctx.constValue(saveUninit))) {
      ctx.report('KW002', 'low', saveUninit.parent, '`saveUninitialized: true` creates and stores a session (and sets a cookie) for every anonymous request; set it to false');
    }
    const resave = ctx.propertyValue(opts, 'resave');
    if (resave && isOn(ctx.constValue(resave))) {
      ctx.report('KW002', 'low', resave.parent, '`resave: true` rewrites the session on every request and loses concurrent updates; set it to false');
    }
    const cookie = cookieOptions();
    if (cookie) checkCookieFlags(ctx, cookie, ctx.property(opts, 'cookie')?.parent ?? at, 'the session cookie', { httpOnlyDefault: true, secureDefault: false, requireMaxAge: true });
    else ctx.report('KW002', 'low', at, 'Session cookie options are not set: `secure` defaults to false, no SameSite, no maxAge');
  } else if (lib === 'cookie-session') {
    const signed = ctx.propertyValue(opts, 'signed');
    if (signed && ctx.constValue(signed) === false) {
      ctx.report('KW002', 'medium', signed.parent, '`signed: false` on a client-side session: the browser can rewrite the session (and any key in it) at will; sign it with `keys`, or keep the session on the server');
    }
    checkCookieFlags(ctx, opts, at, 'the session cookie', { httpOnlyDefault: true, secureDefault: false, requireMaxAge: true });
  } else if (lib === 'secure-session') {
    const cookie = cookieOptions();
    if (cookie) checkCookieFlags(ctx, cookie, ctx.property(opts, 'cookie')?.parent ?? at, 'the session cookie', { httpOnlyDefault: true, secureDefault: false, requireMaxAge: true });
    else ctx.report('KW002', 'low', at, 'Session cookie options are not set: `secure` defaults to false, no SameSite, no maxAge');
  }
}

export const insecureCookieOptions: Rule = {
  meta: {
  id: 'KW002',
  name: 'insecure-cookie-options',
  severity: 'medium',
  title: 'Insecure session or cookie options',
  why:
    'Without HttpOnly, any script injected into the page reads the cookie; without Secure it ' +
    'crosses the network in clear text; SameSite=None lets other sites send it; a long or missing ' +
    'lifetime keeps a stolen cookie useful; the default cookie name tells an attacker which ' +
    'framework to target; saveUninitialized creates sessions for every anonymous request; the ' +
    'in-memory store loses sessions on restart and leaks memory under load.',
  fix:
    'Set httpOnly: true, secure: true in production (or `secure: isProd`), sameSite: "lax" or ' +
    '"strict", a short maxAge, a custom cookie name (`__Host-` prefix with path "/"), ' +
    'resave: false, saveUninitialized: false and a real store such as Redis. @keyward/nest does ' +
    'all of this by default: `KeywardModule.forRoot({ session: { secrets, store, cookie } })` sets a ' +
    '`__Host-sid` cookie, HttpOnly, Secure, SameSite=Strict, Path=/, with idle and absolute timeouts ' +
    '(`idleTimeoutMs`, `absoluteTimeoutMs`) enforced on the server and a `RedisStore` or `SqliteStore`; ' +
    'in production it refuses to start with an insecure setting. Moving from express-session: see ' +
    'the migration guide.',
  example: [
    "import { KeywardModule, RedisStore } from '@keyward/nest';",
    'KeywardModule.forRoot({',
    '  session: {',
    "    secrets: config.getOrThrow<string>('KEYWARD_SESSION_SECRETS').split(','),",
    "    store: new RedisStore({ url: config.getOrThrow<string>('REDIS_URL') }),",
    "    cookie: { sameSite: 'lax' },          // __Host-sid, HttpOnly, Secure, Path=/ by default",
    '    idleTimeoutMs: 30 * 60_000,           // 30 min idle',
    '    absoluteTimeoutMs: 12 * 3_600_000,    // 12 h at most',
    '  },',
    '});',
  ].join('\n'),
  guide: MIGRATION_GUIDE,
  sources: ['audit', 'probe'],
},
  visit(node, ctx) {
    if (!ts.isCallExpression(node)) return;
    checkCookieWrite(ctx, node);
    checkSessionMiddleware(ctx, node);
  },
};
