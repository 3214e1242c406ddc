import { KeywardEvents } from '../events/keyward-events.js';
import { Catch, HttpException, Inject, Optional, NotFoundException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { APP_FILTER, BaseExceptionFilter, DiscoveryService, HttpAdapterHost, Reflector } from '@nestjs/core';
import { FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants.js';
import { randomUUID } from 'node:crypto';
import { answerFor, errorHeaders } from './error-writer.js';
import { isKeywardHttpException } from './keyward-http.exception.js';
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
 *
 * A `KeywardHttpException` (what Keyward's guards and interceptor throw into Nest) was
 * logged and given its headers when it was thrown: it is answered with its status and
 * body as they are.
 *
 * It is the filter of last resort: an app's own global filter is asked first, whether
 * registered with `app.useGlobalFilters()` (Nest asks it before this one) or as an
 * `APP_FILTER` provider (which Nest would ask after this one when the app's module is
 * scanned first: this filter hands such an exception to the app's filter that catches it).
 */
@Catch()
export class KeywardExceptionFilter implements ExceptionFilter {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
    @Optional() @Inject(DiscoveryService) private readonly discovery?: DiscoveryService,
  ) {}

  /** Nest's own filter, for the app's HttpExceptions (created on first use: the adapter is known by then). */
  private nest: BaseExceptionFilter | undefined;
  /** The app's own `APP_FILTER` filters, in the order Nest asks them (found on first use: every module is loaded by then). */
  private appFilters: readonly ExceptionFilter[] | undefined;

  catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType() !== 'http') throw exception;
    const appFilter = this.appFilterFor(exception);
    if (appFilter) return appFilter.catch(exception, host);
    const http = host.switchToHttp();
    if (isKeywardHttpException(exception)) {
      // Logged, reported and given its headers where it was thrown; set again in case the response was reset.
      const res = http.getResponse();
      for (const [name, value] of errorHeaders(exception.cause)) this.adapterHost.httpAdapter.setHeader(res, name, value);
      this.adapterHost.httpAdapter.reply(res, exception.getResponse(), exception.getStatus());
      return undefined;
    }
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
    for (const [name, value] of errorHeaders(exception)) adapter.setHeader(res, name, value);
    adapter.reply(res, body, status);
    return undefined;
  }

  /** The app's own APP_FILTER that catches this exception, as Nest would choose it were this filter asked last. */
  private appFilterFor(exception: unknown): ExceptionFilter | undefined {
    this.appFilters ??= appFiltersOf(this.discovery);
    return this.appFilters.find((f) => {
      const types = reflector.get<Array<abstract new (...a: never[]) => unknown> | undefined>(FILTER_CATCH_EXCEPTIONS, f.constructor) ?? [];
      return types.length === 0 || types.some((t) => exception instanceof t);
    });
  }
}

const reflector = new Reflector();

/** Every singleton `APP_FILTER` of the app but Keyward's own, in the order Nest asks global filters (the last registered first). */
function appFiltersOf(discovery: DiscoveryService | undefined): ExceptionFilter[] {
  if (!discovery) return [];
  const filters: ExceptionFilter[] = [];
  for (const wrapper of discovery.getProviders()) {
    const instance = wrapper.instance as Partial<ExceptionFilter> | undefined;
    if (typeof wrapper.token !== 'string' || !wrapper.token.startsWith(`${APP_FILTER} `) || !wrapper.isDependencyTreeStatic()) continue;
    if (!instance || typeof instance.catch !== 'function' || instance instanceof KeywardExceptionFilter) continue;
    filters.push(instance as ExceptionFilter);
  }
  return filters.reverse();
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
