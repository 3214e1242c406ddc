/**
 * What `@keyward/nest` and `@keyward/cli` both know: which secrets are weak, how strong a
 * secret is, how much of one may be shown. Pure functions of their arguments; depends on
 * nothing but `node:buffer`.
 */
export { WEAK_SECRETS, KNOWN_WEAK_SECRETS, isPlaceholderSecret, isWellKnownWeakSecret, secretWeakness } from './weak-secrets.js';
export {
  MIN_SECRET_BITS,
  ENGLISH_BITS_PER_LETTER,
  secretStrength,
  estimateTextBits,
  estimateBytesBits,
  decodeSecret,
  printableText,
  type SecretStrength,
} from './secret-strength.js';
export { REDACTED, visibleChars, maskTail, maskHead } from './masking.js';
