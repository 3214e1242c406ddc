import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Bytes of randomness in a session ID (256 bits). */
export const SESSION_ID_BYTES = 32;
const ENCODED_ID_LENGTH = 43; // base64url of 32 bytes, unpadded
const ENCODED_SIG_LENGTH = 43; // base64url of an HMAC-SHA256
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;
const SIGNING_CONTEXT = 'keyward-session-v1.';

/** A fresh random session ID (base64url, 256 bits). */
export function generateSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}

/**
 * Where a session lives in the store: a one-way hash of its ID, so a store dump never
 * yields a usable cookie.
 */
export function storeKeyOf(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url');
}

/** The public handle a user sees in "my sessions": derived from the store key, never reversible. */
export function handleOf(storeKey: string): string {
  return createHash('sha256').update('handle.').update(storeKey).digest('base64url').slice(0, 22);
}

/**
 * Signs and verifies session cookie values with a ring of secrets: sign with the newest,
 * verify with all, so a secret can rotate without logging anybody out.
 */
export class SecretRing {
  private readonly keys: readonly KeyObject[];

  /** @param secrets newest first; validated by the options check before they get here. */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new TypeError('SecretRing needs at least one secret.');
    this.keys = secrets.map((s) => createSecretKey(Buffer.from(s, 'utf8')));
  }

  /** `<id>.<signature>` signed with the newest secret. */
  sign(sessionId: string): string {
    return `${sessionId}.${this.mac(this.keys[0]!, sessionId).toString('base64url')}`;
  }

  /**
   * Returns the session ID if the value is well-formed and signed by any secret of the
   * ring, else null. Every secret is tried, so timing does not reveal which one matched.
   */
  verify(cookieValue: string): { sessionId: string; signedWithOldSecret: boolean } | null {
    if (cookieValue.length !== ENCODED_ID_LENGTH + 1 + ENCODED_SIG_LENGTH || !COOKIE_VALUE.test(cookieValue)) {
      return null;
    }
    const sessionId = cookieValue.slice(0, ENCODED_ID_LENGTH);
    const given = Buffer.from(cookieValue.slice(ENCODED_ID_LENGTH + 1), 'base64url');
    if (given.length !== 32 || given.toString('base64url') !== cookieValue.slice(ENCODED_ID_LENGTH + 1)) return null;
    let matched = -1;
    for (let i = 0; i < this.keys.length; i++) {
      if (timingSafeEqual(this.mac(this.keys[i]!, sessionId), given) && matched < 0) matched = i;
    }
    return matched < 0 ? null : { sessionId, signedWithOldSecret: matched > 0 };
  }

  private mac(key: KeyObject, sessionId: string): Buffer {
    return createHmac('sha256', key).update(SIGNING_CONTEXT).update(sessionId).digest();
  }
}
