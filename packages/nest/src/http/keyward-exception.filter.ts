import { Catch, HttpException, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { KeywardError } from '../keyward.errors.js';
import { statusOf } from './error-status.js';
import { requestIdOf } from '../redaction/request-context.middleware.js';
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** The body of every error response. */
export interface ErrorBody {
  error: string;
  code: string;
  requestId?: string;
}

const GENERIC: Record<number, string> = {
  400: 'Bad request.',
  401: 'Authentication required.',
  403: 'Forbidden.',
  404: 'Not found.',
  405: 'Method not allowed.',
  413: 'Request body too large.',
  415: 'Unsupported media type.',
  429: 'Too many requests.',
};

/**
 * One filter for every error: JSON `{ error, code }`, with a status from the error's
 * code. It never echoes request headers, cookies, session content or an unknown error's
 * message (which might quote a secret); unknown errors become a plain 500.
 */
@Catch()
export class KeywardExceptionFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  private readonly logger = new Logger('Keyward');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const { status, body } = describe(exception);
    const http = host.switchToHttp();
    const res = http.getResponse();
    // Errors raised before Keyward's middleware ran (body parsers) get an id here.
    let requestId = requestIdOf(http.getRequest());
    if (!requestId) {
      requestId = randomUUID();
      this.adapterHost.httpAdapter.setHeader(res, 'X-Request-Id', requestId);
    }
    body.requestId = requestId;
    if (status >= 500) logFailure(this.logger, exception, body);
    const adapter = this.adapterHost.httpAdapter;
    adapter.setHeader(res, 'Cache-Control', 'no-store');
    adapter.reply(res, body, status);
  }
}

/** Status and safe body of an exception. */
export function describe(exception: unknown): { status: number; body: ErrorBody } {
  if (exception instanceof KeywardError) {
    return { status: statusOf(exception.code), body: { error: exception.message, code: exception.code } };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    // Nest's own messages ("Cannot GET /path...") may quote the URL: use a generic text.
    const own = typeof response === 'object' && response !== null && 'code' in response && typeof (response as ErrorBody).code === 'string';
    if (own) return { status, body: { error: String((response as ErrorBody).error ?? GENERIC[status] ?? 'Error.'), code: (response as ErrorBody).code } };
    return { status, body: { error: GENERIC[status] ?? (status >= 500 ? 'Internal server error.' : 'Request refused.'), code: `KW_HTTP_${status}` } };
  }
  const status = statusOfForeign(exception);
  if (status) return { status, body: { error: GENERIC[status] ?? 'Request refused.', code: `KW_HTTP_${status}` } };
  return { status: 500, body: { error: 'Internal server error.', code: 'KW_INTERNAL' } };
}

/** Body-parser and Fastify errors carry a 4xx `status`/`statusCode`; keep it, drop the message. */
function statusOfForeign(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const s = (e as { statusCode?: unknown; status?: unknown }).statusCode ?? (e as { status?: unknown }).status;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : undefined;
}

/** Logs a server-side failure: class, message and stack, scrubbed by the redacting logger. */
export function logFailure(logger: Logger, exception: unknown, body: ErrorBody): void {
  const e = exception instanceof Error ? exception : new Error('non-error thrown');
  logger.error(`${body.code} ${e.name}: ${e.message}${body.requestId ? ` id=${body.requestId}` : ''}`, e.stack);
}
