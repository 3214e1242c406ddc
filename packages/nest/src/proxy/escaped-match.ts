/**
 * Finds a key in text where some or all of its characters are escaped, whatever the
 * escaping: JSON and JavaScript (`\/`, `\u002B` or `\u002b`, every character as `\uXXXX`,
 * `\x2B`, `\U0000002B`, `\u{2B}`, a backslash before any punctuation), percent-encoding
 * (upper or lower case hex, all characters or some: `encodeURIComponent`, Python's `quote`
 * that keeps `/`, `quote_plus` with `+` for a space), and HTML character references (named,
 * such as `&amp;` `&quot;` `&sol;` `&plus;`, decimal `&#43;` or `&#043;`, hex `&#x2b;` or
 * `&#X2B;`, with or without the final `;`), mixed freely within one value.
 *
 * Rather than list every combination as a form, the matcher reads the text one escape (or
 * one plain character) at a time and compares what it decodes to with the key's next
 * character. It runs only around escapes that decode to a character of the key (found
 * with native byte searches), so an answer without such escapes costs three `indexOf`
 * scans, and the work is linear in the answer's size otherwise. One level of escaping is
 * undone (an HTML reference whose text is itself percent-encoded is not).
 */

const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const AMPERSAND = 0x26;
const PLUS = 0x2b;
const SEMICOLON = 0x3b;

/** Digits read in a numeric character reference (leading zeros included). */
const MAX_REF_DIGITS = 10;

/**
 * HTML's named references for ASCII punctuation (from the HTML standard's table); the
 * names in {@link LEGACY} are also recognised without the final `;`, as browsers do.
 */
const NAMED: Readonly<Record<string, number>> = {
  excl: 0x21, quot: 0x22, QUOT: 0x22, num: 0x23, dollar: 0x24, percnt: 0x25, amp: 0x26, AMP: 0x26, apos: 0x27,
  lpar: 0x28, rpar: 0x29, ast: 0x2a, midast: 0x2a, plus: 0x2b, comma: 0x2c, period: 0x2e, sol: 0x2f, colon: 0x3a,
  semi: 0x3b, lt: 0x3c, LT: 0x3c, equals: 0x3d, gt: 0x3e, GT: 0x3e, quest: 0x3f, commat: 0x40, lsqb: 0x5b, lbrack: 0x5b,
  bsol: 0x5c, rsqb: 0x5d, rbrack: 0x5d, Hat: 0x5e, lowbar: 0x5f, UnderBar: 0x5f, grave: 0x60, DiacriticalGrave: 0x60,
  lcub: 0x7b, lbrace: 0x7b, verbar: 0x7c, vert: 0x7c, VerticalLine: 0x7c, rcub: 0x7d, rbrace: 0x7d, nbsp: 0xa0, NewLine: 0x0a, Tab: 0x09,
};
const LEGACY = new Set(['amp', 'AMP', 'quot', 'QUOT', 'lt', 'LT', 'gt', 'GT', 'nbsp']);
/** The names by their first letter, longest first, as bytes (a reference is read without making a string). */
const NAMES_BY_FIRST = new Map<number, Array<{ name: Buffer; cp: number; legacy: boolean }>>();
for (const [name, cp] of Object.entries(NAMED)) {
  const list = NAMES_BY_FIRST.get(name.charCodeAt(0)) ?? [];
  list.push({ name: Buffer.from(name, 'latin1'), cp, legacy: LEGACY.has(name) });
  NAMES_BY_FIRST.set(name.charCodeAt(0), list.sort((a, b) => b.name.length - a.name.length));
}

/**
 * A key prepared for {@link findEscaped}: plain arrays and strings on the V8 heap (no
 * ArrayBuffer of its own, so caching it pins no slab of Node's buffer pool).
 */
export interface EscapedKey {
  readonly codePoints: readonly number[];
  /** The key's UTF-8 bytes, and where each code point's bytes start (one more entry: the end). */
  readonly utf8: readonly number[];
  readonly starts: readonly number[];
  /** The few bytes its text can begin with, as latin1 strings (see {@link findEscaped}). */
  readonly startNeedles: readonly string[];
  /** Bytes this costs (for the forms cache's accounting). */
  readonly bytes: number;
}

/** Prepares a key for {@link findEscaped}. */
export function escapedKey(secret: string): EscapedKey {
  const codePoints = [...secret].map((c) => c.codePointAt(0)!);
  const utf8 = [...Buffer.from(secret, 'utf8')];
  const starts: number[] = [];
  let at = 0;
  for (const cp of codePoints) {
    starts.push(at);
    at += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  starts.push(at);
  const startNeedles = needlesOf(codePoints, utf8, starts);
  return { codePoints, utf8, starts, startNeedles, bytes: 8 * (codePoints.length + utf8.length + starts.length) + 40 * startNeedles.length + 300 };
}

/** Length of the escape {@link decodeAt} read last (a module-level scratch value: no object per call). */
let unitLength = 0;

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** `count` hex digits at `p`, or -1. */
function hexRun(buf: Buffer, p: number, count: number): number {
  if (p + count > buf.length) return -1;
  let v = 0;
  for (let i = 0; i < count; i++) {
    const h = hexValue(buf[p + i]!);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

function isAsciiPunctuation(b: number): boolean {
  return (b >= 0x21 && b <= 0x2f) || (b >= 0x3a && b <= 0x40) || (b >= 0x5b && b <= 0x60) || (b >= 0x7b && b <= 0x7e);
}

/**
 * The code point that the escape at `p` stands for, with its length in {@link unitLength};
 * -1 if no escape starts at `p`.
 */
export function decodeAt(buf: Buffer, p: number): number {
  const b = buf[p];
  if (b === BACKSLASH) return decodeBackslash(buf, p);
  if (b === PERCENT) return decodePercent(buf, p);
  if (b === AMPERSAND) return decodeReference(buf, p);
  return -1;
}

function decodeBackslash(buf: Buffer, p: number): number {
  const n = buf[p + 1];
  if (n === undefined) return -1;
  if (n === 0x75 /* u */) {
    if (buf[p + 2] === 0x7b /* { */) {
      let v = 0;
      let i = p + 3;
      for (; i < buf.length && i < p + 9 && hexValue(buf[i]!) >= 0; i++) v = v * 16 + hexValue(buf[i]!);
      if (i === p + 3 || buf[i] !== 0x7d || v > 0x10ffff) return -1;
      unitLength = i + 1 - p;
      return v;
    }
    const unit = hexRun(buf, p + 2, 4);
    if (unit < 0) return -1;
    if (unit >= 0xd800 && unit < 0xdc00 && buf[p + 6] === BACKSLASH && buf[p + 7] === 0x75) {
      const low = hexRun(buf, p + 8, 4);
      if (low >= 0xdc00 && low < 0xe000) {
        unitLength = 12;
        return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
      }
    }
    unitLength = 6;
    return unit;
  }
  if (n === 0x55 /* U */) {
    const v = hexRun(buf, p + 2, 8);
    if (v < 0 || v > 0x10ffff) return -1;
    unitLength = 10;
    return v;
  }
  if (n === 0x78 /* x */) {
    const v = hexRun(buf, p + 2, 2);
    if (v < 0) return -1;
    unitLength = 4;
    return v;
  }
  if (isAsciiPunctuation(n)) {
    unitLength = 2;
    return n;
  }
  return -1;
}

/** `%HH` (either case); a UTF-8 sequence of them stands for one code point. */
function decodePercent(buf: Buffer, p: number): number {
  const first = hexRun(buf, p + 1, 2);
  if (first < 0) return -1;
  if (first < 0x80) {
    unitLength = 3;
    return first;
  }
  const extra = first >= 0xf0 ? 3 : first >= 0xe0 ? 2 : first >= 0xc0 ? 1 : -1;
  if (extra < 0) return -1;
  let cp = first & (0x3f >> extra);
  for (let i = 1; i <= extra; i++) {
    if (buf[p + 3 * i] !== PERCENT) return -1;
    const cont = hexRun(buf, p + 3 * i + 1, 2);
    if (cont < 0x80 || cont >= 0xc0) return -1;
    cp = (cp << 6) | (cont & 0x3f);
  }
  unitLength = 3 * (extra + 1);
  return cp;
}

/** `&name;`, `&#DDD;`, `&#xHH;` (the `;` optional for numbers and the legacy names). */
function decodeReference(buf: Buffer, p: number): number {
  if (buf[p + 1] === 0x23 /* # */) {
    const hex = (buf[p + 2]! | 0x20) === 0x78;
    let i = p + (hex ? 3 : 2);
    const from = i;
    let v = 0;
    for (; i < buf.length && i - from < MAX_REF_DIGITS; i++) {
      const d = hex ? hexValue(buf[i]!) : buf[i]! >= 0x30 && buf[i]! <= 0x39 ? buf[i]! - 0x30 : -1;
      if (d < 0) break;
      v = v * (hex ? 16 : 10) + d;
    }
    if (i === from || v > 0x10ffff) return -1;
    if (buf[i] === SEMICOLON) i++;
    unitLength = i - p;
    return v;
  }
  const names = NAMES_BY_FIRST.get(buf[p + 1]!);
  if (!names) return -1;
  // The longest name that reads here: `&ampx` is `&amp` + `x`, as browsers read the legacy names.
  for (const { name, cp, legacy } of names) {
    const end = p + 1 + name.length;
    if (end > buf.length) continue;
    let same = true;
    for (let k = 1; k < name.length && same; k++) same = buf[p + 1 + k] === name[k];
    if (!same) continue;
    if (buf[end] === SEMICOLON) {
      unitLength = end + 1 - p;
      return cp;
    }
    if (legacy) {
      unitLength = end - p;
      return cp;
    }
  }
  return -1;
}

/** Failed `(character, position)` states of the current text, when the text can be read two ways (see {@link matchFrom}). */
const failed = new Set<number>();

/**
 * The end of the key's text if it starts at `p` (from its character `i` on), else -1. Each
 * character is its plain UTF-8 bytes or one escape; where both read (the key has a `%`,
 * `\` or `&` and so does the text), both are tried, and a state that failed once is not
 * tried again, so a key made of such characters costs at most its length times the text it
 * spans, never an exponential search.
 */
function matchFrom(buf: Buffer, key: EscapedKey, i: number, p: number): number {
  const cps = key.codePoints;
  while (i < cps.length) {
    const cp = cps[i]!;
    const plain = plainAt(buf, key, i, p);
    const escaped = decodeAt(buf, p) === cp ? p + unitLength : cp === 0x20 && buf[p] === PLUS ? p + 1 : -1;
    if (escaped >= 0 && plain >= 0 && plain !== escaped) {
      for (const q of [escaped, plain]) {
        const state = (i + 1) * (buf.length + 1) + q;
        if (failed.has(state)) continue;
        const end = matchFrom(buf, key, i + 1, q);
        if (end >= 0) return end;
        failed.add(state);
      }
      return -1;
    }
    p = escaped >= 0 ? escaped : plain;
    if (p < 0) return -1;
    i++;
  }
  return p;
}

/** The end of character `i`'s plain UTF-8 bytes at `p`, or -1. */
function plainAt(buf: Buffer, key: EscapedKey, i: number, p: number): number {
  const from = key.starts[i]!;
  const to = key.starts[i + 1]!;
  if (p + (to - from) > buf.length) return -1;
  for (let k = from; k < to; k++) if (buf[p + k - from] !== key.utf8[k]) return -1;
  return p + (to - from);
}

/**
 * Where the key occurs in `buf`, plainly or with any of its characters escaped: `[start,
 * end)` pairs, in order, not overlapping.
 *
 * Starts are found by native searches for the few byte pairs the key's text can begin with
 * ({@link EscapedKey.startNeedles}); a try from each fails at the first character that
 * differs, so the work is linear in the answer, and an answer without those pairs costs
 * only the searches.
 */
export function findEscaped(buf: Buffer, key: EscapedKey): Array<[number, number]> {
  const needles = key.startNeedles;
  // Every escape begins with one of these: without them, nothing is escaped (a plain key is the plain form's business).
  if (needles.length === 0 || (buf.indexOf(BACKSLASH) < 0 && buf.indexOf(PERCENT) < 0 && buf.indexOf(AMPERSAND) < 0 && buf.indexOf(PLUS) < 0)) return [];
  const firstCp = key.codePoints[0]!;
  const first = key.utf8[0]!;
  const cursor = needles.map((nd) => buf.indexOf(nd, 0, 'latin1'));
  const found: Array<[number, number]> = [];
  let from = 0;
  for (;;) {
    let best = -1;
    for (let i = 0; i < cursor.length; i++) if (cursor[i]! >= 0 && (best < 0 || cursor[i]! < cursor[best]!)) best = i;
    if (best < 0) break;
    const at = cursor[best]!;
    if (at < from) {
      cursor[best] = buf.indexOf(needles[best]!, from, 'latin1');
      continue;
    }
    cursor[best] = buf.indexOf(needles[best]!, at + 1, 'latin1');
    if (buf[at] !== first && (buf[at] === PLUS ? 0x20 : decodeAt(buf, at)) !== firstCp) continue;
    const end = matchFrom(buf, key, 0, at);
    if (end < 0) continue;
    found.push([at, end]);
    from = end;
  }
  // A failed state means the same whatever the start: kept for the whole text, then dropped.
  failed.clear();
  return found;
}

/**
 * The few bytes the key's text can begin with: its first character plain, followed by its
 * second plain or by an escape (`\\`, `%`, `&`); or the start of an escape that can stand
 * for the first character (`\\u` and the first hex digit, `\\u{`, `\\U0`, `\\x` and the
 * first hex digit, `\\` before punctuation, `&#` and the first digit or `0`, `&#x`, `&` and
 * the first letter of a name of it, `%` and the first hex digit of its first byte, `+` for a
 * space). Hex digits in both cases.
 */
function needlesOf(cps: readonly number[], utf8: readonly number[], starts: readonly number[]): string[] {
  if (cps.length === 0) return [];
  const cp = cps[0]!;
  const latin1 = (bytes: readonly number[]): string => String.fromCharCode(...bytes);
  const plain = latin1(utf8.slice(0, starts[1]));
  const out = new Set<string>();
  if (cps.length === 1) out.add(plain);
  else {
    for (const next of [latin1(utf8.slice(starts[1], starts[2])), '\\', '%', '&']) out.add(plain + next);
    if (cps[1] === 0x20) out.add(`${plain}+`);
  }
  // `\\u` and the first of its four hex digits (`\\u0` for ASCII), `\\u{`, `\\U0`, `\\x` and its first digit.
  const unit = cp > 0xffff ? 0xd800 + ((cp - 0x10000) >> 10) : cp;
  const hexStarts = (n: number, digits: number): string[] => {
    const d = n.toString(16).padStart(digits, '0')[0]!;
    return [d, d.toUpperCase()];
  };
  for (const d of hexStarts(unit, 4)) out.add(`\\u${d}`);
  out.add('\\u{');
  out.add('\\U0');
  if (cp < 0x100) for (const d of hexStarts(cp, 2)) out.add(`\\x${d}`);
  if (isAsciiPunctuation(cp)) out.add(`\\${String.fromCharCode(cp)}`);
  // `&#` and the first decimal digit (or a leading zero), `&#x`, `&#X`; `&` and the first letter of a name of it.
  for (const ref of [`&#${String(cp)[0]}`, '&#0', '&#x', '&#X']) out.add(ref);
  for (const [name, named] of Object.entries(NAMED)) if (named === cp) out.add(`&${name[0]}`);
  for (const d of hexStarts(utf8[0]!, 2)) out.add(`%${d}`);
  if (cp === 0x20) out.add('+');
  return [...out];
}
