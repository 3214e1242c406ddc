/** Removes every occurrence of a secret (and its common encodings) from bytes and strings. */
import { encodedForms, liveSecrets } from '../redaction/live-secrets.js';
import { REDACTED } from '@keyward/core';
import { escapedKey, findEscaped, type EscapedKey } from './escaped-match.js';

const MARK = REDACTED;
const MARK_BYTES = Buffer.from(MARK);

/**
 * A key's forms, longest first, with the same forms as bytes for searching bodies: views of
 * one exact-size allocation of their own, never slices of Node's shared 8 KiB pool (a cached
 * slice would keep its whole slab, and whatever else was allocated in it, alive).
 */
export interface SecretForms extends ReadonlyArray<string> {
  readonly needles?: readonly Buffer[];
  /** The key for the escape-aware pass (JSON, percent and HTML escapes, mixed): see `escaped-match.ts`. */
  readonly escaped?: EscapedKey;
}

/**
 * Bounds of the forms cache: keys whose forms are kept, and their counted bytes (UTF-16
 * text plus map and array overhead). A key the redaction registry forgets (a revoked
 * minted key, an evicted or released value) leaves the cache at once, so it follows the
 * live keys; the bounds only cap a burst of distinct keys. 10,000 keys of 40-60 characters
 * count about 20 MiB at most; the 16 MiB byte bound applies first for long keys.
 */
export const FORMS_CACHE_LIMITS = Object.freeze({ entries: 10_000, bytes: 16 * 1024 * 1024 });

interface Cached {
  forms: SecretForms;
  bytes: number;
}
const formsCache = new Map<string, Cached>();
let cachedBytes = 0;

liveSecrets.onForget((secret) => {
  const c = formsCache.get(secret);
  if (!c) return;
  formsCache.delete(secret);
  cachedBytes -= c.bytes;
});

/** Keys and counted bytes in the forms cache (tests, health checks). */
export function formsCacheStats(): { entries: number; bytes: number } {
  return { entries: formsCache.size, bytes: cachedBytes };
}

/**
 * The secret as it might appear in a body or header: raw, base64 (also inside a larger
 * base64 value), base64url, hex, URL-encoded as exact forms; and, through
 * {@link SecretForms.escaped}, with any of its characters escaped as JSON, percent-encoding
 * or HTML would escape them. Computed once per key (bounded cache, least recently used
 * first out): the proxy asks for every call.
 */
export function secretForms(secret: string): SecretForms {
  const cached = formsCache.get(secret);
  if (cached) {
    formsCache.delete(secret);
    formsCache.set(secret, cached);
    return cached.forms;
  }
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  const list = [...new Set([...encodedForms(secret), encodeURIComponent(b64)])].filter((f) => f.length >= 8).sort((x, y) => y.length - x.length);
  const slab = Buffer.allocUnsafeSlow(list.reduce((n, f) => n + Buffer.byteLength(f, 'utf8'), 0));
  let at = 0;
  const needles = list.map((f) => {
    const n = slab.write(f, at, 'utf8');
    at += n;
    return slab.subarray(at - n, at);
  });
  // Frozen: the list is shared by every caller.
  const escaped = escapedKey(secret);
  const forms: SecretForms = Object.freeze(Object.assign(list, { needles: Object.freeze(needles), escaped }));
  // Text (UTF-16 counted), the bytes, about 100 bytes of view and array per form, and the escape matcher's key.
  const bytes = list.reduce((n, f) => n + 2 * f.length + 40, 160 + secret.length * 2) + slab.length + 100 * list.length + escaped.bytes;
  formsCache.set(secret, { forms, bytes });
  cachedBytes += bytes;
  while ((formsCache.size > FORMS_CACHE_LIMITS.entries || cachedBytes > FORMS_CACHE_LIMITS.bytes) && formsCache.size > 1) {
    const [oldest, c] = formsCache.entries().next().value as [string, Cached];
    formsCache.delete(oldest);
    cachedBytes -= c.bytes;
  }
  return forms;
}

/**
 * Replaces each form in a buffer; returns the buffer (a new one if anything was found) and
 * the hit count. Uses the forms' own bytes ({@link SecretForms.needles}); a list made
 * elsewhere is encoded for this call only.
 */
export function scrubBuffer(body: Buffer, forms: SecretForms): { body: Buffer; hits: number } {
  const needles = forms.needles ?? forms.map((f) => Buffer.from(f, 'utf8'));
  let hits = 0;
  let current = body;
  for (const form of needles) {
    let at = current.indexOf(form);
    if (at < 0) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at >= 0) {
      hits++;
      parts.push(current.subarray(from, at), MARK_BYTES);
      from = at + form.length;
      at = current.indexOf(form, from);
    }
    parts.push(current.subarray(from));
    current = Buffer.concat(parts);
  }
  if (forms.escaped) {
    const found = findEscaped(current, forms.escaped);
    if (found.length > 0) {
      hits += found.length;
      current = cutOut(current, found);
    }
  }
  return { body: current, hits };
}

/** `buf` with each `[start, end)` range replaced by the mark. */
function cutOut(buf: Buffer, ranges: ReadonlyArray<readonly [number, number]>): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (const [start, end] of ranges) {
    parts.push(buf.subarray(from, start), MARK_BYTES);
    from = end;
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/** Replaces each form in a string (a header's value), escaped forms included. */
export function scrubString(text: string, forms: readonly string[]): { text: string; hits: number } {
  let hits = 0;
  let out = text;
  for (const form of forms) {
    if (!out.includes(form)) continue;
    const pieces = out.split(form);
    hits += pieces.length - 1;
    out = pieces.join(MARK);
  }
  const escaped = (forms as SecretForms).escaped;
  if (escaped && /[\\%&+]/.test(out)) {
    const bytes = Buffer.from(out, 'utf8');
    const found = findEscaped(bytes, escaped);
    if (found.length > 0) {
      hits += found.length;
      out = cutOut(bytes, found).toString('utf8');
    }
  }
  return { text: out, hits };
}
