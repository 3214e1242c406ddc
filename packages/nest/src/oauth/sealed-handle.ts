import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * A small JSON value sealed for the browser to carry and give back (a flow's handle cookie):
 * AES-256-GCM under a key derived with HKDF from the session secrets and a label of each
 * use's own, so the browser holds bytes it can neither read nor alter, and a value sealed for
 * one use never opens as another. Sealed with the newest secret; opened with any of the ring.
 */
export class SealedHandles<T> {
  private readonly keys: Buffer[];

  /**
   * @param secrets the session secrets, newest first
   * @param label the HKDF info of this use (`'keyward oauth transaction handle v1'`)
   * @param accept the opened JSON as a `T`, or undefined when its shape is wrong
   * @param maxLength the longest value `open` reads (the cookie's bound)
   */
  constructor(
    secrets: readonly string[],
    label: string,
    private readonly accept: (value: Record<string, unknown>) => T | undefined,
    private readonly maxLength = 1024,
  ) {
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', Buffer.from(s, 'utf8'), Buffer.alloc(0), label, 32)));
  }

  seal(value: T): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The value, or undefined for anything that does not open (tampered, truncated, foreign, of another shape). */
  open(sealed: string | undefined): T | undefined {
    if (typeof sealed !== 'string' || sealed.length < 40 || sealed.length > this.maxLength || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
    const raw = Buffer.from(sealed, 'base64url');
    const iv = raw.subarray(0, 12);
    const tag = raw.subarray(raw.length - 16);
    const body = raw.subarray(12, raw.length - 16);
    for (const key of this.keys) {
      let parsed: unknown;
      try {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(tag);
        parsed = JSON.parse(Buffer.concat([d.update(body), d.final()]).toString('utf8'));
      } catch {
        continue; // another secret of the ring
      }
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? this.accept(parsed as Record<string, unknown>) : undefined;
    }
    return undefined;
  }
}
