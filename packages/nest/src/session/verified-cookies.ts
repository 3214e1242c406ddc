import { storeKeyOf, type SecretRing } from './session-id.js';

/** Verified cookie values remembered per process (about 250 bytes each). */
const VERIFIED_CACHE_SIZE = 10_000;

/** What a well-signed cookie value proves: its session ID and where that session is stored. */
interface VerifiedCookie {
  sessionId: string;
  key: string;
  signedWithOldSecret: boolean;
}

/**
 * Cookie value -> what verifying it proved. Verification is a pure function of the value
 * and the secret ring (fixed for the engine's life), so remembering it is safe: only
 * values that verified are kept, the store is still read on every request, and an ended
 * session stays ended. Saves one HMAC and one SHA-256 per request of a returning client.
 * Bounded ({@link VERIFIED_CACHE_SIZE}, least recently used first out); the entry of a
 * session that ends or moves to a new ID is dropped at once ({@link VerifiedCookies.forget}).
 */
export class VerifiedCookies {
  private readonly verified = new Map<string, VerifiedCookie>();
  /** Store key -> its remembered cookie value, so an ended session is forgotten at once. */
  private readonly verifiedByKey = new Map<string, string>();

  constructor(private readonly ring: SecretRing) {}

  /** What the cookie value proves, or null when no secret of the ring signed it. */
  verify(cookieValue: string): VerifiedCookie | null {
    const known = this.verified.get(cookieValue);
    if (known) {
      // Least recently used goes first: a Map iterates in insertion order, so re-insert on use.
      this.verified.delete(cookieValue);
      this.verified.set(cookieValue, known);
      return known;
    }
    const v = this.ring.verify(cookieValue);
    if (!v) return null;
    const entry = { sessionId: v.sessionId, key: storeKeyOf(v.sessionId), signedWithOldSecret: v.signedWithOldSecret };
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const [oldest, old] = this.verified.entries().next().value!;
      this.verified.delete(oldest);
      this.verifiedByKey.delete(old.key);
    }
    this.verified.set(cookieValue, entry);
    this.verifiedByKey.set(entry.key, cookieValue);
    return entry;
  }

  /** Drops the remembered cookie of a session that no longer exists. */
  forget(key: string): void {
    const cookieValue = this.verifiedByKey.get(key);
    if (cookieValue === undefined) return;
    this.verifiedByKey.delete(key);
    this.verified.delete(cookieValue);
  }
}
