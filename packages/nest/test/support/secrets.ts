import { randomBytes } from 'node:crypto';

/** A strong random secret (32 bytes, base64url), for session secrets, server keys and tokens. */
export const secret = (): string => randomBytes(32).toString('base64url');

/** A vault key `<id>:<base64 of 32 bytes>` (or of the given bytes). */
export const vaultKey = (id: string, bytes: Buffer = randomBytes(32)): string => `${id}:${bytes.toString('base64')}`;

const hex2 = (n: number, upper: boolean): string => (upper ? n.toString(16).toUpperCase() : n.toString(16)).padStart(2, '0');
const hex4 = (n: number, upper: boolean): string => (upper ? n.toString(16).toUpperCase() : n.toString(16)).padStart(4, '0');
/** Each UTF-16 unit as `\uXXXX` where `pick` says so. */
const uEscape = (v: string, upper: boolean, pick: (c: string) => boolean): string => [...v].map((c) => (pick(c) ? Array.from({ length: c.length }, (_, i) => `\\u${hex4(c.charCodeAt(i), upper)}`).join('') : c)).join('');
/** Each UTF-8 byte as `%HH` unless `keep` says so. */
const percent = (v: string, upper: boolean, keep: (c: string) => boolean): string =>
  [...v].map((c) => (keep(c) ? c : [...Buffer.from(c, 'utf8')].map((b) => `%${hex2(b, upper)}`).join(''))).join('');
const alnum = (c: string): boolean => /^[A-Za-z0-9]$/.test(c);
/** RFC 3986's unreserved characters (Python's `quote` always keeps these). */
const unreserved = (c: string): boolean => /^[A-Za-z0-9_.~-]$/.test(c);
const HTML_NAMES: Record<string, string> = { '&': 'amp', '"': 'quot', "'": 'apos', '<': 'lt', '>': 'gt', '/': 'sol', '+': 'plus', '=': 'equals', '!': 'excl', '#': 'num', '$': 'dollar', '%': 'percnt', '(': 'lpar', ')': 'rpar', '*': 'ast', ',': 'comma', '.': 'period', ':': 'colon', ';': 'semi', '?': 'quest', '@': 'commat', '[': 'lsqb', ']': 'rsqb', '_': 'lowbar', '{': 'lcub', '}': 'rcub', '|': 'verbar' };

/**
 * How languages' encoders write a value into text, by the name the test upstream's
 * `/v1/echo?reflect=<name>` takes: JSON as PHP writes it (`\/`), as .NET writes it
 * (`\u002B`, upper or lower case hex), every character as `\uXXXX`; percent-encoding of
 * everything but letters and digits (upper and lower case), of every byte, Python's `quote`
 * (keeps `/`) and `quote_plus`; HTML escaping as Python's `html.escape` (`&#x27;`), PHP's
 * `htmlspecialchars` (`&#039;`), by name for every punctuation character, and every
 * character as a decimal or hex reference.
 */
export const TEXT_ENCODINGS: Readonly<Record<string, (value: string) => string>> = Object.freeze({
  'json-slash': (v) => JSON.stringify(v).slice(1, -1).replace(/\//g, '\\/'),
  'json-u': (v) => uEscape(v, true, (c) => !alnum(c)),
  'json-u-lower': (v) => uEscape(v, false, (c) => !alnum(c)),
  'json-u-all': (v) => uEscape(v, false, () => true),
  'json-u-all-upper': (v) => uEscape(v, true, () => true),
  pct: (v) => percent(v, true, alnum),
  'pct-lower': (v) => percent(v, false, alnum),
  'pct-all': (v) => percent(v, false, () => false),
  'py-quote': (v) => percent(v, true, (c) => unreserved(c) || c === '/'),
  'py-quote-plus': (v) => percent(v, true, (c) => unreserved(c) || c === ' ').replace(/ /g, '+'),
  'html-python': (v) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;'),
  'html-php': (v) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#039;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  'html-39': (v) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  'html-named': (v) => [...v].map((c) => (HTML_NAMES[c] ? `&${HTML_NAMES[c]};` : c)).join(''),
  'html-dec': (v) => [...v].map((c) => `&#${c.codePointAt(0)};`).join(''),
  'html-hex': (v) => [...v].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join(''),
  'html-hex-upper': (v) => [...v].map((c) => `&#X${c.codePointAt(0)!.toString(16).toUpperCase()};`).join(''),
});

/**
 * Every way a secret could sit in stored or sent bytes: raw, base64 and base64url (at the
 * three possible byte alignments inside a longer encoded blob), hex (both cases),
 * URL-encoded, and every {@link TEXT_ENCODINGS} form (JSON, percent and HTML escapes).
 */
export function encodedForms(value: string): string[] {
  const raw = Buffer.from(value, 'utf8');
  const forms = new Set<string>([value, encodeURIComponent(value), raw.toString('hex'), raw.toString('hex').toUpperCase()]);
  for (const encode of Object.values(TEXT_ENCODINGS)) forms.add(encode(value));
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), raw]);
    for (const enc of ['base64', 'base64url'] as const) {
      let s = padded.toString(enc).replace(/=+$/, '');
      // Drop the characters that mix in the neighbouring bytes, at both ends.
      const lead = Math.ceil((shift * 4) / 3);
      s = s.slice(lead, s.length - 2);
      if (s.length >= 16) forms.add(s);
    }
  }
  return [...forms];
}

/** Every occurrence of any form of any secret in the haystack: which secret, and which form. */
export function findSecrets(haystack: Buffer | string, secrets: readonly string[]): Array<{ secret: number; form: string }> {
  const hay = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack, 'utf8');
  const hits: Array<{ secret: number; form: string }> = [];
  secrets.forEach((s, i) => {
    for (const form of encodedForms(s)) if (hay.includes(Buffer.from(form, 'latin1'))) hits.push({ secret: i, form: form === s ? 'raw' : form.slice(0, 6) + '…' });
  });
  return hits;
}
