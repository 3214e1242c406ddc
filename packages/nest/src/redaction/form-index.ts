import { REDACTED } from '@keyward/core';
import { MIN_SCRUBBABLE_LENGTH } from './encoded-forms.js';

const MIN_LENGTH = MIN_SCRUBBABLE_LENGTH;

/**
 * The encoded forms of every value the registry tracks, counted by how many entries hold
 * each, and indexed by their first {@link MIN_SCRUBBABLE_LENGTH} characters: a scan costs one
 * map lookup per position of the text, whatever the number of secrets. The pools of
 * `live-secrets.ts` decide what is tracked; this decides where it is in a text.
 */
export class FormIndex {
  private readonly forms = new Map<string, number>(); // form -> refcount
  private readonly byPrefix = new Map<string, Set<string>>();
  /** The prefixes of `byPrefix`, sorted (for tails shorter than a prefix); rebuilt after a change, when asked. */
  private sortedPrefixes: string[] | null = null;
  /** Forms with a line break in them (none, for keys): otherwise a finished line holds nothing back. */
  private multiline = 0;
  private longest = 0;

  /** Length of the longest form tracked so far. */
  get longestForm(): number {
    return this.longest;
  }

  /** Starts matching `forms` (one more holder of each). */
  add(forms: readonly string[]): void {
    for (const f of forms) {
      const held = this.forms.get(f) ?? 0;
      this.forms.set(f, held + 1);
      if (held === 0 && f.includes('\n')) this.multiline++;
      const prefix = f.slice(0, MIN_LENGTH);
      let bucket = this.byPrefix.get(prefix);
      if (!bucket) {
        this.byPrefix.set(prefix, (bucket = new Set()));
        this.sortedPrefixes = null;
      }
      bucket.add(f);
      if (f.length > this.longest) this.longest = f.length;
    }
  }

  /** One holder fewer of each of `forms`; a form nobody holds stops matching. */
  remove(forms: readonly string[]): void {
    for (const f of forms) {
      const n = (this.forms.get(f) ?? 1) - 1;
      if (n > 0) this.forms.set(f, n);
      else {
        if (this.forms.delete(f) && f.includes('\n')) this.multiline--;
        const bucket = this.byPrefix.get(f.slice(0, MIN_LENGTH));
        bucket?.delete(f);
        if (bucket?.size === 0) {
          this.byPrefix.delete(f.slice(0, MIN_LENGTH));
          this.sortedPrefixes = null;
        }
      }
    }
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
      out += text.slice(from, hit.at) + REDACTED;
      from = hit.at + hit.form.length;
    }
    return from === 0 ? text : out + text.slice(from);
  }

  /**
   * Where `text` may be cut so that no tracked form straddles the cut: `at` itself, or the
   * end of a form that spans it (for writers that emit a long text in pieces).
   */
  safeCut(text: string, at: number): number {
    let cut = Math.max(0, Math.min(at, text.length));
    for (let i = Math.max(0, cut - this.longest + 1); i < cut; i++) {
      const bucket = this.byPrefix.get(text.slice(i, i + MIN_LENGTH));
      if (!bucket) continue;
      for (const f of bucket) if (i + f.length > cut && text.startsWith(f, i)) cut = i + f.length;
    }
    return cut;
  }

  /**
   * Where the tail of `text` that could be the beginning of a tracked form starts: the
   * first position whose rest of `text` is a proper prefix of some form (`text.length` when
   * there is none). A writer that emits text in pieces holds that tail back until the next
   * piece shows whether the form follows. At most {@link longestForm} - 1 characters.
   */
  pendingStart(text: string): number {
    const n = text.length;
    let from = Math.max(0, n - this.longest + 1);
    if (this.multiline === 0) from = Math.max(from, text.lastIndexOf('\n') + 1);
    for (let i = from; i < n; i++) {
      const rest = n - i;
      if (rest >= MIN_LENGTH) {
        const bucket = this.byPrefix.get(text.slice(i, i + MIN_LENGTH));
        if (!bucket) continue;
        const tail = text.slice(i);
        for (const f of bucket) if (f.length > rest && f.startsWith(tail)) return i;
      } else if (this.somePrefixStartsWith(text.slice(i))) return i;
    }
    return n;
  }

  /** True if some form begins with `head` (shorter than a prefix): a binary search of the sorted prefixes. */
  private somePrefixStartsWith(head: string): boolean {
    const sorted = (this.sortedPrefixes ??= [...this.byPrefix.keys()].sort());
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < head) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length && sorted[lo]!.startsWith(head);
  }

  /** The first (longest) tracked form at or after `start`. */
  find(text: string, start: number): { at: number; form: string } | null {
    for (let i = start; i <= text.length - MIN_LENGTH; i++) {
      const bucket = this.byPrefix.get(text.slice(i, i + MIN_LENGTH));
      if (!bucket) continue;
      let best: string | undefined;
      for (const f of bucket) if ((!best || f.length > best.length) && text.startsWith(f, i)) best = f;
      if (best) return { at: i, form: best };
    }
    return null;
  }
}
