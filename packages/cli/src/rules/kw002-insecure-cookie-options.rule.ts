import ts from 'typescript5';
import type { AnalysisContext } from '../audit/engine/analysis-context.js';
import { LONG_LIFETIME_MS, NON_SENSITIVE_COOKIE_NAME, SENSITIVE_COOKIE_NAME, calleeName, capitalise, unwrap } from '../audit/engine/ast.js';
import type { Rule } from './rule.js';

/*
 * KW002: cookie and session options that expose a session cookie: flags disabled or missing,
 * long lifetimes, default names, an unsigned client-side session, the in-memory store. Options
 * assigned after the object literal (`opts.cookie.secure = false`) count; a flag whose value is a
 * condition (`secure: isProd`) is fine; a conditional spread is judged on both branches.
 */

/** Flags of one cookie (res.cookie options, express-session `cookie`, cookie-session options). */
function checkCookieFlags(ctx: AnalysisContext, 
  opts: ts.ObjectLiteralExpression,
  at: ts.Node,
  label: string,
  defaults: { httpOnlyDefault: boolean; secureDefault: boolean; requireMaxAge: boolean },
): void {
  const missing: string[] = [];
  const httpOnly = ctx.property(opts, 'httpOnly');
  const secure = ctx.property(opts, 'secure');
  const sameSite = ctx.property(opts, 'sameSite');
  const maxAgeNode = ctx.property(opts, 'maxAge') ?? ctx.property(opts, 'expires');
  const node = (p: ts.Expression | ts.ShorthandPropertyAssignment): ts.Node => (ts.isShorthandPropertyAssignment(p) ? p : p.parent && ts.isPropertyAssignment(p.parent) ? p.parent : p);
  const value = (p: ts.Expression | ts.ShorthandPropertyAssignment): ReturnType<AnalysisContext['constValue']> =>
    ts.isShorthandPropertyAssignment(p) ? ctx.constValue(p.name) : ctx.constValue(p);
  if (httpOnly === undefined) {
    if (!defaults.httpOnlyDefault) missing.push('httpOnly');
  } else if (value(httpOnly) === false) {
    ctx.report('KW002', 'medium', node(httpOnly), `\`httpOnly: false\` on ${label}: any script in the page (XSS) can read it`);
  }
  if (secure === undefined) {
    if (!defaults.secureDefault) missing.push('secure');
  } else if (value(secure) === false) {
    ctx.report('KW002', 'medium', node(secure), `\`secure: false\` on ${label}: it is sent over plain HTTP; use \`secure: true\` (or \`secure: isProd\`)`);
  }
  if (sameSite === undefined) missing.push('sameSite');
  else {
    const v = value(sameSite);
    if (typeof v === 'string' && v.toLowerCase() === 'none') {
      ctx.report('KW002', 'medium', node(sameSite), `\`sameSite: 'none'\` on ${label}: other sites can send it with cross-site requests; use 'lax' or 'strict' unless a cross-site flow needs it`);
    } else if (v === false) {
      ctx.report('KW002', 'low', node(sameSite), `\`sameSite: false\` on ${label}: no SameSite protection`);
    }
  }
  if (maxAgeNode === undefined) {
    if (defaults.requireMaxAge) missing.push('maxAge');
  } else if (!ts.isShorthandPropertyAssignment(maxAgeNode) || true) {
    const v = value(maxAgeNode);
    if (typeof v === 'number' && v > LONG_LIFETIME_MS) {
      ctx.report('KW002', 'low', node(maxAgeNode), `${capitalise(label)} lives ${Math.round(v / 86_400_000)} days: a stolen cookie stays useful that long; keep sessions short (hours) and renew them`);
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
    // a raw Set-Cookie header: read its attributes from the literal parts
    if (!t || !w.valueArg) return;
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
    'resave: false, saveUninitialized: false and a real store such as Redis.',
  example: [
    'const isProd = config.get(\'NODE_ENV\') === \'production\';',
    'app.use(session({',
    "  name: '__Host-sid', store: new RedisStore({ client: redis }),",
    "  secret: config.getOrThrow('SESSION_SECRET'), resave: false, saveUninitialized: false,",
    "  cookie: { httpOnly: true, secure: isProd, sameSite: 'lax', maxAge: 30 * 60_000, path: '/' },",
    '}));',
  ].join('\n'),
  sources: ['audit', 'probe'],
},
  visit(node, ctx) {
    if (!ts.isCallExpression(node)) return;
    checkCookieWrite(ctx, node);
    checkSessionMiddleware(ctx, node);
  },
};
