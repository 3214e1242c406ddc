/** Removes every occurrence of a secret (and its common encodings) from bytes and strings. */
import { encodedForms } from '../redaction/live-secrets.js';
import { REDACTED } from '@keyward/core';

const MARK = REDACTED;

const formsCache = new Map<string, readonly string[]>();
const CACHE_LIMIT = 10_000;

/**
 * The secret as it might appear in a body or header: raw, base64 (also inside a larger
 * base64 value), base64url, hex, URL-encoded. Computed once per key (bounded cache): the
 * proxy asks for every call.
 */
export function secretForms(secret: string): readonly string[] {
  const cached = formsCache.get(secret);
  if (cached) return cached;
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  // Frozen: the list is shared by every caller and keys the byte-form cache below.
  const forms = Object.freeze([...new Set([...encodedForms(secret), encodeURIComponent(b64)])].filter((f) => f.length >= 8).sort((x, y) => y.length - x.length));
  if (formsCache.size >= CACHE_LIMIT) formsCache.delete(formsCache.keys().next().value!);
  formsCache.set(secret, forms);
  return forms;
}

/** The forms as bytes, encoded once per forms list (the lists themselves are cached above). */
const formBytes = new WeakMap<readonly string[], Buffer[]>();

/** Replaces each form in a buffer; returns the buffer (a new one if anything was found) and the hit count. */
export function scrubBuffer(body: Buffer, forms: readonly string[]): { body: Buffer; hits: number } {
  let bytes = formBytes.get(forms);
  if (!bytes) {
    bytes = forms.map((f) => Buffer.from(f, 'utf8'));
    formBytes.set(forms, bytes);
  }
  let hits = 0;
  let current = body;
  for (const form of bytes) {
    let at = current.indexOf(form);
    if (at < 0) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at >= 0) {
      hits++;
      parts.push(current.subarray(from, at), Buffer.from(MARK));
      from = at + form.length;
      at = current.indexOf(form, from);
    }
    parts.push(current.subarray(from));
    current = Buffer.concat(parts);
  }
  return { body: current, hits };
}

/** Replaces each form in a string. */
export function scrubString(text: string, forms: readonly string[]): { text: string; hits: number } {
  let hits = 0;
  let out = text;
  for (const form of forms) {
    if (!out.includes(form)) continue;
    const pieces = out.split(form);
    hits += pieces.length - 1;
    out = pieces.join(MARK);
  }
  return { text: out, hits };
}
