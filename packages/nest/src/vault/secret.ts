import { inspect } from 'node:util';
import { liveSecrets } from '../redaction/live-secrets.js';

const REDACTED = '[REDACTED]';

/**
 * A secret value that refuses to be printed: `toString`, `toJSON`, template strings and
 * `util.inspect` (so `console.log` and loggers) all show `[REDACTED]`. Call `reveal()`
 * only where the plaintext is needed, e.g. to set an outgoing header.
 *
 * @example
 * await vault.use(session, 'openai', (key) => client.call({ apiKey: key.reveal() }));
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string' || value.length === 0) throw new TypeError('A Secret needs a non-empty string.');
    this.#value = value;
    liveSecrets.add(value); // whatever holds it, it never reaches a log line
  }

  /** The plaintext. Keep it in a local variable for as short a time as possible. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** At most the last 4 characters, never more than a quarter of the key. */
export function maskSecret(value: string): string {
  const visible = value.length >= 16 ? 4 : value.length >= 8 ? 2 : 0;
  return `••••${visible > 0 ? value.slice(-visible) : ''}`;
}
