import { HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { KeywardError, KeywardErrorCode, ProxyError, ProxyErrorCode, StoreNotDurableError, StoreUnavailableError, statusOf } from '../keyward.errors.js';
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
    return { status, body: { error: frameworkReason((exception as { cause?: unknown }).cause, status) ?? genericReason(status), code: `KW_HTTP_${status}` } };
  }
  const status = statusOfForeign(exception);
  if (status) return { status, body: { error: frameworkReason(exception, status) ?? genericReason(status), code: `KW_HTTP_${status}` } };
  return { status: 500, body: { error: 'Internal server error.', code: 'KW_INTERNAL' } };
}

function genericReason(status: number): string {
  return GENERIC[status] ?? (status >= 500 ? 'Internal server error.' : 'Request refused.');
}

/**
 * Fixed reasons for the framework's own 4xx errors, by the framework's stable code (Fastify's
 * `FST_ERR_*`, body-parser's `type`): written here, never taken from the error's message,
 * which can quote the request body (a JSON parser's "Unexpected token ... in '{"password":...'").
 */
const FRAMEWORK_REASONS: Readonly<Record<string, string>> = Object.freeze({
  // Fastify
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request says Content-Type: application/json but has no body: send a JSON body, or no Content-Type.',
  FST_ERR_CTP_INVALID_JSON_BODY: 'Invalid JSON body.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported Content-Type.',
  FST_ERR_CTP_INVALID_TYPE: 'Invalid Content-Type.',
  FST_ERR_CTP_EMPTY_TYPE: 'Empty Content-Type.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body too large.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body sent.',
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: 'Request refused.',
  FST_ERR_BAD_URL: 'Malformed URL.',
  FST_ERR_ASYNC_CONSTRAINT: 'Request refused.',
  // body-parser (Express)
  'entity.parse.failed': 'Invalid JSON body.',
  'entity.too.large': 'Request body too large.',
  'encoding.unsupported': 'Unsupported Content-Encoding.',
  'charset.unsupported': 'Unsupported charset.',
  'request.aborted': 'The request body was not received in full.',
  'request.size.invalid': 'Content-Length does not match the body sent.',
  'parameters.too.many': 'Too many form parameters.',
  'entity.verify.failed': 'The request body was refused.',
});

/** The framework's stable code of an error (`FST_ERR_*` or body-parser's `type`), when it has a plausible one. */
export function frameworkCodeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as { code?: unknown }).code;
  if (typeof c === 'string' && /^FST_ERR_[A-Z0-9_]{1,60}$/.test(c)) return c;
  const t = (e as { type?: unknown }).type;
  if (typeof t === 'string' && /^[a-z]+(\.[a-z]+){1,3}$/.test(t)) return t;
  return undefined;
}

/** A fixed reason for a framework 4xx error, or undefined (then the generic text of the status). */
function frameworkReason(e: unknown, status: number): string | undefined {
  if (status >= 500) return undefined;
  const code = frameworkCodeOf(e);
  if (code !== undefined && Object.hasOwn(FRAMEWORK_REASONS, code)) return FRAMEWORK_REASONS[code];
  // A JSON parser's SyntaxError (Fastify's default parser, or body-parser without a type).
  if (e instanceof SyntaxError && status === 400) return 'Invalid JSON body.';
  if (e instanceof URIError && status === 400) return 'Malformed URL encoding.';
  return undefined;
}

/**
 * What broke, for the log line of a server-side failure: the class and the error code of
 * each cause in the chain (`ECONNREFUSED`, a Redis error prefix such as `NOAUTH` or
 * `READONLY`, a timeout), never the rest of a message, which can hold a URL with its
 * password, a key or a command's arguments. Empty when nothing is known.
 */
export function causeOf(exception: unknown): string {
  const parts: string[] = [];
  let e: unknown = exception instanceof Error ? exception.cause : undefined;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    parts.push(describeOne(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.length > 0 ? ` cause=${parts.join(' <- ')}` : '';
}

const CLASS_NAME = /^[A-Za-z_$][\w$]{0,63}$/;
/** Node's errno codes for a store that cannot be reached or cannot write: an allowlist, so no other token of a message is ever logged. */
const ERRNO = /\b(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|EPIPE|EADDRNOTAVAIL|EACCES|EPERM|ENOENT|EBUSY|EROFS|ENOSPC|EMFILE|ENFILE|EIO|EPROTO|CERT_HAS_EXPIRED|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|ERR_TLS_CERT_ALTNAME_INVALID)\b/;
/** The upper-case prefix of a Redis error reply, from an allowlist (a reply can quote a command's arguments after it). */
const REDIS_PREFIX = /^(?:[A-Za-z_$][\w$]{0,63}: )?(NOAUTH|WRONGPASS|NOPERM|READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|CROSSSLOT|OOM|BUSY|NOSCRIPT|MISCONF|NOREPLICAS|EXECABORT|ERR)\b/;

function describeOne(e: unknown): string {
  if (!(e instanceof Error)) return typeof e;
  const message = e.message.split('\n', 1)[0] ?? '';
  // A cause scrubbed to `new Error('<Class>: <first line>')` by a store keeps its class at the head of the message.
  const named = /^([A-Z][A-Za-z0-9]{0,63}(?:Error|Exception)): /.exec(message)?.[1];
  const cls = e.name === 'Error' && named !== undefined ? named : e.name;
  const bits = [CLASS_NAME.test(cls) ? cls : 'Error'];
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,39}$/.test(code)) bits.push(code);
  else {
    const known = ERRNO.exec(message)?.[1] ?? REDIS_PREFIX.exec(message)?.[1];
    if (known !== undefined) bits.push(known);
  }
  if (/\btime(?:d)?[ -]?out\b/i.test(message) || /timeout/i.test(cls)) bits.push('timeout');
  // ioredis without its offline queue, node-redis: the connection is down (the reason is the client's last connection error).
  else if (/stream isn't writeable|\bconnection is closed|\bclient is (?:closed|offline)|\bsocket closed\b/i.test(message)) bits.push('not connected');
  return bits.length > 1 ? `${bits[0]}(${bits.slice(1).join(', ')})` : bits[0]!;
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
    logger.error(`${answer.body.code} ${e.name}: ${e.message}${causeOf(e)} id=${requestId}`, e.stack);
  } else if (!(exception instanceof KeywardError)) {
    // A framework's own refusal (body parser, Fastify): its code and class, never its message (it can quote the body).
    const cause = exception instanceof HttpException ? (exception as { cause?: unknown }).cause : exception;
    if (cause instanceof Error) logger.debug(`${answer.body.code} ${CLASS_NAME.test(cause.name) ? cause.name : 'Error'}${frameworkCodeOf(cause) ? ` ${frameworkCodeOf(cause)}` : ''} id=${requestId}`);
  }
  return answer;
}

/**
 * `Retry-After` for a refusal worth retrying (a busy upstream or session, an end not yet on a
 * replica, a store that is down: a failover elects a new master in seconds), else undefined.
 */
export function retryAfterOf(exception: unknown): string | undefined {
  if (exception instanceof StoreNotDurableError) return String(exception.retryAfterSeconds);
  if (exception instanceof StoreUnavailableError) return '1';
  return exception instanceof ProxyError && exception.retryAfterSeconds !== undefined ? String(exception.retryAfterSeconds) : undefined;
}

/**
 * The headers every error answer carries, whoever writes it (the edge, Keyward's filter, or
 * an app's own filter answering a `KeywardHttpException`): `Cache-Control: no-store`, and
 * `Retry-After` when the error has one.
 */
export function errorHeaders(exception: unknown): Array<[name: string, value: string]> {
  const headers: Array<[string, string]> = [['Cache-Control', 'no-store']];
  const retryAfter = retryAfterOf(exception);
  if (retryAfter !== undefined) headers.push(['Retry-After', retryAfter]);
  return headers;
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
  for (const [name, value] of errorHeaders(exception)) res.setHeader(name, value);
  res.end(JSON.stringify(body));
}

/** Body-parser and Fastify errors carry a 4xx `status`/`statusCode`; keep it, drop the message. */
function statusOfForeign(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const s = (e as { statusCode?: unknown; status?: unknown }).statusCode ?? (e as { status?: unknown }).status;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : undefined;
}
