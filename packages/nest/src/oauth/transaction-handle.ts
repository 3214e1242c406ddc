import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** What the browser's transaction cookie points to: a session (its store key) and one pending transaction in it. */
export interface TransactionPointer {
  /** Store key of the session that started the flow (a hash of its ID, never the ID). */
  k: string;
  /** The transaction's random id (its sealed entry in the session is named after it). */
  t: string;
  /** The connection's name. */
  n: string;
}

const INFO = 'keyward oauth transaction handle v1';

/**
 * The opaque handle the browser carries from the start of a flow to its callback, in a
 * short-lived HttpOnly `SameSite=Lax` cookie: it must survive the provider's cross-site
 * redirect back, which a `SameSite=Strict` session cookie does not. It is sealed
 * (AES-256-GCM, a key derived from the session secrets with HKDF) and holds no state,
 * verifier or nonce: those stay in the session, on the server. Not a bearer of anything
 * alone: the transaction it names is single use and bound to the session.
 */
export class TransactionHandles {
  private readonly keys: Buffer[];

  /** `secrets`: the session secrets, newest first (the newest seals; all open). */
  constructor(secrets: readonly string[]) {
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', Buffer.from(s, 'utf8'), Buffer.alloc(0), INFO, 32)));
  }

  seal(p: TransactionPointer): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(p), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The pointer, or undefined for anything that does not open (tampered, truncated, foreign). */
  open(value: string | undefined): TransactionPointer | undefined {
    if (typeof value !== 'string' || value.length < 40 || value.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
    const raw = Buffer.from(value, 'base64url');
    const iv = raw.subarray(0, 12);
    const tag = raw.subarray(raw.length - 16);
    const body = raw.subarray(12, raw.length - 16);
    for (const key of this.keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(tag);
        const p = JSON.parse(Buffer.concat([d.update(body), d.final()]).toString('utf8')) as Partial<TransactionPointer>;
        if (typeof p.k === 'string' && typeof p.t === 'string' && typeof p.n === 'string') return { k: p.k, t: p.t, n: p.n };
        return undefined;
      } catch {
        // try the next secret
      }
    }
    return undefined;
  }
}
