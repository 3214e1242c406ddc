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

/** Letters and digits only, lower-cased: `CHANGE_THIS_TO_A_SECURE_RANDOM_VALUE` and the dashed form compare equal. */
function normalized(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const PLACEHOLDER_CORES = [...new Set(KNOWN_WEAK_SECRETS.map(normalized))].filter((c) => c.length >= 6).sort((a, b) => b.length - a.length);

/**
 * Entropy that survives the usual shapes of a made-up secret: a short unit repeated
 * (`'abc'.repeat(20)`, `'0123456789'.repeat(4)`) counts as its unit, and runs of
 * neighbouring characters (`abcdef…`, `123456…`, `aaaa…`) add next to nothing.
 */
function effectiveEntropyBits(value: string): number {
  const chars = [...value];
  const n = chars.length;
  for (let p = 1; p <= n / 2; p++) {
    if (chars.every((c, i) => i < p || c === chars[i - p])) return estimatedEntropyBits(chars.slice(0, p).join(''));
  }
  // A step is predictable inside a run of 3+ neighbours (random text rarely has one).
  const near = (i: number): boolean => i >= 1 && i < n && Math.abs(chars[i]!.codePointAt(0)! - chars[i - 1]!.codePointAt(0)!) <= 1;
  let predictable = 0;
  for (let i = 1; i < n; i++) if (near(i) && (near(i - 1) || near(i + 1))) predictable++;
  const share = n < 2 ? 1 : predictable / (n - 1);
  // An odd short run happens by chance; a secret made mostly of runs is a keyboard walk.
  return share > 0.25 ? estimatedEntropyBits(value) * (1 - share) : estimatedEntropyBits(value);
}

/** Why a secret is weak, or null if it is acceptable. The message never contains the secret. */
export function secretWeakness(secret: string): string | null {
  const bytes = Buffer.byteLength(secret, 'utf8');
  const plain = normalized(secret);
  if (KNOWN_WEAK_SECRETS.includes(secret.trim().toLowerCase()) || (plain.length > 0 && PLACEHOLDER_CORES.includes(plain))) {
    return 'is a well-known placeholder';
  }
  if (bytes < 32) return `is ${bytes} bytes long (needs >= 32)`;
  // A placeholder with a suffix or prefix ('change-this-to-a-secure-random-value-2026'):
  // what is left once the placeholder is removed must be strong on its own.
  for (const core of PLACEHOLDER_CORES) {
    if (plain.includes(core) && effectiveEntropyBits(plain.split(core).join('')) < 128) {
      return 'is a well-known placeholder with small changes';
    }
  }
  if (effectiveEntropyBits(secret) < 128) return 'has too little entropy (repeated or predictable characters)';
  return null;
}
