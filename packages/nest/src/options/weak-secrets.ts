import { MIN_SECRET_BITS, decodeSecret, estimateTextBits, secretStrength } from './secret-strength.js';

/**
 * Secrets that appear in tutorials, docs and advisories. Any of them in production is a
 * refusal, whatever its length. Compared case-insensitively after trimming.
 */
export const KNOWN_WEAK_SECRETS: readonly string[] = [
  'change-this-to-a-secure-random-value',
  'keyboard cat',
  'my-secret',
  'mysecret',
  'my secret',
  'secret',
  'changeme',
  'change-me',
  'change me',
  'supersecret',
  'super-secret',
  'your-secret-key',
  'your_secret_key',
  'yoursecretkey',
  'session-secret',
  'sessionsecret',
  'a secret with minimum length of 32 characters',
  'averylogphrasebiggerthanthirtytwochars',
  'this-is-a-secret',
  'development',
  'default',
  'password',
];

/** Shannon entropy of a string, in bits (per-character estimate times length). Kept for callers; the audit uses {@link secretStrength}. */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...value].length;
  let perChar = 0;
  for (const c of counts.values()) perChar -= (c / n) * Math.log2(c / n);
  return perChar * n;
}

/** Letters and digits only, lower-cased: `CHANGE_THIS_TO_A_SECURE_RANDOM_VALUE` and the dashed form compare equal. */
function normalized(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const PLACEHOLDER_CORES = [...new Set(KNOWN_WEAK_SECRETS.map(normalized))].filter((c) => c.length >= 6).sort((a, b) => b.length - a.length);

/** Exactly a known placeholder (ignoring case, spaces and punctuation). */
function isPlaceholder(value: string): boolean {
  const plain = normalized(value);
  return KNOWN_WEAK_SECRETS.includes(value.trim().toLowerCase()) || (plain.length > 0 && PLACEHOLDER_CORES.includes(plain));
}

/**
 * A placeholder with a suffix or prefix ('change-this-to-a-secure-random-value-2026'):
 * what is left once the placeholder is removed must be strong on its own.
 */
function isDressedPlaceholder(value: string, minBits: number): boolean {
  const plain = normalized(value);
  return PLACEHOLDER_CORES.some((core) => plain.includes(core) && estimateTextBits(plain.split(core).join('')) < minBits);
}

/**
 * Why a secret is weak, or null if it is acceptable. The message never contains the
 * secret. Refused: a known placeholder (exactly, or with small changes, or hex/base64-
 * encoded), fewer than 32 bytes, or less than `minBits` of estimated entropy
 * ({@link secretStrength}: judged as typed and, for hex/base64/base64url, as decoded).
 *
 * @example
 * secretWeakness('keyboard cat'); // 'is a well-known placeholder'
 * secretWeakness(randomBytes(16).toString('hex')); // null (128 bits)
 */
export function secretWeakness(secret: string, minBits: number = MIN_SECRET_BITS): string | null {
  if (isPlaceholder(secret)) return 'is a well-known placeholder';
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < 32) return `is ${bytes} bytes long (needs >= 32)`;
  if (isDressedPlaceholder(secret, minBits)) return 'is a well-known placeholder with small changes';
  const strength = secretStrength(secret);
  const decoded = strength.decodedText;
  if (decoded !== undefined && (isPlaceholder(decoded) || isDressedPlaceholder(decoded, minBits))) {
    return `is the ${decodeSecret(secret)!.encoding} encoding of a well-known placeholder`;
  }
  if (strength.bits >= minBits) return null;
  return strength.judgedAs === 'text'
    ? `has too little entropy (about ${strength.bits} bits estimated, needs >= ${minBits}; English words, repeated or predictable characters count for little)`
    : `encodes too little entropy (judged by its ${strength.judgedAs}-decoded ${decoded !== undefined ? 'text' : 'bytes'}: about ${strength.bits} bits, needs >= ${minBits})`;
}
