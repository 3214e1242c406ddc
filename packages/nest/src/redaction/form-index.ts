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
  private longest = 0;

  /** Length of the longest form tracked so far. */
  get longestForm(): number {
    return this.longest;
  }

  /** Starts matching `forms` (one more holder of each). */
  add(forms: readonly string[]): void {
    for (const f of forms) {
      this.forms.set(f, (this.forms.get(f) ?? 0) + 1);
      const prefix = f.slice(0, MIN_LENGTH);
      let bucket = this.byPrefix.get(prefix);
      if (!bucket) this.byPrefix.set(prefix, (bucket = new Set()));
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
        this.forms.delete(f);
        const bucket = this.byPrefix.get(f.slice(0, MIN_LENGTH));
        bucket?.delete(f);
        if (bucket?.size === 0) this.byPrefix.delete(f.slice(0, MIN_LENGTH));
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
