import { HttpException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { KeywardEvents } from '../events/keyward-events.js';
import { KeywardError, type KeywardErrorCodeValue } from '../keyward.errors.js';
import { answerFor, errorHeaders, type ErrorBody } from './error-writer.js';
import { setHeader } from './http-bridge.js';
import { requestIdOf } from './request-context.step.js';

/**
 * What a Keyward refusal is once it reaches Nest: an `HttpException`, so the exception
 * filters apps already have (`exception instanceof HttpException ? exception.getStatus() :
 * 500`, body from `getResponse()`) answer it as Keyward would. `getStatus()` is the
 * catalogue's status of the code, `getResponse()` the body Keyward's own error writer
 * sends (`{ error, code, requestId }`), `cause` the original {@link KeywardError} and
 * `code` its code. The headers the answer needs (`Cache-Control: no-store`, `Retry-After`,
 * and a cleared cookie or `Clear-Site-Data` where the session ended) are already on the
 * response when it is thrown, and the refusal has already been logged and reported as a
 * security event: a filter only writes status and body.
 *
 * Thrown by Keyward's guards (the global guard, `SessionGuard`, `OriginGuard`,
 * `KeyBodyLimitGuard`) and by the global interceptor the module registers, for a
 * `KeywardError` thrown by a handler (a Keyward service such as `RequestSession`,
 * `SessionService`, `CredentialService` or the vault).
 *
 * @example
 * @Catch()
 * export class AllExceptionsFilter implements ExceptionFilter {
 *   constructor(private readonly host: HttpAdapterHost) {}
 *   catch(exception: unknown, ctx: ArgumentsHost) {
 *     const res = ctx.switchToHttp().getResponse();
 *     const status = exception instanceof HttpException ? exception.getStatus() : 500;
 *     const body = exception instanceof HttpException ? exception.getResponse() : { message: 'Internal server error' };
 *     this.host.httpAdapter.reply(res, body, status);
 *   }
 * }
 */
export class KeywardHttpException extends HttpException {
  declare readonly cause: KeywardError;

  constructor(error: KeywardError, body: ErrorBody, status: number) {
    super(body, status, { cause: error, description: body.error });
    this.message = body.error;
  }

  /** The stable code of the Keyward error (`KW_SESSION_REQUIRED`, ...). */
  get code(): KeywardErrorCodeValue {
    return this.cause.code;
  }

  override getResponse(): ErrorBody {
    return super.getResponse() as ErrorBody;
  }
}

/**
 * True for a Keyward refusal as it reaches an exception filter.
 *
 * @example
 * if (isKeywardHttpException(exception)) logger.warn(`refused: ${exception.code}`);
 */
export function isKeywardHttpException(exception: unknown): exception is KeywardHttpException {
  return exception instanceof KeywardHttpException;
}

/**
 * The Nest face of a Keyward error thrown on a request: logged and reported once (by
 * `answerFor`, the one rule), its headers set on the response, turned into a
 * {@link KeywardHttpException}. Anything else is returned as it is.
 */
export function intoNest(error: unknown, req: unknown, res: unknown, events?: KeywardEvents): unknown {
  if (!(error instanceof KeywardError)) return error;
  let requestId = requestIdOf(req);
  if (!requestId) {
    // A request that did not pass the edge (a test harness, a serverless entry).
    requestId = randomUUID();
    trySetHeader(res, 'X-Request-Id', requestId);
  }
  const { status, body } = answerFor(error, requestId, events);
  for (const [name, value] of errorHeaders(error)) trySetHeader(res, name, value);
  return new KeywardHttpException(error, body, status);
}

/**
 * Runs a check of a guard; a Keyward error it throws (at once or later) reaches Nest as a
 * {@link KeywardHttpException}.
 */
export function refusingIntoNest<T>(check: () => T | Promise<T>, req: unknown, res: unknown, events?: KeywardEvents): T | Promise<T> {
  let result: T | Promise<T>;
  try {
    result = check();
  } catch (e) {
    throw intoNest(e, req, res, events);
  }
  if (result instanceof Promise) {
    return result.catch((e: unknown) => {
      throw intoNest(e, req, res, events);
    });
  }
  return result;
}

function trySetHeader(res: unknown, name: string, value: string): void {
  if (res === undefined || res === null) return;
  if ((res as { headersSent?: boolean }).headersSent === true || (res as { sent?: boolean }).sent === true) return;
  setHeader(res, name, value);
}
