import { randomBytes } from 'node:crypto';

/** A strong random secret (32 bytes, base64url), for session secrets, server keys and tokens. */
export const secret = (): string => randomBytes(32).toString('base64url');

/** A vault key `<id>:<base64 of 32 bytes>` (or of the given bytes). */
export const vaultKey = (id: string, bytes: Buffer = randomBytes(32)): string => `${id}:${bytes.toString('base64')}`;

/**
 * Every way a secret could sit in stored or sent bytes: raw, base64 and base64url (at the
 * three possible byte alignments inside a longer encoded blob), hex (both cases) and
 * URL-encoded.
 */
export function encodedForms(value: string): string[] {
  const raw = Buffer.from(value, 'utf8');
  const forms = new Set<string>([value, encodeURIComponent(value), raw.toString('hex'), raw.toString('hex').toUpperCase()]);
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), raw]);
    for (const enc of ['base64', 'base64url'] as const) {
      let s = padded.toString(enc).replace(/=+$/, '');
      // Drop the characters that mix in the neighbouring bytes, at both ends.
      const lead = Math.ceil((shift * 4) / 3);
      s = s.slice(lead, s.length - 2);
      if (s.length >= 16) forms.add(s);
    }
  }
  return [...forms];
}

/** Every occurrence of any form of any secret in the haystack: which secret, and which form. */
export function findSecrets(haystack: Buffer | string, secrets: readonly string[]): Array<{ secret: number; form: string }> {
  const hay = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack, 'utf8');
  const hits: Array<{ secret: number; form: string }> = [];
  secrets.forEach((s, i) => {
    for (const form of encodedForms(s)) if (hay.includes(Buffer.from(form, 'latin1'))) hits.push({ secret: i, form: form === s ? 'raw' : form.slice(0, 6) + '…' });
  });
  return hits;
}
