import ts from 'typescript5';
import {
  addProperties,
  memberName,
  moduleOfExpression,
  nodeAt,
  objectLiteralIn,
  ownProperty,
  quoted,
  styleOf,
  unwrapExpression,
  type FileStyle,
} from './fix-syntax.js';
import type { FixableFinding, PlannedFix } from './fix-planner.js';
import type { TextEdit } from './text-edit.js';

/*
 * KW002 fixes: the cookie flags a finding names (`httpOnly`, `secure`, `sameSite`) are set to their
 * safe values on the cookie the finding is about: a flag that is off (`false`, `'none'`) is turned
 * on, a missing one is added, an options object that is missing is created. The object is found
 * from the finding's position in the file's syntax tree: a flag property, a conditional spread in
 * an options object, the `cookie` option of a session middleware, or the call that writes the
 * cookie or installs the middleware.
 */

type Flag = 'httpOnly' | 'secure' | 'sameSite';
const FLAGS: readonly Flag[] = ['httpOnly', 'secure', 'sameSite'];
/** Attribute names of a raw Set-Cookie header. */
const HEADER_ATTRIBUTE: Record<Flag, string> = { httpOnly: 'HttpOnly', secure: 'Secure', sameSite: 'SameSite' };

/** Session middleware packages, by where their cookie flags go: in a `cookie` option, in `parseOptions`, or in the options themselves. */
const COOKIE_OPTION_MODULES = new Set(['express-session', '@fastify/session', 'fastify-session', '@mgcrea/fastify-session', '@fastify/secure-session', 'fastify-secure-session']);
const PARSE_OPTIONS_MODULES = new Set(['@fastify/cookie', 'fastify-cookie']);
const FLAT_OPTIONS_MODULES = new Set(['cookie-session', 'client-sessions']);
/** Options that hold a cookie's options in a session middleware's options. */
const COOKIE_HOLDERS = new Set(['cookie', 'parseOptions', 'cookieOptions']);

/** Flags a finding's message names (a finding about the store or the lifetime names none: no fix). */
function flagsOf(message: string): Flag[] {
  return FLAGS.filter((f) => new RegExp(`\\b${f}\\b`, 'i').test(message));
}

/** `'strict'` when the finding asks for it (and not for lax), else `'lax'`. */
function sameSiteValue(message: string): 'lax' | 'strict' {
  return /\bstrict\b/i.test(message) && !/\blax\b/i.test(message) ? 'strict' : 'lax';
}

interface Wanted {
  flags: Flag[];
  sameSite: 'lax' | 'strict';
  style: FileStyle;
  /** The value lands in an object whose type TypeScript widens (`const opts = { ... }`): write `'lax' as const`. */
  asConst?: boolean;
}

function safeValue(flag: Flag, w: Wanted): string {
  return flag === 'sameSite' ? `${quoted(w.sameSite, w.style)}${w.asConst ? ' as const' : ''}` : 'true';
}

/**
 * True when TypeScript infers an object literal's type from the literal alone, so `sameSite: 'lax'`
 * would become `string` and no longer fit the library's cookie options: the value of an untyped
 * variable, class field or return (possibly nested in such an object). An argument or a typed
 * variable gets its type from the context; JavaScript (or a file not named .ts) gets no `as const`.
 */
function widens(sf: ts.SourceFile, obj: ts.ObjectLiteralExpression): boolean {
  if (!/\.[cm]?tsx?$/.test(sf.fileName)) return false;
  let n: ts.Node = obj;
  for (;;) {
    const p = n.parent;
    if (!p) return false;
    if (ts.isParenthesizedExpression(p) || (ts.isPropertyAssignment(p) && p.initializer === n)) {
      n = p;
      continue;
    }
    if (ts.isObjectLiteralExpression(p)) {
      n = p;
      continue;
    }
    if (ts.isVariableDeclaration(p) || ts.isPropertyDeclaration(p)) return p.type === undefined;
    if (ts.isReturnStatement(p) || (ts.isArrowFunction(p) && p.body === n)) return ts.findAncestor(p, ts.isFunctionLike)?.type === undefined;
    return false;
  }
}

/** True when a flag's value is off: `false`, `'none'` for sameSite, or a variable of this file that holds one. */
function isOff(sf: ts.SourceFile, flag: Flag, value: ts.Expression, depth = 0): boolean {
  const e = unwrapExpression(value);
  if (e.kind === ts.SyntaxKind.FalseKeyword) return true;
  if (flag === 'sameSite' && ts.isStringLiteralLike(e)) return e.text.toLowerCase() === 'none';
  if (ts.isIdentifier(e) && depth < 3) {
    let init: ts.Expression | undefined;
    let count = 0;
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === e.text) {
        count++;
        init = n.initializer;
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    return count === 1 && init !== undefined && isOff(sf, flag, init, depth + 1);
  }
  return false;
}

/** `true`, `'lax'`: a literal whose text can be copied. */
function isLiteral(e: ts.Expression): boolean {
  const x = unwrapExpression(e);
  return x.kind === ts.SyntaxKind.TrueKeyword || ts.isStringLiteralLike(x);
}

/** The edit that sets one flag property to its safe value. */
function setProperty(sf: ts.SourceFile, p: ts.PropertyAssignment | ts.ShorthandPropertyAssignment, flag: Flag, w: Wanted): TextEdit {
  if (ts.isShorthandPropertyAssignment(p)) return { start: p.getStart(sf), end: p.getEnd(), text: `${flag}: ${safeValue(flag, w)}` };
  const init = p.initializer;
  // `'none' as const`: replace the value, keep the assertion
  if (ts.isAsExpression(init) && init.type.getText(sf) === 'const') return { start: init.expression.getStart(sf), end: init.expression.getEnd(), text: safeValue(flag, { ...w, asConst: false }) };
  return { start: init.getStart(sf), end: init.getEnd(), text: safeValue(flag, w) };
}

/** Object literals a spread element can contribute (`...(c ? { a } : {})`, `...(c && { a })`, `...{ a }`). */
function spreadBranches(e: ts.Expression): ts.ObjectLiteralExpression[] {
  const x = unwrapExpression(e);
  if (ts.isObjectLiteralExpression(x)) return [x];
  if (ts.isConditionalExpression(x)) return [...spreadBranches(x.whenTrue), ...spreadBranches(x.whenFalse)];
  if (ts.isBinaryExpression(x) && (x.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken || x.operatorToken.kind === ts.SyntaxKind.BarBarToken || x.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)) {
    return spreadBranches(x.right);
  }
  return [];
}

/**
 * Edits that make the named flags safe in one options object: off values (also on the branches of
 * conditional spreads after the flag) turned on, missing flags added (before the spreads, which
 * may still set them, or at the end).
 */
function fixOptionsObject(sf: ts.SourceFile, obj: ts.ObjectLiteralExpression, wanted: Wanted): TextEdit[] {
  const w: Wanted = { ...wanted, style: { ...wanted.style, quote: quoteInside(sf, obj) ?? wanted.style.quote }, asConst: widens(sf, obj) };
  const edits: TextEdit[] = [];
  const missing: string[] = [];
  for (const flag of w.flags) {
    const own = ownProperty(obj, flag);
    const ownIndex = own ? obj.properties.indexOf(own) : -1;
    if (own && (ts.isShorthandPropertyAssignment(own) ? isOff(sf, flag, own.name) : isOff(sf, flag, own.initializer))) edits.push(setProperty(sf, own, flag, w));
    // spreads after the flag's own property decide on their branches; a branch that turns the flag
    // off gets the object's own safe value when it has one (`sameSite: 'strict'` stays strict)
    const ownSafe = own && ts.isPropertyAssignment(own) && !isOff(sf, flag, own.initializer) && isLiteral(own.initializer) ? own.initializer.getText(sf) : undefined;
    obj.properties.forEach((p, i) => {
      if (i < ownIndex || !ts.isSpreadAssignment(p)) return;
      for (const branch of spreadBranches(p.expression)) {
        const q = ownProperty(branch, flag);
        if (!q || !(ts.isShorthandPropertyAssignment(q) ? isOff(sf, flag, q.name) : isOff(sf, flag, q.initializer))) continue;
        const edit = setProperty(sf, q, flag, w);
        edits.push(ownSafe === undefined ? edit : ts.isShorthandPropertyAssignment(q) ? { ...edit, text: `${flag}: ${ownSafe}` } : { ...edit, text: ownSafe });
      }
    });
    if (!own) missing.push(`${flag}: ${safeValue(flag, w)}`);
  }
  if (missing.length > 0) edits.push(...addProperties(sf, obj, missing, obj.properties.some((p) => ts.isSpreadAssignment(p))));
  return edits;
}

/** The quote of the first string literal in an object's own properties, if any (an object may differ from its file). */
function quoteInside(sf: ts.SourceFile, obj: ts.ObjectLiteralExpression): "'" | '"' | undefined {
  for (const p of obj.properties) {
    if (!ts.isPropertyAssignment(p)) continue;
    const v = unwrapExpression(p.initializer);
    if (ts.isStringLiteral(v)) return sf.text.charAt(v.getStart(sf)) === '"' ? '"' : "'";
  }
  return undefined;
}

/** A new options object with the named flags. */
function newOptions(w: Wanted): string {
  return `{ ${w.flags.map((f) => `${f}: ${safeValue(f, w)}`).join(', ')} }`;
}

/** Appends the missing attributes to a Set-Cookie header written as a literal or a template. */
function fixHeaderValue(sf: ts.SourceFile, value: ts.Expression, w: Wanted): TextEdit[] {
  const e = unwrapExpression(value);
  if (ts.isArrayLiteralExpression(e)) return e.elements.flatMap((el) => fixHeaderValue(sf, el, w));
  if (!ts.isStringLiteralLike(e) && !ts.isTemplateExpression(e)) return [];
  const raw = sf.text.slice(e.getStart(sf) + 1, e.getEnd() - 1);
  const attributes = w.flags
    .filter((f) => !new RegExp(`;\\s*${HEADER_ATTRIBUTE[f]}\\b`, 'i').test(raw))
    .map((f) => (f === 'sameSite' ? `SameSite=${w.sameSite === 'strict' ? 'Strict' : 'Lax'}` : HEADER_ATTRIBUTE[f]));
  if (attributes.length === 0) return [];
  const sep = /;\s*$/.test(raw) ? (/\s$/.test(raw) ? '' : ' ') : '; ';
  const at = e.getEnd() - 1;
  return [{ start: at, end: at, text: sep + attributes.join('; ') }];
}

/** Which session middleware a call installs: the package of its callee, or of the plugin given to `register`. */
function sessionModuleOf(sf: ts.SourceFile, call: ts.CallExpression): { module: string; options: ts.Expression | undefined; argIndex: number } | undefined {
  const callee = unwrapExpression(call.expression);
  if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'register' && call.arguments[0]) {
    const mod = moduleOfExpression(sf, call.arguments[0]);
    return mod ? { module: mod, options: call.arguments[1], argIndex: 1 } : undefined;
  }
  const mod = moduleOfExpression(sf, callee);
  return mod ? { module: mod, options: call.arguments[0], argIndex: 0 } : undefined;
}

/** The edits that add `text` as argument `index` of a call that has exactly `index` arguments. */
function addArgument(sf: ts.SourceFile, call: ts.CallExpression, index: number, text: string): TextEdit[] {
  if (call.arguments.length !== index) return [];
  if (index === 0) {
    const at = call.arguments.pos;
    return [{ start: at, end: at, text }];
  }
  const at = call.arguments[index - 1]!.getEnd();
  return [{ start: at, end: at, text: `, ${text}` }];
}

/** Fixes of a call: a cookie write (`res.cookie`, `reply.setCookie`, `cookies.set`, a Set-Cookie header) or a session middleware. */
function fixCall(sf: ts.SourceFile, call: ts.CallExpression, w: Wanted): TextEdit[] | undefined {
  const callee = unwrapExpression(call.expression);
  const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
  const args = call.arguments;
  if (name !== undefined && args.length >= 2) {
    const header = unwrapExpression(args[0]!);
    if (['setHeader', 'header', 'append', 'set'].includes(name) && ts.isStringLiteralLike(header) && header.text.toLowerCase() === 'set-cookie') return fixHeaderValue(sf, args[1]!, w);
    const cookiesSet = name === 'set' && ts.isPropertyAccessExpression(callee) && /cookies$/i.test(memberName(unwrapExpression(callee.expression)) ?? '');
    if (name === 'cookie' || name === 'setCookie' || cookiesSet) {
      if (args.length === 2) return addArgument(sf, call, 2, newOptions(w));
      const obj = objectLiteralIn(sf, args[2]);
      return obj ? fixOptionsObject(sf, obj, w) : undefined;
    }
  }
  if (name !== undefined && ['set', 'header', 'headers', 'writeHead'].includes(name)) {
    // res.set({ 'Set-Cookie': value }), res.writeHead(200, { 'Set-Cookie': value })
    for (const a of args) {
      const obj = objectLiteralIn(sf, a);
      const p = obj?.properties.find((q): q is ts.PropertyAssignment => ts.isPropertyAssignment(q) && memberName(q.name)?.toLowerCase() === 'set-cookie');
      if (p) return fixHeaderValue(sf, p.initializer, w);
    }
  }
  const session = sessionModuleOf(sf, call);
  if (!session) return undefined;
  const holder = PARSE_OPTIONS_MODULES.has(session.module) ? 'parseOptions' : COOKIE_OPTION_MODULES.has(session.module) ? 'cookie' : FLAT_OPTIONS_MODULES.has(session.module) ? '' : undefined;
  if (holder === undefined) return undefined;
  const opts = objectLiteralIn(sf, session.options);
  if (!opts) return session.options === undefined ? addArgument(sf, call, session.argIndex, holder ? `{ ${holder}: ${newOptions(w)} }` : newOptions(w)) : undefined;
  if (!holder) return fixOptionsObject(sf, opts, w);
  const cookie = ownProperty(opts, holder);
  if (!cookie) return addProperties(sf, opts, [`${holder}: ${newOptions({ ...w, asConst: widens(sf, opts) })}`], false);
  const cookieObj = ts.isPropertyAssignment(cookie) ? objectLiteralIn(sf, cookie.initializer) : objectLiteralIn(sf, cookie.name);
  return cookieObj ? fixOptionsObject(sf, cookieObj, w) : undefined;
}

/**
 * The fix of a KW002 finding about cookie flags, or undefined when the finding names no flag or
 * its cookie options are not written in this file as an object literal.
 */
export function planCookieFlagsFix(sf: ts.SourceFile, finding: FixableFinding): PlannedFix | undefined {
  const flags = flagsOf(finding.message);
  if (flags.length === 0) return undefined;
  const w: Wanted = { flags, sameSite: sameSiteValue(finding.message), style: styleOf(sf) };
  const describe = (edits: TextEdit[] | undefined): PlannedFix | undefined =>
    edits && edits.length > 0 ? { ruleId: finding.ruleId, description: `Set ${flags.map((f) => `${f}: ${safeValue(f, w)}`).join(', ')}`, edits } : undefined;
  for (let n = nodeAt(sf, finding.start, finding.end); n && !ts.isSourceFile(n); n = n.parent) {
    // `httpOnly: false`, `secure` (shorthand of a false constant)
    if ((ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n)) && flags.includes(memberName(n.name) as Flag)) {
      const flag = memberName(n.name) as Flag;
      return describe([setProperty(sf, n, flag, { ...w, flags: [flag], asConst: ts.isObjectLiteralExpression(n.parent) && widens(sf, n.parent) })]);
    }
    // `opts.cookie.secure = false` after the literal
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && flags.includes(memberName(unwrapExpression(n.left)) as Flag)) {
      const flag = memberName(unwrapExpression(n.left)) as Flag;
      return describe([{ start: n.right.getStart(sf), end: n.right.getEnd(), text: safeValue(flag, w) }]);
    }
    // a conditional spread inside the options
    if (ts.isSpreadAssignment(n) && ts.isObjectLiteralExpression(n.parent)) return describe(fixOptionsObject(sf, n.parent, w));
    // the session middleware's `cookie: { ... }`
    if (ts.isPropertyAssignment(n) && COOKIE_HOLDERS.has(memberName(n.name) ?? '')) {
      const obj = objectLiteralIn(sf, n.initializer);
      return obj ? describe(fixOptionsObject(sf, obj, w)) : undefined;
    }
    if (ts.isCallExpression(n)) {
      const edits = fixCall(sf, n, w);
      if (edits) return describe(edits);
    }
    if (ts.isStatement(n) || ts.isFunctionLike(n)) break;
  }
  return undefined;
}
