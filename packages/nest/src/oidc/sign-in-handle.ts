import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** A sign-in between its start and its callback. */
export interface PendingSignIn {
  /** The transaction's random id: its single-use mark in the store is named after it. */
  id: string;
  state: string;
  verifier: string;
  nonce: string;
  /** The same-origin path to send the browser to afterwards. */
  returnTo: string;
  redirectUri: string;
  /** When it started (ms since the epoch, the session clock). */
  createdAt: number;
  /** A silent re-authentication (`prompt=none`): the provider's "no session" comes back to `returnTo`. */
  silent?: boolean;
}

const INFO = 'keyward oidc sign-in handle v1';

/**
 * The opaque value of the sign-in's `SameSite=Lax` cookie (there is no session yet to keep
 * the pending sign-in in): the whole pending sign-in sealed with AES-256-GCM under a key
 * derived (HKDF, a label of its own) from the session secrets, so the browser carries
 * bytes it can neither read nor alter. It is single use through a mark the callback sets
 * in the store (`acquireLease('oidc-tx:<id>')`), so a replay fails on every instance, and
 * it expires with `oidc.transactionTtlMs`. The start writes nothing to the store: an
 * anonymous route cannot be used to fill it.
 */
export class SignInHandles {
  private readonly keys: Buffer[];

  /** `secrets`: the session secrets, newest first (the newest seals; all open). */
  constructor(secrets: readonly string[]) {
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', Buffer.from(s, 'utf8'), Buffer.alloc(0), INFO, 32)));
  }

  seal(p: PendingSignIn): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(p), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The pending sign-in, or undefined for anything that does not open (tampered, truncated, foreign). */
  open(value: string | undefined): PendingSignIn | undefined {
    if (typeof value !== 'string' || value.length < 40 || value.length > 3072 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
    const raw = Buffer.from(value, 'base64url');
    const iv = raw.subarray(0, 12);
    const tag = raw.subarray(raw.length - 16);
    const body = raw.subarray(12, raw.length - 16);
    for (const key of this.keys) {
      let p: Partial<PendingSignIn>;
      try {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(tag);
        p = JSON.parse(Buffer.concat([d.update(body), d.final()]).toString('utf8')) as Partial<PendingSignIn>;
      } catch {
        continue; // try the next secret
      }
      const strings = [p.id, p.state, p.verifier, p.nonce, p.returnTo, p.redirectUri];
      if (strings.every((s) => typeof s === 'string') && typeof p.createdAt === 'number' && (p.silent === undefined || p.silent === true)) return p as PendingSignIn;
      return undefined;
    }
    return undefined;
  }
}
