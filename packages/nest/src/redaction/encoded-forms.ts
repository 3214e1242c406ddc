/**
 * The forms a secret may take in text, and what tracking them costs: the redaction
 * registry (`live-secrets.ts`) and the proxy's echo scrubber (`proxy/scrub.ts`) match these.
 */

/**
 * The shortest value the registry can scrub reliably: every encoded form of an 8-character
 * value is at least 8 characters long, and the scan indexes forms by their first 8. Keys
 * shorter than this are refused wherever Keyward accepts a key (server keys at startup,
 * minted keys when issued, user keys when submitted), never accepted unscrubbed.
 */
export const MIN_SCRUBBABLE_LENGTH = 8;

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
  return [...forms].filter((f) => f.length >= MIN_SCRUBBABLE_LENGTH);
}

/**
 * Size of an entry on the V8 heap, as measured (bench/src/probe/mem-registry.mjs, Node 20):
 * about 512 bytes for the entry, 200 per form (the string's header, its place in the form
 * map, its prefix and prefix set) and one per character (forms are ASCII or one-byte
 * strings). A 43-character key: 8 forms, 503 characters, measured 2,586 bytes (this counts
 * 2,615); a 200-character key: measured 4,267 (counts 4,445). The earlier count (two bytes
 * per character, 96 per form) said 1,838 and 5,498: 30% low for ordinary keys, so the byte
 * bound allowed more heap than it said.
 */
export function registryEntryBytes(forms: readonly string[]): number {
  return forms.reduce((n, f) => n + f.length + 200, 512);
}
