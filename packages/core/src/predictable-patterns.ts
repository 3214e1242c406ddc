/**
 * Patterns a person or a program produces without randomness, which the per-character
 * estimate of `secret-strength.ts` would otherwise count as random: keyboard walks
 * (`1qaz2wsx3edc`, `qwertyuiop`, `!QAZ@WSX`) and dates and times (`new Date().toString()`,
 * ISO 8601, RFC 1123, compact and locale forms). Each finder returns spans of a text with
 * the bits the span is worth at most; the estimator caps the span's characters to that.
 */

/** A run of characters worth at most `bits` in all. */
export interface PredictableSpan {
  start: number;
  end: number;
  bits: number;
}

// US QWERTY: each row unshifted and shifted, and where its first key sits (in key widths).
const ROWS: ReadonlyArray<[string, string, number]> = [
  ['`1234567890-=', '~!@#$%^&*()_+', 0],
  ['qwertyuiop[]\\', 'QWERTYUIOP{}|', 1.5],
  ["asdfghjkl;'", 'ASDFGHJKL:"', 1.75],
  ['zxcvbnm,./', 'ZXCVBNM<>?', 2.25],
];
const KEY = new Map<string, { row: number; x: number; shift: boolean }>();
ROWS.forEach(([plain, shifted, offset], row) => {
  for (let i = 0; i < plain.length; i++) {
    KEY.set(plain[i]!, { row, x: offset + i, shift: false });
    KEY.set(shifted[i]!, { row, x: offset + i, shift: true });
  }
});

/**
 * Keys that touch (beside each other, or on the row above or below), typed with Shift held
 * the same way: a walk is typed with Shift up or down throughout, and counting `a` -> `S` as a
 * step would find walks in random mixed-case text (about 1 pair in 5 instead of 1 in 9).
 */
function touching(a: string, b: string): boolean {
  const p = KEY.get(a);
  const q = KEY.get(b);
  if (!p || !q || p.shift !== q.shift) return false;
  const dx = Math.abs(p.x - q.x);
  return p.row === q.row ? dx <= 1 : Math.abs(p.row - q.row) === 1 && dx <= 1;
}

/**
 * The shortest walk that is judged a walk. By chance, random base64 holds one in under 1% of
 * 32-character strings (costing it ~20 bits of 192); shorter walks typed column by column
 * (`1qaz2wsx`) are found by {@link keyboardStepPatterns}.
 */
const MIN_WALK = 5;
/** What each key of a walk after its first is worth: which neighbour comes next (~6 of them), rounded down. */
const BITS_PER_WALK_STEP = 1;

/** Runs of at least {@link MIN_WALK} keys each touching the one before, on a US keyboard. */
export function keyboardWalks(chars: readonly string[]): PredictableSpan[] {
  const out: PredictableSpan[] = [];
  let start = 0;
  for (let i = 1; i <= chars.length; i++) {
    if (i < chars.length && touching(chars[i - 1]!, chars[i]!)) continue;
    const len = i - start;
    // The first key is a free choice: the caller keeps its own value for it.
    if (len >= MIN_WALK) out.push({ start: start + 1, end: i, bits: (len - 1) * BITS_PER_WALK_STEP });
    start = i;
  }
  return out;
}

/** The longest period of a repeated step pattern looked for (`qaz` `wsx` `edc`: down, down, up-and-over). */
const MAX_STEP_PERIOD = 4;
/** Steps that must repeat the pattern in a row before it counts (by chance: about one in a million places of random base64). */
const MIN_REPEATED_STEPS = 3;

/**
 * Runs where the hand repeats the same moves across the keyboard: each step (from one key to
 * the next, in rows and key widths) equals the step `p` keys before, for `p` up to
 * {@link MAX_STEP_PERIOD}, so `qazwsxedc` (column after column) or `1a2s3d` are found even
 * though their keys do not all touch.
 */
export function keyboardStepPatterns(chars: readonly string[]): PredictableSpan[] {
  const pos = chars.map((c) => KEY.get(c));
  const step = (i: number): string | undefined => {
    const a = pos[i - 1];
    const b = pos[i];
    return a && b ? `${b.row - a.row},${b.x - a.x}` : undefined;
  };
  const out: PredictableSpan[] = [];
  for (let p = 1; p <= MAX_STEP_PERIOD; p++) {
    let run = 0;
    for (let i = p + 1; i <= chars.length; i++) {
      const s = i < chars.length ? step(i) : undefined;
      if (s !== undefined && s === step(i - p)) {
        run++;
        continue;
      }
      // Keys i-run .. i-1 each followed the pattern set by the keys before them.
      if (run >= MIN_REPEATED_STEPS) out.push({ start: i - run, end: i, bits: run * BITS_PER_WALK_STEP });
      run = 0;
    }
  }
  return out;
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const LONG_MONTH = '(?:January|February|March|April|May|June|July|August|September|October|November|December)';
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2}(?:[.,]\\d{1,9})?)?(?:\\s?[AaPp]\\.?[Mm]\\.?)?';
const ZONE = '(?:\\s?(?:Z|UTC|GMT)?[+-]\\d{2}:?\\d{2}|\\s?(?:Z|UTC|GMT))?(?:\\s?\\([A-Za-z ]{1,60}\\))?';
/**
 * Date and time forms, each with what it is worth: a second within a century is ~32 bits,
 * a day ~15, a time of day ~17, a time zone ~4. Generous on purpose: a secret made of a
 * date is the moment someone made it, guessable to far less.
 */
const DATE_FORMS: ReadonlyArray<[RegExp, number]> = [
  // new Date().toString(): Mon Dec 07 2026 23:42:38 GMT+0000 (Coordinated Universal Time)
  [new RegExp(`${DAY} ${MONTH} \\d{2} \\d{4} ${TIME}${ZONE}`, 'g'), 36],
  // toUTCString / RFC 1123: Mon, 07 Dec 2026 23:42:38 GMT
  [new RegExp(`${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME}${ZONE}`, 'g'), 36],
  // Long forms: Monday, December 7, 2026 at 11:42:38 PM Coordinated Universal Time
  [new RegExp(`(?:${LONG_DAY},? )?${LONG_MONTH} \\d{1,2},? \\d{4}(?:,? (?:at )?${TIME})?${ZONE}(?: [A-Z][a-z]+(?: [A-Z][a-z]+){0,3})?`, 'g'), 40],
  // ISO 8601 and SQL: 2026-12-07T23:42:38.123Z, 2026-12-07 23:42:38.123456+00:00
  [new RegExp(`\\d{4}-\\d{2}-\\d{2}(?:[T ]${TIME})?${ZONE}`, 'g'), 46],
  // Compact: 20261207T234238Z, 20261207234238
  [/\d{8}T?\d{6}(?:\.\d{1,9})?Z?/g, 46],
  // Locale dates with an optional time: 12/07/2026, 11:42:38 PM; 07.12.2026 23:42
  [new RegExp(`\\d{1,2}[/.]\\d{1,2}[/.]\\d{2,4}(?:,? ${TIME})?${ZONE}`, 'g'), 36],
  // A time of day alone: 23:42:38.123
  [new RegExp(`${TIME}${ZONE}`, 'g'), 24],
  // Unix time in seconds or milliseconds, 2001-2286.
  [/(?<!\d)1\d{9}(?:\d{3})?(?!\d)/g, 42],
];

/** Spans of `text` that read as a date or a time; overlapping forms keep the first (longest forms come first). */
export function dateSpans(text: string): PredictableSpan[] {
  const out: PredictableSpan[] = [];
  const taken = new Uint8Array(text.length);
  for (const [form, bits] of DATE_FORMS) {
    for (const m of text.matchAll(form)) {
      const start = m.index;
      const end = start + m[0].length;
      if (end - start < 5 || taken.subarray(start, end).some((t) => t === 1)) continue;
      taken.fill(1, start, end);
      out.push({ start, end, bits });
    }
  }
  return out;
}

/** Caps `values[start..end)` so that the span is worth at most its bits, spread evenly. */
export function capSpans(values: number[], spans: readonly PredictableSpan[]): void {
  for (const s of spans) {
    const each = s.bits / Math.max(1, s.end - s.start);
    for (let i = s.start; i < s.end; i++) values[i] = Math.min(values[i]!, each);
  }
}
