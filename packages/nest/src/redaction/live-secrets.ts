import { createHmac, randomBytes } from 'node:crypto';

const MARK = '[REDACTED]';
const MIN_LENGTH = 8;

/** Base64 characters of `b` at byte offset `shift` inside a larger base64 value (those that depend on `b` alone). */
function base64Core(b: Buffer, shift: 0 | 1 | 2): string {
  const text = Buffer.concat([Buffer.alloc(shift), b, Buffer.alloc(3)]).toString('base64');
  return text.slice(Math.ceil((shift * 8) / 6), Math.floor(((shift + b.length) * 8) / 6));
}

/** The forms a secret may take in text: raw, base64 (padded or not), base64url, hex, URL-encoded. */
export function encodedForms(secret: string | Buffer): string[] {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  const forms = new Set<string>([b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase()]);
  // Also inside a larger base64 value (e.g. Basic auth of "user:key", a base64 JSON document).
  for (const shift of [0, 1, 2] as const) {
    const core = base64Core(b, shift);
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  if (typeof secret === 'string') {
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1)); // as it appears inside a JSON string
  }
  return [...forms].filter((f) => f.length >= MIN_LENGTH);
}

/**
 * Every secret the process holds live (server keys, minted keys, user keys, session
 * secrets, key-encryption keys), in every encoded form, so any text can be scrubbed of
 * them by exact match. Bounded (about 1.3 KB per secret): past `capacity`, the oldest
 * unpinned entries (per-session keys) are forgotten; pinned ones (configuration secrets)
 * never are.
 */
export class LiveSecrets {
  private readonly forms = new Map<string, number>(); // form -> refcount
  /** Forms indexed by their first MIN_LENGTH characters: a scan costs one map lookup per position, whatever the number of secrets. */
  private readonly byPrefix = new Map<string, Set<string>>();
  private readonly order: string[][] = [];
  private readonly known = new Set<string>();

  constructor(private readonly capacity = 20_000) {}

  /** Number of secrets tracked. */
  get size(): number {
    return this.known.size;
  }

  /** Starts scrubbing a secret (a string, or raw key bytes). `pinned` ones are never evicted. */
  add(secret: string | Buffer, options: { pinned?: boolean } = {}): void {
    const id = typeof secret === 'string' ? `s:${secret}` : `b:${secret.toString('base64')}`;
    if (this.known.has(id) || (typeof secret === 'string' && secret.length < MIN_LENGTH)) return;
    this.known.add(id);
    const forms = encodedForms(secret);
    if (!options.pinned) this.order.push([id, ...forms]);
    for (const f of forms) {
      this.forms.set(f, (this.forms.get(f) ?? 0) + 1);
      const prefix = f.slice(0, MIN_LENGTH);
      let bucket = this.byPrefix.get(prefix);
      if (!bucket) this.byPrefix.set(prefix, (bucket = new Set()));
      bucket.add(f);
    }
    if (this.order.length > this.capacity) this.evict();
  }

  /** True if the text contains any tracked secret in any form. */
  contains(text: string): boolean {
    return this.find(text, 0) !== null;
  }

  /** The text with every tracked secret replaced by `[REDACTED]`. */
  scrub(text: string): string {
    if (this.forms.size === 0 || text.length < MIN_LENGTH) return text;
    let out = '';
    let from = 0;
    for (let hit = this.find(text, 0); hit !== null; hit = this.find(text, from)) {
      out += text.slice(from, hit.at) + MARK;
      from = hit.at + hit.form.length;
    }
    return from === 0 ? text : out + text.slice(from);
  }

  private find(text: string, start: number): { at: number; form: string } | null {
    for (let i = start; i <= text.length - MIN_LENGTH; i++) {
      const bucket = this.byPrefix.get(text.slice(i, i + MIN_LENGTH));
      if (!bucket) continue;
      let best: string | undefined;
      for (const f of bucket) if ((!best || f.length > best.length) && text.startsWith(f, i)) best = f;
      if (best) return { at: i, form: best };
    }
    return null;
  }

  private evict(): void {
    const [id, ...forms] = this.order.shift()!;
    this.known.delete(id!);
    for (const f of forms) {
      const n = (this.forms.get(f) ?? 1) - 1;
      if (n > 0) this.forms.set(f, n);
      else {
        this.forms.delete(f);
        const bucket = this.byPrefix.get(f.slice(0, MIN_LENGTH));
        bucket?.delete(f);
        if (bucket?.size === 0) this.byPrefix.delete(f.slice(0, MIN_LENGTH));
      }
    }
  }
}

/** The process-wide registry: the vault, the providers and `Secret` add to it. */
export const liveSecrets = new LiveSecrets();

const logKey = randomBytes(32);

/**
 * A keyed hash of a session (or any) identifier for log lines: two lines about the same
 * session can be correlated, and the identifier cannot be recovered. The key is random
 * per process.
 */
export function logId(identifier: string): string {
  return createHmac('sha256', logKey).update(identifier).digest('base64url').slice(0, 16);
}
