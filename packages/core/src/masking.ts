/**
 * How much of a secret may ever be shown, and the mark that stands in for one that is
 * removed. One rule for the library (a stored key read back masked, logs and answers
 * scrubbed) and the CLI (evidence in findings).
 */

/** What replaces a secret removed from a log line, an error or a proxied answer. */
export const REDACTED = '[REDACTED]';

/**
 * How many characters of a secret of this length may be shown: 4 from 16 characters up,
 * 2 from 8, none below (never more than a quarter of it).
 *
 * @example
 * visibleChars(40); // 4
 */
export function visibleChars(length: number): number {
  return length >= 16 ? 4 : length >= 8 ? 2 : 0;
}

/**
 * A stored key as its owner may see it again: its last {@link visibleChars} characters
 * (how API keys are told apart on a provider's dashboard).
 *
 * @example
 * maskTail('sk_live_abcdefghijklmnop'); // '••••mnop'
 */
export function maskTail(value: string): string {
  const visible = visibleChars(value.length);
  return `••••${visible > 0 ? value.slice(-visible) : ''}`;
}

/**
 * A secret found where it should not be, for a report: its first {@link visibleChars}
 * characters (a provider's prefix says what kind of key it is) and its length.
 *
 * @example
 * maskHead('sk_live_abcdefghijklmnop'); // 'sk_l…(24 chars)'
 */
export function maskHead(value: string): string {
  return `${value.slice(0, visibleChars(value.length))}…(${value.length} chars)`;
}
