/**
 * Finds canary secrets in captured bytes (responses, log output, store dumps) in every
 * form a secret commonly takes in text: raw, base64 (at any byte alignment), base64url,
 * hex (both cases), URL-encoded (percent-escaped where needed, and every byte escaped)
 * and JSON-string-escaped. One pass over the bytes checks every form of every canary at
 * once (Rabin-Karp with a fixed window, a bitmap prefilter, then an exact comparison).
 */

/** What kind of secret a canary stands for (used in reports only). */
export type CanaryKind =
  | 'server-key'
  | 'admin-token'
  | 'minted-key'
  | 'user-key'
  | 'session-secret'
  | 'vault-key'
  | 'session-cookie'
  | 'session-id'
  | 'oauth-access-token'
  | 'oauth-refresh-token'
  | 'oauth-id-token'
  | 'oauth-client-secret';

/** A planted secret. `value` is text, or raw bytes (a vault key). */
export interface Canary {
  kind: CanaryKind;
  /** A human label for reports (never the value). */
  label: string;
  value: string | Buffer;
}

/** The form names a canary is searched in. */
export const FORM_NAMES = ['raw', 'base64', 'base64url', 'hex', 'HEX', 'url', 'url-all', 'json'] as const;
export type FormName = (typeof FORM_NAMES)[number];

/** One searched byte pattern. */
interface Pattern {
  canary: Canary;
  form: FormName;
  bytes: Buffer;
}

/** A canary found somewhere it must never be. */
export interface Hit {
  source: string;
  kind: CanaryKind;
  canary: string;
  form: FormName;
  offset: number;
  /** Up to 40 bytes either side, the match itself replaced by «label/form» so reports do not re-leak it. */
  context: string;
}

/** Window of the rolling hash: every pattern must be at least this long. */
export const WINDOW = 24;
const BASE = 0x01000193;
const BITMAP_BITS = 24;

/**
 * The part of base64(prefix of `shift` unknown bytes + value + unknown bytes) that depends
 * only on `value`: how the value reads when it sits at any offset inside a larger blob
 * that was base64-encoded as a whole.
 */
function stableBase64(value: Buffer, shift: 0 | 1 | 2): string {
  const padded = Buffer.concat([Buffer.alloc(shift), value, Buffer.alloc(3)]);
  const text = padded.toString('base64');
  const firstBit = shift * 8;
  const endBit = (shift + value.length) * 8;
  const first = Math.ceil(firstBit / 6);
  const last = Math.floor(endBit / 6); // exclusive: char j covers bits [6j, 6j + 6)
  return text.slice(first, last);
}

function percentAll(value: Buffer): string {
  let out = '';
  for (const b of value) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Every form of a canary, as byte patterns (deduplicated; first form name wins). */
export function canaryForms(value: string | Buffer): Array<{ form: FormName; bytes: Buffer }> {
  const raw = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const forms: Array<[FormName, string | Buffer]> = [['raw', raw]];
  for (const shift of [0, 1, 2] as const) {
    const b64 = stableBase64(raw, shift);
    forms.push(['base64', b64], ['base64url', b64.replace(/\+/g, '-').replace(/\//g, '_')]);
  }
  const hex = raw.toString('hex');
  forms.push(['hex', hex], ['HEX', hex.toUpperCase()]);
  if (typeof value === 'string') {
    forms.push(['url', encodeURIComponent(value)], ['json', JSON.stringify(value).slice(1, -1)]);
  }
  const padded64 = raw.toString('base64');
  forms.push(['url', encodeURIComponent(padded64)], ['url-all', percentAll(raw)]);
  const seen = new Set<string>();
  const out: Array<{ form: FormName; bytes: Buffer }> = [];
  for (const [form, f] of forms) {
    const bytes = typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
    const id = bytes.toString('latin1');
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ form, bytes });
  }
  return out;
}

function hashWindow(bytes: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < WINDOW; i++) h = (Math.imul(h, BASE) + bytes[at + i]!) | 0;
  return h;
}

/** BASE^(WINDOW-1) mod 2^32. */
const TOP = (() => {
  let p = 1;
  for (let i = 0; i < WINDOW - 1; i++) p = Math.imul(p, BASE);
  return p;
})();

function printable(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Scans byte sources for every form of every registered canary. */
export class CanaryDetector {
  private readonly patterns = new Map<number, Pattern[]>();
  private readonly bitmap = new Uint8Array(1 << (BITMAP_BITS - 3));
  private readonly registered = new Set<string>();
  private readonly canaries: Canary[] = [];
  private patternCount = 0;
  /** Totals over every scan. */
  readonly totals = { sources: 0, bytes: 0 };

  /** Registers a canary (idempotent on kind + value). Throws if a form is shorter than the window. */
  add(canary: Canary): void {
    const id = `${canary.kind}|${typeof canary.value === 'string' ? `s:${canary.value}` : `b:${canary.value.toString('base64')}`}`;
    if (this.registered.has(id)) return;
    this.registered.add(id);
    this.canaries.push(canary);
    for (const { form, bytes } of canaryForms(canary.value)) {
      if (bytes.length < WINDOW) throw new RangeError(`canary ${canary.label}: form ${form} is ${bytes.length} bytes, shorter than the ${WINDOW}-byte window`);
      const h = hashWindow(bytes, 0);
      const bit = h >>> (32 - BITMAP_BITS);
      this.bitmap[bit >>> 3]! |= 1 << (bit & 7);
      let list = this.patterns.get(h);
      if (!list) this.patterns.set(h, (list = []));
      list.push({ canary, form, bytes });
      this.patternCount++;
    }
  }

  /** Number of canaries registered. */
  get canaryCount(): number {
    return this.canaries.length;
  }

  /** Number of byte patterns searched (canaries x their distinct forms). */
  get patternTotal(): number {
    return this.patternCount;
  }

  /** Canaries registered, by kind. */
  countsByKind(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.canaries) out[c.kind] = (out[c.kind] ?? 0) + 1;
    return out;
  }

  /** Every hit of any canary form in `bytes`. */
  scan(source: string, bytes: Buffer): Hit[] {
    this.totals.sources++;
    this.totals.bytes += bytes.length;
    const hits: Hit[] = [];
    const n = bytes.length;
    if (n < WINDOW) return hits;
    const bitmap = this.bitmap;
    const shift = 32 - BITMAP_BITS;
    let h = hashWindow(bytes, 0);
    for (let i = 0; ; i++) {
      const bit = h >>> shift;
      if ((bitmap[bit >>> 3]! & (1 << (bit & 7))) !== 0) {
        const list = this.patterns.get(h);
        if (list) {
          for (const p of list) {
            const end = i + p.bytes.length;
            if (end <= n && bytes.subarray(i, end).equals(p.bytes)) hits.push(this.hit(source, bytes, i, p));
          }
        }
      }
      if (i + WINDOW >= n) break;
      h = (Math.imul((h - Math.imul(bytes[i]!, TOP)) | 0, BASE) + bytes[i + WINDOW]!) | 0;
    }
    return hits;
  }

  private hit(source: string, bytes: Buffer, at: number, p: Pattern): Hit {
    const before = bytes.subarray(Math.max(0, at - 40), at);
    const after = bytes.subarray(at + p.bytes.length, Math.min(bytes.length, at + p.bytes.length + 40));
    return {
      source,
      kind: p.canary.kind,
      canary: p.canary.label,
      form: p.form,
      offset: at,
      context: `${printable(before)}«${p.canary.label}/${p.form}»${printable(after)}`,
    };
  }
}

/** Counts the lines of captured output (a last line without a newline counts). */
export function countLines(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lines++;
  return bytes.length > 0 && bytes[bytes.length - 1] !== 10 ? lines + 1 : lines;
}
