/**
 * An estimate of how many bits of entropy a secret holds, for the startup self-audit.
 * Pure functions of a string or bytes (node:buffer only), so the CLI can share them.
 *
 * The estimate is deliberately simple and conservative towards what people type:
 * - each character is worth log2 of the alphabet its character classes span (a random
 *   32-character hex string is 32 x 4 = 128 bits, a random base64url one 6 bits a
 *   character), never the per-string Shannon estimate, which under-counts short random
 *   strings (a random 32-hex secret measures ~112 bits that way);
 * - letter runs that read as English (an English letter-pair model) are worth
 *   {@link ENGLISH_BITS_PER_LETTER} a letter, a word repeated is worth nothing, and a
 *   separator repeated (the spaces of a passphrase) 1 bit;
 * - a string repeated (`'abc'.repeat(20)`), a substring seen before, runs of neighbouring
 *   characters (`abcdef`, `123456`, `aaaa`) and far fewer distinct characters than random
 *   text of that length would have, add next to nothing;
 * - keyboard walks (`1qaz2wsx`, `qwertyuiop`, shifted or not) are worth 1 bit a key, and a
 *   date or time (`new Date().toString()`, ISO 8601, ...) what the moment it names is worth
 *   (`predictable-patterns.ts`);
 * - a string that is valid hex, base64 or base64url is judged on its decoded bytes too
 *   (the base64 of `changeme...` looks random as text), and the weaker verdict counts.
 */

import { Buffer } from 'node:buffer';
import { capSpans, dateSpans, keyboardStepPatterns, keyboardWalks } from './predictable-patterns.js';

/** Bits a secret must be estimated to hold: what 16 random bytes give (e.g. 32 hex characters). */
export const MIN_SECRET_BITS = 128;
/**
 * What one letter of English-looking text is worth. Shannon measured 0.6-1.3 bits a letter
 * for English in context; 2 is generous, so only long random word lists pass (a
 * 9-word pangram is ~75 bits, a BIP-39-style list of 12 random words would need ~64 letters).
 */
export const ENGLISH_BITS_PER_LETTER = 2;

/** How strong a secret looks, and why. */
export interface SecretStrength {
  /** Estimated entropy in bits (rounded down). */
  bits: number;
  /** How it was judged: as typed, or as the bytes a hex/base64/base64url string encodes. */
  judgedAs: 'text' | 'hex' | 'base64' | 'base64url';
  /** The decoded text, when a hex/base64 secret encodes printable text (for placeholder checks). Never print it. */
  decodedText?: string;
}

// Approximate frequencies (hundredths of a percent) of English letter pairs, from
// published corpus counts (Norvig's Google-books counts, rounded); unlisted pairs get FLOOR.
const BIGRAM_TABLE =
  'th356 he307 in243 er205 an199 re185 on176 at149 en145 nd135 ti134 es134 or128 te120 of117 ed117 is113 it112 al109 ar107 ' +
  'st105 to104 nt104 ng95 se93 ha93 as87 ou87 io83 le83 ve83 co79 me79 de76 hi76 ri73 ro73 ic70 ne69 ea69 ra69 ce65 li62 ch60 ' +
  'll58 be58 ma57 si55 om55 ur54 ca54 el53 ta53 la53 ns51 di50 fo50 ho50 pe49 ec49 pr49 no49 ct48 us48 ac47 ot47 il47 tr46 ly46 ' +
  'nc45 et45 ut45 ss44 so44 rs43 un43 lo42 wa42 ge42 ie42 wh41 ee41 wi41 em40 ad40 ol39 rt39 po38 we38 na38 ul37 ni37 ts37 mo37 ' +
  'ow36 pa35 im35 mi35 ai35 sh35 ir34 su34 id33 os33 iv33 ia32 am32 fi32 ci32 vi31 pl31 ig30 tu30 ev30 ld29 ry29 mp28 fe28 bl28 ' +
  'ab28 gh28 ty27 op27 wo27 sa27 ay26 ex26 ke26 fr26 oo25 av25 ag25 if25 ap25 gr24 od24 bo24 sp24 rd24 do24 uc23 bu23 ei23 ov23 ' +
  'by23 rm22 ep22 tt22 oc22 fa22 ef22 cu22 rn21 sc21 gi21 da21 yo21 cr21 cl21 du20 ga20 qu20 ue20 ff20 ba20 ey19 ls19 va19 um19 ' +
  'pp18 ua18 up18 lu18 go18 ht18 ru18 ug17 ds17 lt17 pi17 rc17 rr17 eg17 au16 ck16 ew16 mu16 br16 bi16 pt16 ak15 pu15 ui15 rg15 ' +
  'ib14 tl14 ny14 ki14 rk14 ys14 ob14 mm14 fu14 ph13 og13 ms13 ye13 ud13 mb13 ip13 ub12 oi12 rl12 gu12 dr12 hr12 cc12 tw11 ft11 ' +
  'wn11 nu11 af10 hu10 nn10 eo10 vo10 rv10 nf9 xp9 gn9 sm9 fl9 iz9 ok9 nl9 my9 gl9 aw9 ju8 oa8 eq8 sy8 sl8 ps8 jo8 lf8 nv8 je8 ' +
  'nk8 kn8 gs8 dy7 hy7 ze7 ks7 xt7 bs7 ik7 dd7 cy7 rp7 sk6 xi6 oe6 oy6 ws6 lv6 dl6 rf6 eu6 dg6 wr6 xa6 yi6 nm5 eb5 rb5 tm5 xc5 ' +
  'eh5 tc5 gy5 ja5 hn5 yp5 za5 ek5';
const FLOOR = 2; // 0.02 %
/** log2 of (frequency x 676): how much likelier the pair is in English than among random letters. */
const BIGRAM_SCORE = new Map<string, number>();
for (const entry of BIGRAM_TABLE.split(' ')) BIGRAM_SCORE.set(entry.slice(0, 2), Math.log2((Number(entry.slice(2)) / 10_000) * 676));
const FLOOR_SCORE = Math.log2((FLOOR / 10_000) * 676);
/** Mean score one or two runs of letters need to read as English (random letters average about -1.4). */
const ENGLISH_SCORE = 1;

const HEX = /^(?:[0-9a-f]{2})+$|^(?:[0-9A-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_WITH_SEPARATORS = /^[0-9a-f]{2,}(?:[-:][0-9a-f]{2,})+$|^[0-9A-F]{2,}(?:[-:][0-9A-F]{2,})+$/;
/** Longer inputs are judged on their first part (a secret this long is not typed). */
const MAX_ANALYSED = 512;

function englishScore(word: string): { sum: number; pairs: number } {
  let sum = 0;
  for (let i = 1; i < word.length; i++) sum += BIGRAM_SCORE.get(word.slice(i - 1, i + 1)) ?? FLOOR_SCORE;
  return { sum, pairs: Math.max(0, word.length - 1) };
}

function alphabetOf(chars: readonly string[]): number {
  let lower = false;
  let upper = false;
  let digit = false;
  let symbol = false;
  let other = false;
  for (const c of chars) {
    if (c >= 'a' && c <= 'z') lower = true;
    else if (c >= 'A' && c <= 'Z') upper = true;
    else if (c >= '0' && c <= '9') digit = true;
    else if (c >= ' ' && c <= '~') symbol = true;
    else other = true;
  }
  return Math.max(2, (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (symbol ? 33 : 0) + (other ? 100 : 0));
}

/** Expected number of distinct symbols among n uniform draws from an alphabet of a. */
function expectedDistinct(n: number, a: number): number {
  return a * (1 - Math.pow(1 - 1 / a, n));
}

/**
 * The per-symbol values after the structural penalties shared by text and bytes:
 * substrings seen before, runs of neighbours, too few distinct symbols.
 */
function penalise(codes: readonly number[], alphabet: number, values: number[], runShare = 1 / 3): number {
  const n = codes.length;
  // Too few distinct symbols for random data of this length (tolerant: half the expected
  // count, which random data never comes near): cap each symbol at the alphabet that explains it.
  const distinct = new Set(codes).size;
  if (distinct < 0.5 * expectedDistinct(n, alphabet)) {
    let a = Math.max(distinct, 1);
    while (a < alphabet && expectedDistinct(n, a) < distinct) a++;
    const cap = Math.log2(Math.max(a, 1));
    for (let i = 0; i < n; i++) values[i] = Math.min(values[i]!, cap);
  }
  // A substring seen before (long enough that chance would not repeat it: 32 bits) adds nothing.
  const minRepeat = Math.max(3, Math.ceil(32 / Math.log2(alphabet)));
  for (let i = 1; i <= n - minRepeat; ) {
    let best = 0;
    for (let j = 0; j < i; j++) {
      let k = 0;
      while (i + k < n && codes[j + k] === codes[i + k]) k++;
      if (k > best) best = k;
    }
    if (best >= minRepeat) {
      for (let k = 0; k < best; k++) values[i + k] = 0;
      i += best;
    } else i++;
  }
  // Runs of 3+ neighbouring symbols (abc, 123, aaa). An odd short run happens by chance;
  // a string made mostly of runs is a keyboard walk or a counter.
  const near = (i: number): boolean => i >= 1 && i < n && Math.abs(codes[i]! - codes[i - 1]!) <= 1;
  // How often random symbols of this alphabet form such a run by chance; the bar stays far above it.
  const q = Math.min(1, 3 / alphabet);
  const bar = Math.max(runShare, 6 * q * (1 - (1 - q) ** 2));
  const predictable: number[] = [];
  for (let i = 1; i < n; i++) if (near(i) && (near(i - 1) || near(i + 1))) predictable.push(i);
  if (n > 1 && predictable.length / (n - 1) > bar) for (const i of predictable) values[i] = 0;
  return values.reduce((a, b) => a + b, 0);
}

/** The smallest period p such that the sequence repeats its first p symbols (n when none). */
function period<T>(items: readonly T[]): number {
  const n = items.length;
  for (let p = 1; p <= n / 2; p++) if (items.every((c, i) => i < p || c === items[i - p])) return p;
  return n;
}

/** Estimated entropy of bytes meant to be random (a key, a decoded secret). */
export function estimateBytesBits(bytes: Uint8Array): number {
  const codes = [...bytes.subarray(0, MAX_ANALYSED)];
  const p = period(codes);
  const unit = codes.slice(0, p);
  return penalise(unit, 256, unit.map(() => 8));
}

/** Letter runs, split at camelCase boundaries (`TheQuickFox` -> The, Quick, Fox), with their positions. */
function wordsOf(text: string): Array<{ start: number; end: number; raw: string; word: string }> {
  const out: Array<{ start: number; end: number; raw: string; word: string }> = [];
  for (const m of text.matchAll(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])/g)) out.push({ start: m.index, end: m.index + m[0].length, raw: m[0], word: m[0].toLowerCase() });
  return out;
}

const SEPARATOR_GAP = /^[ \-_.,;:!?+/&']{1,2}$/;

/**
 * A passphrase: words (lower-case, Capitalised, or all upper-case) joined directly
 * (camelCase) or by punctuation, never by digits or mixed junk, reading as English on
 * average. Random strings fail the shape (digits between letters, `AB`-runs in
 * mixed case) or the language score.
 */
function isPassphrase(text: string, words: ReturnType<typeof wordsOf>): boolean {
  if (words.length === 0) return false;
  const first = words[0]!.start;
  const last = words[words.length - 1]!.end;
  for (let i = 1; i < words.length; i++) {
    const gap = text.slice(words[i - 1]!.end, words[i]!.start);
    if (gap !== '' && !SEPARATOR_GAP.test(gap)) return false;
  }
  const core = text.slice(first, last);
  const shouting = core === core.toUpperCase();
  if (!shouting && words.some((w) => w.raw.length >= 2 && w.raw === w.raw.toUpperCase())) return false;
  let sum = 0;
  let pairs = 0;
  for (const w of words) {
    const s = englishScore(w.word);
    sum += s.sum;
    pairs += s.pairs;
  }
  if (pairs < 4) return false;
  // Several words: a lenient score (pangrams use rare letters on purpose); one or two long
  // runs (`correcthorsebatterystaple`): a strict one (random letters average -1.4, and
  // stay below 0.6 over 30 letters).
  return sum / pairs >= (words.filter((w) => w.word.length >= 2).length >= 3 ? 0 : ENGLISH_SCORE);
}

/** Estimated entropy of a secret as typed (not decoded). */
export function estimateTextBits(value: string): number {
  const chars = [...value].slice(0, MAX_ANALYSED);
  const p = period(chars);
  if (p < chars.length) return estimateTextBits(chars.slice(0, p).join(''));
  const text = chars.join('');
  if (UUID.test(text)) return 122; // the random bits of a version-4 UUID, at most
  if (HEX_WITH_SEPARATORS.test(text)) return estimateHexBits(text.replace(/[-:]/g, ''));
  const alphabet = alphabetOf(chars);
  const perChar = Math.log2(alphabet);
  // Positions below are UTF-16 indexes; map them to characters when the text is not BMP-only.
  const values = [...text].length === text.length ? chars.map(() => perChar) : null;
  if (!values) return penalise(chars.map((c) => c.codePointAt(0)!), alphabet, chars.map(() => perChar));

  const words = wordsOf(text);
  const passphrase = isPassphrase(text, words);
  const seen = new Set<string>();
  for (const w of words) {
    // Outside a passphrase, a word counts as English on its own only when it is long and
    // clearly English (`prod-session-<random>`): random letters rarely look like that.
    const s = englishScore(w.word);
    const english = passphrase ? w.word.length >= 2 : w.word.length >= 4 && s.sum / s.pairs >= 2;
    if (!english) continue;
    const v = seen.has(w.word) ? 0 : Math.min(perChar, ENGLISH_BITS_PER_LETTER);
    seen.add(w.word);
    for (let i = w.start; i < w.end; i++) values[i] = v;
  }
  // Keys walked on the keyboard, and dates and times, are worth what choosing them is worth.
  capSpans(values, keyboardWalks(chars));
  capSpans(values, keyboardStepPatterns(chars));
  capSpans(values, dateSpans(text));
  // A separator repeated (the spaces or dashes between words) is worth 1 bit.
  const separators = new Set<string>();
  chars.forEach((c, i) => {
    if (/[A-Za-z0-9]/.test(c)) return;
    if (separators.has(c)) values[i] = Math.min(values[i]!, 1);
    separators.add(c);
  });
  return penalise(chars.map((c) => c.codePointAt(0)!), alphabet, values);
}

/** Hex digits, 4 bits each, with the structural penalties (a stricter bar for runs: hex has few symbols). */
function estimateHexBits(hex: string): number {
  const codes = [...hex.toLowerCase().slice(0, MAX_ANALYSED)].map((c) => c.codePointAt(0)!);
  const unit = codes.slice(0, period(codes));
  return penalise(unit, 16, unit.map(() => 4), 0.5);
}

/** Bytes a hex/base64/base64url string encodes, if it is one (canonically) and holds >= 8 bytes. */
export function decodeSecret(value: string): { encoding: 'hex' | 'base64' | 'base64url'; bytes: Buffer } | null {
  if (value.length >= 16 && HEX.test(value)) return { encoding: 'hex', bytes: Buffer.from(value, 'hex') };
  if (value.length < 12) return null;
  if (BASE64URL.test(value) && value.length % 4 !== 1) {
    const bytes = Buffer.from(value, 'base64url');
    if (bytes.toString('base64url') === value) return { encoding: 'base64url', bytes };
  }
  if (BASE64.test(value)) {
    const bytes = Buffer.from(value, 'base64');
    const again = bytes.toString('base64');
    if (again === value || again.replace(/=+$/, '') === value) return { encoding: 'base64', bytes };
  }
  return null;
}

/** Printable text (UTF-8, no control characters), or null for binary bytes. */
export function printableText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f-\x9f\ufffd]/.test(text) ? null : text;
}

/**
 * How strong `value` looks: the weaker of its estimate as typed and, when it is valid
 * hex/base64/base64url, the estimate of what it decodes to (as text when that is printable).
 * A hex string is judged as hex digits (4 bits each), never as words.
 */
export function secretStrength(value: string): SecretStrength {
  const decoded = decodeSecret(value);
  if (!decoded) return { bits: Math.floor(estimateTextBits(value)), judgedAs: 'text' };
  const text = printableText(decoded.bytes);
  const decodedBits = text !== null ? estimateTextBits(text) : estimateBytesBits(decoded.bytes);
  const asTyped = decoded.encoding === 'hex' ? estimateHexBits(value) : estimateTextBits(value);
  const judgedAs = decodedBits < asTyped ? decoded.encoding : 'text';
  return { bits: Math.floor(Math.min(asTyped, decodedBits)), judgedAs, ...(text !== null ? { decodedText: text } : {}) };
}
