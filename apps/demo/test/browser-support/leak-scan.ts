import type { Page } from 'playwright-core';
import type { Exchange } from './network-capture.js';

/** A value that must never reach the browser: an exact string or a pattern (key formats). */
export interface Secret {
  label: string;
  value: string | RegExp;
}

/** Labels of the secrets that occur in `text`. */
export function leaksIn(text: string | undefined, secrets: readonly Secret[]): string[] {
  if (!text) return [];
  return secrets.filter((s) => (typeof s.value === 'string' ? text.includes(s.value) : new RegExp(s.value.source, s.value.flags.replace('g', '')).test(text))).map((s) => s.label);
}

/** What a page holds that script could read: cookie jar view, DOM, field values, storage. */
export interface BrowserState {
  cookie: string;
  html: string;
  fieldValues: string[];
  localStorage: Record<string, string>;
  sessionStorage: Record<string, string>;
  indexedDb: string[];
  cacheStorage: string[];
}

/** Reads, from inside the page, everything a script (or an XSS payload) could read. */
export function browserState(page: Page): Promise<BrowserState> {
  return page.evaluate(async () => {
    // Runs in the page: the test's tsconfig has no DOM lib, hence `any`.
    const w = globalThis as any;
    const dump = (s: any): Record<string, string> => {
      const out: Record<string, string> = {};
      for (let i = 0; i < s.length; i++) out[s.key(i)] = s.getItem(s.key(i));
      return out;
    };
    const dbs: any[] = typeof w.indexedDB?.databases === 'function' ? await w.indexedDB.databases() : [];
    const caches: string[] = w.caches ? await w.caches.keys() : [];
    return {
      cookie: String(w.document.cookie),
      html: String(w.document.documentElement.outerHTML),
      fieldValues: [...w.document.querySelectorAll('input, textarea, select')].map((el: any) => String(el.value)),
      localStorage: dump(w.localStorage),
      sessionStorage: dump(w.sessionStorage),
      indexedDb: dbs.map((d) => `${d.name}@${d.version}`),
      cacheStorage: caches,
    };
  });
}

/** Every place in a page's state where a secret occurs (empty when clean). */
export function leaksInState(state: BrowserState, secrets: readonly Secret[]): string[] {
  const found: string[] = [];
  const look = (where: string, text: string) => found.push(...leaksIn(text, secrets).map((l) => `${l} in ${where}`));
  look('document.cookie', state.cookie);
  look('the DOM', state.html);
  state.fieldValues.forEach((v, i) => look(`form field #${i}`, v));
  look('localStorage', JSON.stringify(state.localStorage));
  look('sessionStorage', JSON.stringify(state.sessionStorage));
  look('IndexedDB names', state.indexedDb.join('\n'));
  return found;
}

/** Every response body or header in the capture where a secret occurs (empty when clean). */
export function leaksInResponses(exchanges: readonly Exchange[], secrets: readonly Secret[]): string[] {
  const found: string[] = [];
  for (const ex of exchanges) {
    const where = `${ex.page} ${ex.method} ${ex.url} (${ex.status ?? ex.failed ?? '?'})`;
    for (const l of leaksIn(ex.body, secrets)) found.push(`${l} in the response body of ${where}`);
    for (const l of leaksIn(JSON.stringify(ex.responseHeaders), secrets)) found.push(`${l} in a response header of ${where}`);
  }
  return found;
}
