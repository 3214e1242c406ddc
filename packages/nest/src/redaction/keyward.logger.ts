import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import type { LoggerOptions } from 'pino';
import { REDACTED } from '@keyward/core';
import { loadOptionalPeer } from '../util/optional-peer.js';
import { liveSecrets } from './live-secrets.js';

/** Paths pino removes from every log object, whatever their value. */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.cookie', 'req.headers.authorization', 'req.headers["proxy-authorization"]', 'req.headers["x-api-key"]',
  'req.headers["x-csrf"]', 'res.headers["set-cookie"]', 'headers.cookie', 'headers.authorization', 'headers["x-api-key"]',
  'headers["set-cookie"]', 'cookie', 'cookies', 'authorization', 'password', 'secret', 'secrets', 'apiKey', 'api_key', 'key',
  'token', 'accessToken', 'refreshToken', 'session', 'sessionId', 'sid', 'vault', 'credential', 'credentials', 'body.key',
  'body.password', 'req.body', '*.cookie', '*.authorization', '*.password', '*.secret', '*.apiKey', '*.api_key', '*.token',
  '*.key', '*.sessionId', '*.credential',
];

/** Options of {@link createRedactingLogger}. */
export interface RedactingLoggerOptions {
  /** Extra header names to redact (e.g. your proxies' key headers). */
  extraHeaders?: string[];
  /** @default 'info' */
  level?: string;
  /** Where lines go. @default stdout */
  destination?: NodeJS.WritableStream;
}

/** One level method of a pino logger: `log.info({ context }, 'message')`. */
export type RedactingLogFn = (obj: unknown, msg?: string, ...args: unknown[]) => void;

/**
 * The part of a pino `Logger` that Keyward's API names, so that its types do not require
 * pino to be installed. A pino logger is one; `createRedactingLogger()` returns a real pino
 * logger, which you may type as pino's `Logger` if you use more of it.
 */
export interface RedactingLogger {
  level: string;
  fatal: RedactingLogFn;
  error: RedactingLogFn;
  warn: RedactingLogFn;
  info: RedactingLogFn;
  debug: RedactingLogFn;
  trace: RedactingLogFn;
  child(bindings: Record<string, unknown>): RedactingLogger;
}

type Pino = typeof import('pino');

/** How deep {@link scrubFields} copies (deeper values are left to the line's last pass). */
const MAX_DEPTH = 16;

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of `value` with every live secret scrubbed out of each string it holds (field names
 * too), one string at a time: a secret is only ever matched inside one field's value, never
 * across a line's syntax (`":"`, quotes, a field name), so the line keeps every field and
 * stays what its writer made it. Copies plain objects and arrays (never changes the caller's);
 * an `Error` becomes `{ type, message, stack }` (pino's `err` shape), its strings scrubbed;
 * other objects (a request a serializer reads, a value with `toJSON`) are left to their
 * serializer, and the serialised line's own pass ({@link scrubLine}).
 * @internal
 */
export function scrubFields(value: unknown, depth = 0, seen = new Map<object, unknown>()): unknown {
  if (typeof value === 'string') return liveSecrets.scrub(value);
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  const copied = seen.get(value);
  if (copied !== undefined) return copied;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const v of value) out.push(scrubFields(v, depth + 1, seen));
    return out;
  }
  if (value instanceof Error) {
    const shape: Record<string, unknown> = { type: value.name, message: value.message, stack: value.stack };
    for (const [k, v] of Object.entries(value)) if (!(k in shape)) shape[k] = v;
    if (value.cause !== undefined) shape.cause = value.cause;
    return scrubFields(shape, depth, seen);
  }
  if (!isPlain(value)) return value;
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[liveSecrets.scrub(k)] = scrubFields(v, depth + 1, seen);
  return out;
}

/**
 * The serialised line's last pass: a line in which a live secret is still found (a value a
 * serializer or `toJSON` produced, a message formatted from pieces) is parsed and scrubbed
 * field by field, so even then no match spans the line's syntax and the line stays valid
 * JSON with every field. A line that is not JSON (no pino line) is scrubbed as text.
 * @internal
 */
export function scrubLine(line: string): string {
  if (!liveSecrets.contains(line)) return line;
  const end = line.endsWith('\n') ? '\n' : '';
  try {
    return JSON.stringify(scrubFields(JSON.parse(line) as unknown, -Infinity)) + end;
  } catch {
    return liveSecrets.scrub(line);
  }
}

/** pino's `logMethod` hook: the message, each interpolated value and the merging object are scrubbed field by field before pino serialises them. */
function scrubArgs(this: unknown, args: unknown[], method: (...a: unknown[]) => void): void {
  const first = args[0];
  if (first instanceof Error) {
    // As pino would: `{ err }`, and the error's message when no message is given.
    const msg = args.length > 1 ? args[1] : first.message;
    return method.apply(this, [{ err: scrubFields(first) }, ...[msg, ...args.slice(2)].map((a) => scrubFields(a))]);
  }
  method.apply(this, args.map((a) => scrubFields(a)));
}

/**
 * A pino logger with Keyward's preset: redact paths for cookies, credentials and session
 * fields, and every live secret (in any encoding) scrubbed out of each field's value before
 * the line is serialised ({@link scrubFields}: the message, interpolated values, the merging
 * object, a child's bindings), then out of any field of the serialised line that still holds
 * one ({@link scrubLine}). A secret is never matched across a field's quotes or name, so a
 * line stays valid JSON with all its fields whatever values are live. JSON output escapes
 * CR/LF, so request data cannot forge log lines.
 *
 * Needs the optional peer dependency `pino` (`npm install pino`); without it this throws a
 * `KeywardConfigError` with code `KW_PEER_MISSING`.
 */
export function createRedactingLogger(options: RedactingLoggerOptions = {}): RedactingLogger {
  const { pino } = loadOptionalPeer<Pino>('pino', 'The Keyward logger (KeywardLogger, createRedactingLogger)');
  const extra = (options.extraHeaders ?? []).flatMap((h) => [`req.headers["${h.toLowerCase()}"]`, `headers["${h.toLowerCase()}"]`]);
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS, ...extra], censor: REDACTED },
    hooks: { logMethod: scrubArgs as NonNullable<LoggerOptions['hooks']>['logMethod'], streamWrite: scrubLine },
    formatters: { bindings: (bindings) => scrubFields(bindings) as Record<string, unknown> },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

function text(message: unknown): string {
  if (message instanceof Error) return `${message.name}: ${message.message}`;
  // An object is made text from its scrubbed fields, so no secret is matched across its syntax.
  return typeof message === 'string' ? message : JSON.stringify(scrubFields(message));
}

/**
 * Nest's logger, routed to a redacting pino logger: `app.useLogger(new KeywardLogger())`
 * makes Nest's own `Logger` output go through the same preset and scrubbing. Needs `pino`
 * (`npm install pino`) unless you pass a logger of your own.
 */
export class KeywardLogger implements LoggerService {
  constructor(readonly pino: RedactingLogger = createRedactingLogger()) {}

  log(message: unknown, ...params: unknown[]): void {
    // A record (a security event, a proxied call) is logged as fields: the line has a top-level
    // `event` or `service`; an event's name is the message, a record's own `msg` otherwise.
    if (isRecord(message)) {
      if (typeof message.event === 'string') this.pino.info({ context: context(params), ...message }, message.event);
      else this.pino.info({ context: context(params), ...message });
    } else this.pino.info({ context: context(params) }, text(message));
  }
  error(message: unknown, ...params: unknown[]): void {
    const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined;
    this.pino.error({ context: context(params), ...(stack ? { stack } : {}) }, text(message));
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.pino.warn({ context: context(params) }, text(message));
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.pino.debug({ context: context(params) }, text(message));
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.pino.trace({ context: context(params) }, text(message));
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.pino.fatal({ context: context(params) }, text(message));
  }
}

function isRecord(message: unknown): message is Record<string, unknown> {
  if (typeof message !== 'object' || message === null) return false;
  const proto = Object.getPrototypeOf(message) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Reads the logger `app.useLogger()` installed: Nest keeps it in a protected static of `Logger`. */
class InstalledLogger extends Logger {
  static get current(): LoggerService | undefined {
    return Logger.staticInstanceRef;
  }
}

/**
 * What to hand Nest's `Logger` for a structured record (a security event, a proxied call),
 * so that it is ONE line whatever logger the app installed:
 * - Nest's own `ConsoleLogger` (the default, or one the app made) prints an object message
 *   with `util.inspect`, over several lines: it gets the record as one compact JSON string
 *   (JSON also escapes CR/LF, so no value can start a line of its own). With its `json`
 *   option it prints one JSON line per message: it gets the record, nested as `message`.
 * - Any other logger (nestjs-pino's `Logger`, `KeywardLogger`, winston ...) gets the record
 *   (a copy, scrubbed field by field: {@link scrubFields}), so its fields become the line's fields.
 *
 * Nest keeps the installed logger in `Logger`'s static instance (set by `app.useLogger()` or
 * the `logger` option of `NestFactory.create`), so this asks it at each call: a logger
 * installed after Keyward started is followed. A plain `Logger` installed as the app's
 * logger prints through a `ConsoleLogger` too.
 *
 * @example
 * new Logger('KeywardEvents').log(forNestLogger({ event: 'request.refused', code }));
 */
export function forNestLogger(record: object): object | string {
  // Scrubbed field by field first: whatever serialises it (Nest's JSON.stringify, a logger
  // that knows nothing of Keyward's live secrets), no secret is matched across its syntax.
  const clean = scrubFields(record) as object;
  const installed = InstalledLogger.current;
  if (installed instanceof ConsoleLogger) return (installed as unknown as { options?: { json?: unknown } }).options?.json === true ? clean : JSON.stringify(clean);
  if (installed !== undefined && Object.getPrototypeOf(installed) === Logger.prototype) return JSON.stringify(clean);
  return clean;
}

function context(params: unknown[]): string | undefined {
  const last = params[params.length - 1];
  return typeof last === 'string' ? last : undefined;
}
