/** Removes every occurrence of a secret (and its common encodings) from bytes and strings. */
import { encodedForms } from '../redaction/live-secrets.js';

const MARK = '[REDACTED]';

/** The secret as it might appear in a body or header: raw, base64, base64url, hex, URL-encoded. */
export function secretForms(secret: string): string[] {
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  const forms = new Set([...encodedForms(secret), encodeURIComponent(b64)]);
  return [...forms].filter((f) => f.length >= 8).sort((x, y) => y.length - x.length);
}

/** Replaces each form in a buffer; returns the buffer (a new one if anything was found) and the hit count. */
export function scrubBuffer(body: Buffer, forms: readonly string[]): { body: Buffer; hits: number } {
  let hits = 0;
  let current = body;
  for (const form of forms) {
    const needle = Buffer.from(form, 'utf8');
    let at = current.indexOf(needle);
    if (at < 0) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at >= 0) {
      hits++;
      parts.push(current.subarray(from, at), Buffer.from(MARK));
      from = at + needle.length;
      at = current.indexOf(needle, from);
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
    const pieces = out.split(form);
    hits += pieces.length - 1;
    out = pieces.join(MARK);
  }
  return { text: out, hits };
}
