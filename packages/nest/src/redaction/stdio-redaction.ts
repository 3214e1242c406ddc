import { liveSecrets, type LiveSecrets } from './live-secrets.js';

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
let installed = false;

/**
 * Scrubs every write to stdout and stderr (console, Nest's Logger, pino, third-party
 * code) of the live secrets, and neutralises control characters other than the newline
 * and tab (so request data cannot forge log lines or terminal escapes). Idempotent.
 * Writes that bypass `process.stdout` (a raw `fs.writeSync(1, ...)`) are not covered:
 * the canary suite checks for exactly that.
 *
 * @example
 * installStdioRedaction(); // first line of main.ts
 */
export function installStdioRedaction(registry: LiveSecrets = liveSecrets): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    (stream as { write: typeof original }).write = (chunk: unknown, ...rest: unknown[]): boolean => {
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
        const clean = registry.scrub(text).replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
        const encoding = typeof rest[0] === 'string' ? rest.slice(1) : rest;
        return original(clean, 'utf8', ...encoding);
      }
      return original(chunk, ...rest);
    };
  }
}
