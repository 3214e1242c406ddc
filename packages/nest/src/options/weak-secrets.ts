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

/** Shannon entropy of a string, in bits (per-character estimate times length). */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...value].length;
  let perChar = 0;
  for (const c of counts.values()) perChar -= (c / n) * Math.log2(c / n);
  return perChar * n;
}

/** Why a secret is weak, or null if it is acceptable. */
export function secretWeakness(secret: string): string | null {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (KNOWN_WEAK_SECRETS.includes(secret.trim().toLowerCase())) return 'is a well-known placeholder';
  if (bytes < 32) return `is ${bytes} bytes long (needs >= 32)`;
  if (estimatedEntropyBits(secret) < 128) return 'has too little entropy (repeated or predictable characters)';
  return null;
}
