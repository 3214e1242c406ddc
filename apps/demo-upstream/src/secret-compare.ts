import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 digest of a secret, used so that secrets of any length compare in constant time. */
export function digestSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Compares two secrets in constant time with respect to their content. Both are hashed
 * first, so inputs of different lengths never make `timingSafeEqual` throw and the
 * comparison time does not depend on where they differ.
 */
export function secretsEqual(presented: string, expected: string): boolean {
  return digestsEqual(digestSecret(presented), digestSecret(expected));
}

/** Constant-time comparison of two SHA-256 digests. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
