import { Buffer } from 'node:buffer';
import { MIN_SECRET_BITS, decodeSecret, estimateTextBits, secretStrength } from './secret-strength.js';

/**
 * Well-known weak or placeholder secrets, as written in the docs, tutorials and advisories
 * they come from (the case matters to the CLI's probe, which tries each one as a signing
 * key). The library's self-audit refuses any of them in production whatever its length;
 * the CLI's audit flags them in source. Compared case-insensitively after trimming by
 * {@link isWellKnownWeakSecret}.
 */
export const WEAK_SECRETS: readonly string[] = Object.freeze([
  // the advisory's own placeholder
  'change-this-to-a-secure-random-value',
  // express-session / cookie-session / cookie-parser docs and tutorials
  'keyboard cat',
  'keyboard-cat',
  'my-secret',
  'mysecret',
  'my secret',
  'mySecret',
  'my_secret',
  'secret',
  'Secret',
  'SECRET',
  'secret1',
  'secret2',
  'secret-key',
  'secretKey',
  'secret_key',
  'supersecret',
  'super-secret',
  'super secret',
  'superSecret',
  'super-secret-key',
  'topsecret',
  'top-secret',
  'shhhh',
  'shhhhh',
  'shhhhhhared-secret',
  'sekrit',
  'session-secret',
  'sessionsecret',
  'session_secret',
  'this-is-a-secret',
  'your-secret',
  'your-secret-key',
  'your_secret_key',
  'yoursecret',
  'yoursecretkey',
  'changeme',
  'change-me',
  'change_me',
  'change me',
  'changeit',
  'key1',
  'key2',
  'keys',
  'abc123',
  'password',
  'passw0rd',
  '123456',
  'default',
  'dev',
  'development',
  'test',
  'jwt-secret',
  'jwt_secret',
  'jwtsecret',
  'jwtSecret',
  'JWT_SECRET',
  'cookie-secret',
  'cookiesecret',
  // NestJS docs: session, cookies, secure-session, JWT
  'averylogphrasebiggerthanthirtytwochars',
  'mq9hDxBVDbspDR6n',
  'a secret with minimum length of 32 characters',
  'DO NOT USE THIS VALUE. INSTEAD, CREATE A COMPLEX SECRET AND KEEP IT SAFE OUTSIDE OF THE SOURCE CODE.',
  'secretOrPrivateKey',
  // Fastify docs
  'a-secret-with-minimum-length-of-32-characters',
  'my-secret-key',
]);

/** The same list under the name `@keyward/nest` exports it by. */
export const KNOWN_WEAK_SECRETS: readonly string[] = WEAK_SECRETS;

const LOWER: ReadonlySet<string> = new Set(WEAK_SECRETS.map((s) => s.toLowerCase()));

/** True when `value` is on the list of well-known weak secrets (case-insensitive, trimmed). */
export function isWellKnownWeakSecret(value: string): boolean {
  return LOWER.has(value.trim().toLowerCase());
}

/** Letters and digits only, lower-cased: `CHANGE_THIS_TO_A_SECURE_RANDOM_VALUE` and the dashed form compare equal. */
function normalized(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const PLACEHOLDER_CORES = [...new Set(WEAK_SECRETS.map(normalized))].filter((c) => c.length >= 6).sort((a, b) => b.length - a.length);

/** Exactly a known placeholder (ignoring case, spaces and punctuation). */
function isPlaceholder(value: string): boolean {
  const plain = normalized(value);
  return isWellKnownWeakSecret(value) || (plain.length > 0 && PLACEHOLDER_CORES.includes(plain));
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
 * True for a known placeholder: exactly, with small changes, or hex/base64-encoded (the
 * cases {@link secretWeakness} names as placeholders).
 */
export function isPlaceholderSecret(value: string, minBits: number = MIN_SECRET_BITS): boolean {
  if (isPlaceholder(value) || isDressedPlaceholder(value, minBits)) return true;
  const decoded = secretStrength(value).decodedText;
  return decoded !== undefined && (isPlaceholder(decoded) || isDressedPlaceholder(decoded, minBits));
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
