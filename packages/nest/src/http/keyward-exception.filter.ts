import { Catch, HttpException, Inject, NotFoundException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
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
 * Answers Keyward's own errors ({@link KeywardError}: JSON `{ error, code, requestId }`,
 * status from the code) and errors nobody answers (unknown errors: a plain 500 without
 * details; body-parser errors: their 4xx without their message). It never echoes request
 * headers, cookies, session content or an unknown error's message (which might quote a
 * secret).
 *
 * The app's own `HttpException`s are not Keyward's to rewrite: they are answered exactly
 * as Nest answers them (status and body), e.g. `new BadRequestException('username must
 * be ...')`. Two kinds of HttpException are not the app's and get a generic body with
 * their status: Nest's route-not-found 404 ("Cannot GET /path?query", which quotes the
 * URL and its query), and the ones Nest's adapters make from body-parser, Express and
 * Fastify errors (their message can quote the request body, a password included).
 */
@Catch()
export class KeywardExceptionFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  private readonly logger = new Logger('Keyward');
  /** Nest's own filter, for the app's HttpExceptions (created on first use: the adapter is known by then). */
  private nest: BaseExceptionFilter | undefined;

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    if (exception instanceof HttpException && !isRouteNotFound(exception, http.getRequest()) && !isFrameworkMapped(exception)) {
      this.nest ??= new BaseExceptionFilter(this.adapterHost.httpAdapter);
      return this.nest.catch(exception, host);
    }
    const { status, body } = describe(exception);
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
    // Only Nest's route-not-found and framework errors reach here (the app's own go to Nest): their messages quote the request.
    const status = exception.getStatus();
    return { status, body: { error: GENERIC[status] ?? (status >= 500 ? 'Internal server error.' : 'Request refused.'), code: `KW_HTTP_${status}` } };
  }
  const status = statusOfForeign(exception);
  if (status) return { status, body: { error: GENERIC[status] ?? 'Request refused.', code: `KW_HTTP_${status}` } };
  return { status: 500, body: { error: 'Internal server error.', code: 'KW_INTERNAL' } };
}

/** Nest's router's 404 for a path no route matches: `NotFoundException('Cannot GET /path?query')`. */
function isRouteNotFound(e: HttpException, req: { method?: string } | undefined): boolean {
  if (!(e instanceof NotFoundException)) return false;
  const response = e.getResponse() as { message?: unknown } | string;
  const message = typeof response === 'string' ? response : response?.message;
  return typeof message === 'string' && message.startsWith(`Cannot ${req?.method ?? ''} `);
}

/**
 * An HttpException that Nest's adapter made from a framework error (`mapException`): its
 * cause is the body parser's SyntaxError, a URIError, or an http-errors/Fastify error.
 */
function isFrameworkMapped(e: HttpException): boolean {
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof SyntaxError || cause instanceof URIError) return true;
  return typeof cause === 'object' && cause !== null && (typeof (cause as { statusCode?: unknown }).statusCode === 'number' || typeof (cause as { status?: unknown }).status === 'number');
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
