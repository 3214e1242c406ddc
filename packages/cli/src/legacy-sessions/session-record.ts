import { maskHead, maskTail } from '@keyward/core';
import { decodeCookieValue } from '../probe/cookie-decoder.js';
import { findSecretFields, PROVIDER_PATTERNS, isPlaceholder } from '../secrets/secret-detector.js';

/** A secret inside one stored session record. `value` is kept only to mask it and to compare; it is never printed. */
export interface RecordSecret {
  /** Path of the member in the record (`apiKey`, `passport.user.accessToken`), or `(value)` for a record that is not JSON. */
  path: string;
  /** What it is: a provider's key format, or what the member's name says (token, password, secret, key). */
  kind: string;
  value: string;
}

const FORMS = /^(?:raw value|URL-decoded|express signed cookie \(s:\) payload|cookie-parser JSON \(j:\)|base64)$/;

function kindOf(label: string, name: string): string {
  if (!label.startsWith('value of ')) return label;
  const n = name.toLowerCase();
  if (/pass(?:word|wd)/.test(n)) return 'password';
  if (/token/.test(n)) return 'token';
  if (/secret/.test(n)) return 'secret';
  if (/key/.test(n)) return 'key';
  return 'credential';
}

/**
 * The secrets a stored session record holds in plain text. The record is read in every form a
 * session store writes: express-session JSON (connect-redis's default serializer), cookie-parser's
 * `j:` JSON, an express `s:` signed value, base64 JSON (cookie-session's encoding); members are
 * judged as the probe judges a decoded cookie ({@link findSecretFields}), tokens included (a server
 * keeps OAuth tokens in the session). A record that is not JSON in any form is searched for
 * provider key formats.
 *
 * @example
 * findRecordSecrets('{"cookie":{"path":"/"},"apiKey":"sk_live_…"}'); // [{ path: 'apiKey', kind: 'Stripe secret key', … }]
 */
export function findRecordSecrets(record: string): RecordSecret[] {
  const found = new Map<string, RecordSecret>();
  let parsed = false;
  for (const form of decodeCookieValue(record)) {
    if (!FORMS.test(form.how)) continue;
    const text = form.text.trim();
    if (!text.startsWith('{') && !text.startsWith('[')) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      continue;
    }
    parsed = true;
    for (const f of findSecretFields(json, true)) {
      // one finding per member: the first form that reads it (the raw record before a decoded one)
      if (!found.has(f.path)) found.set(f.path, { path: f.path, kind: kindOf(f.label, f.name), value: f.value });
    }
  }
  if (!parsed) {
    for (const { provider, pattern } of PROVIDER_PATTERNS) {
      for (const m of record.matchAll(new RegExp(pattern.source, 'g'))) {
        const key = `(value)\u0000${m[0]}`;
        if (!isPlaceholder(m[0]) && !found.has(key)) found.set(key, { path: '(value)', kind: provider, value: m[0] });
      }
    }
  }
  return [...found.values()];
}

/**
 * What a report may show of a secret found in a record: its last characters (as a provider's
 * dashboard tells keys apart, so the owner knows which key to rotate) and its length.
 *
 * @example
 * secretHint('sk_live_0123456789abcdef'); // '••••cdef (24 chars)'
 */
export function secretHint(value: string): string {
  return `${maskTail(value)} (${value.length} chars)`;
}

/**
 * A record's key as a report shows it: the prefix up to the last `:` and the start of the
 * session ID after it (an ID is a credential while the old session lives). Enough to find the key
 * again with `redis-cli --scan --pattern 'sess:abcd*'`.
 *
 * @example
 * maskRecordKey('sess:Qm9vT2ZmX3RoZV9ub3NlX2ZsYWc'); // 'sess:Qm9v…(27 chars)'
 */
export function maskRecordKey(key: string): string {
  const i = key.lastIndexOf(':');
  return i >= 0 ? `${key.slice(0, i + 1)}${maskHead(key.slice(i + 1))}` : maskHead(key);
}
