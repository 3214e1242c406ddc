/** Small helpers for reporting option problems with "did you mean" hints. */

function distance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const row = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= n; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[n]!;
}

/** The closest allowed name, if one is close enough to be a typo. */
export function didYouMean(given: string, allowed: readonly string[]): string | undefined {
  const lower = given.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const name of allowed) {
    const d = name.toLowerCase() === lower ? 0 : distance(lower, name.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  return bestD <= Math.max(2, Math.floor(given.length / 4)) ? best : undefined;
}

/**
 * Reports properties of `obj` that are not in `allowed`. `hints` (keyed by lower-case
 * name) explains options people bring from other libraries, e.g. express-session's
 * `cookie.maxAge`, where no spelling distance would find the right Keyward option.
 */
export function unknownKeys(
  obj: object,
  allowed: readonly string[],
  path: string,
  problems: string[],
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const known = Object.hasOwn(hints, key.toLowerCase()) ? hints[key.toLowerCase()] : undefined;
    const hint = didYouMean(key, allowed);
    problems.push(
      `${path}${key}: unsupported option.${known ? ` ${known}` : hint ? ` Did you mean \`${path}${hint}\`?` : ` Supported: ${allowed.join(', ')}.`}`,
    );
  }
}

/**
 * Describes a value that sits where a secret may have been put by mistake (a secret
 * passed as `session`, a key list passed as a string): its type, never its content.
 */
export function showType(v: unknown): string {
  if (typeof v === 'string') return v.length === 0 ? 'an empty string' : 'a string (not shown)';
  return show(v);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A printable form of a (non-secret) option value for an error message. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : typeof v === 'function' ? 'a function' : 'an object';
}

/** Checks a duration in milliseconds; returns the value or undefined after reporting. */
export function duration(v: unknown, path: string, problems: string[], min: number, max: number): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    problems.push(`${path}: expected an integer number of milliseconds between ${min} and ${max}, got ${show(v)}.`);
    return undefined;
  }
  return v;
}
