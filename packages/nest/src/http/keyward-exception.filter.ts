import { KeywardEvents } from '../events/keyward-events.js';
import { Catch, HttpException, Inject, Optional, NotFoundException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { answerFor, retryAfterOf } from './error-writer.js';
import { requestIdOf } from './request-context.step.js';

export type { ErrorBody } from './error-writer.js';

/**
 * The Nest face of the one error writer: answers Keyward's own errors (`KeywardError`:
 * JSON `{ error, code, requestId }`, status from the catalogue, logged by the same rule as
 * the edge, see `answerFor`) and errors nobody answers (unknown errors: a plain 500 without
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
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {}

  /** Nest's own filter, for the app's HttpExceptions (created on first use: the adapter is known by then). */
  private nest: BaseExceptionFilter | undefined;

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    if (exception instanceof HttpException && !isRouteNotFound(exception, http.getRequest()) && !isFrameworkMapped(exception)) {
      this.nest ??= new BaseExceptionFilter(this.adapterHost.httpAdapter);
      return this.nest.catch(exception, host);
    }
    const res = http.getResponse();
    const adapter = this.adapterHost.httpAdapter;
    // Errors raised before Keyward's edge ran (body parsers on a path the edge does not see) get an id here.
    let requestId = requestIdOf(http.getRequest());
    if (!requestId) {
      requestId = randomUUID();
      adapter.setHeader(res, 'X-Request-Id', requestId);
    }
    const { status, body } = answerFor(exception, requestId, this.events);
    adapter.setHeader(res, 'Cache-Control', 'no-store');
    const retryAfter = retryAfterOf(exception);
    if (retryAfter !== undefined) adapter.setHeader(res, 'Retry-After', retryAfter);
    adapter.reply(res, body, status);
  }
}

/** Nest's router's 404 for a path no route matches: `NotFoundException('Cannot GET /path?query')`. */
function isRouteNotFound(e: HttpException, req: { method?: string } | undefined): boolean {
  if (!(e instanceof NotFoundException)) return false;
  const response = e.getResponse() as { message?: unknown } | string;
  const message = typeof response === 'string' ? response : response?.message;
  return typeof message === 'string' && message.startsWith(`Cannot ${req?.method ?? ''} `);
}

/**
 * An HttpException that Nest's adapter made from a framework error (`mapException`), matched
 * exactly as the adapters map them: a body-parser SyntaxError or URIError with status 400; an
 * http-errors error (`expose` boolean, numeric `statusCode` equal to `status`); a FastifyError
 * with a `statusCode`. An app's own exception that merely wraps an HTTP client's error (which
 * also has a `status`) is the app's, and passes through as written.
 */
function isFrameworkMapped(e: HttpException): boolean {
  const cause = (e as { cause?: unknown }).cause;
  if (!(cause instanceof Error)) return false;
  const c = cause as Error & { status?: unknown; statusCode?: unknown; expose?: unknown };
  if ((cause instanceof SyntaxError || cause instanceof URIError) && c.status === 400) return true;
  if (typeof c.expose === 'boolean' && typeof c.statusCode === 'number' && c.status === c.statusCode) return true;
  return c.name === 'FastifyError' && c.statusCode !== undefined;
}
