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

/**
 * A pino logger with Keyward's preset: redact paths for cookies, credentials and session
 * fields, plus scrubbing of every live secret (in any encoding) from the final JSON line,
 * whatever field or message text it hides in. JSON output escapes CR/LF, so request data
 * cannot forge log lines.
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
    hooks: { streamWrite: (line: string) => liveSecrets.scrub(line) },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

function text(message: unknown): string {
  if (message instanceof Error) return `${message.name}: ${message.message}`;
  return typeof message === 'string' ? message : JSON.stringify(message);
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
 *   itself, so its fields become the line's fields.
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
  const installed = InstalledLogger.current;
  if (installed instanceof ConsoleLogger) return (installed as unknown as { options?: { json?: unknown } }).options?.json === true ? record : JSON.stringify(record);
  if (installed !== undefined && Object.getPrototypeOf(installed) === Logger.prototype) return JSON.stringify(record);
  return record;
}

function context(params: unknown[]): string | undefined {
  const last = params[params.length - 1];
  return typeof last === 'string' ? last : undefined;
}
