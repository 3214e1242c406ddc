import { HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { KeywardError, KeywardErrorCode, ProxyError, ProxyErrorCode, statusOf } from '../keyward.errors.js';
import type { KeywardEvents } from '../events/keyward-events.js';
import type { EdgeRequest } from './request.types.js';
import { requestIdOf } from './request-context.step.js';

/**
 * The one error writer. Every refusal and failure, wherever it happens (a step of the
 * edge: Host, HTTPS, CORS; the proxy route; the Nest guard, a controller, via the
 * exception filter), is answered `{ error, code, requestId }` with the status the
 * catalogue gives its code, `Cache-Control: no-store`, and logged by one rule
 * ({@link answerFor}).
 */

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

const logger = new Logger('Keyward');

/**
 * Refusals reported as `request.refused` security events: a wrong Host (DNS rebinding), a
 * cross-site or header-less state change (CSRF), plain HTTP in production, a proxy path
 * that tries to escape its base or a header that tries to inject, a forged session cookie.
 */
export const REPORTED_REFUSALS: ReadonlySet<string> = new Set([
  KeywardErrorCode.HostNotAllowed,
  KeywardErrorCode.OriginRefused,
  KeywardErrorCode.OriginMissing,
  KeywardErrorCode.CsrfHeaderMissing,
  KeywardErrorCode.HttpsRequired,
  ProxyErrorCode.BadPath,
  ProxyErrorCode.BadHeader,
  KeywardErrorCode.SessionInvalid,
]);

/** Status and safe body of an exception (no request id yet). */
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

/**
 * The answer to an exception, with its request id, logged by the one rule: a server-side
 * failure (5xx) is logged with its class, message and stack (scrubbed by the redacting
 * logger), except an upstream's failure ({@link ProxyError}: the answer names the service,
 * and nothing failed here); a refusal (4xx) is not logged.
 */
export function answerFor(exception: unknown, requestId: string, events?: KeywardEvents): { status: number; body: ErrorBody } {
  const answer = describe(exception);
  answer.body.requestId = requestId;
  // A refusal that signals an attack or a misconfiguration is a security event.
  if (events && exception instanceof KeywardError && REPORTED_REFUSALS.has(exception.code)) events.refused(exception.code, requestId);
  if (answer.status >= 500 && !(exception instanceof ProxyError)) {
    const e = exception instanceof Error ? exception : new Error('non-error thrown');
    logger.error(`${answer.body.code} ${e.name}: ${e.message} id=${requestId}`, e.stack);
  }
  return answer;
}

/** `Retry-After` for a refusal worth retrying (a busy upstream or session), else undefined. */
export function retryAfterOf(exception: unknown): string | undefined {
  return exception instanceof ProxyError && exception.retryAfterSeconds !== undefined ? String(exception.retryAfterSeconds) : undefined;
}

/**
 * Writes the error answer on the raw Node response: what the edge, its steps and the proxy
 * route use. A response already under way is cut (`destroy()`), never appended to.
 */
export function writeError(req: EdgeRequest, res: ServerResponse, exception: unknown, events?: KeywardEvents): void {
  let requestId = requestIdOf(req);
  if (!requestId) {
    requestId = randomUUID();
    if (!res.headersSent) res.setHeader('X-Request-Id', requestId);
  }
  const { status, body } = answerFor(exception, requestId, events);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  const retryAfter = retryAfterOf(exception);
  if (retryAfter !== undefined) res.setHeader('Retry-After', retryAfter);
  res.end(JSON.stringify(body));
}

/** Body-parser and Fastify errors carry a 4xx `status`/`statusCode`; keep it, drop the message. */
function statusOfForeign(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const s = (e as { statusCode?: unknown; status?: unknown }).statusCode ?? (e as { status?: unknown }).status;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : undefined;
}
