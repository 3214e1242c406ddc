import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KeywardError } from '../keyward.errors.js';
import { PROXY_PATH, REQUEST_ID, REQUEST_SESSION, RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { forNestLogger } from '../redaction/keyward.logger.js';
import { logId } from '../redaction/live-secrets.js';
import type { RequestSession } from '../session/request-session.js';
import type { EdgeRequest } from './request.types.js';

/** A request id taken from a trusted proxy: a UUID or 8-64 letters, digits, `-` and `_` (nothing a log line or a header could be bent by). */
const REQUEST_ID_FORMAT = /^[A-Za-z0-9_-]{8,64}$/;
const SERVICE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The request id of a request (set by the edge's first step, {@link RequestContextStep}). */
export function requestIdOf(req: unknown): string | undefined {
  return (req as { [REQUEST_ID]?: string } | undefined)?.[REQUEST_ID] ?? (req as { raw?: { [REQUEST_ID]?: string } } | undefined)?.raw?.[REQUEST_ID];
}

/**
 * The log line of one proxied call (`logRequests: 'proxied'`, the default, or `true`), as
 * handed to Nest's `Logger` with context `KeywardProxy`: a structured logger gets these
 * fields, Nest's console logger one compact JSON line. Never a key, a cookie, a session ID,
 * a query or a header value.
 */
export interface ProxiedCallLine {
  msg: 'proxied call';
  /** The configured service the path names; null when it names none. */
  service: string | null;
  method: string;
  /** The path as the client sent it, without its query string (at most 256 characters). */
  path: string;
  /** The status answered. */
  status: number;
  /** From the request's arrival at the edge to the end of the answer, in milliseconds (0.1 ms). */
  ms: number;
  /** Bytes of the response body, when known (the answer was sent in one piece or with a Content-Length). */
  bytes: number | null;
  requestId: string;
  /** `forwarded`: the upstream's answer; `refused` (4xx) / `failed` (5xx): Keyward's error answer; `aborted`: cut before its end. */
  outcome: 'forwarded' | 'refused' | 'failed' | 'aborted';
  /** The error answer's stable code (`KW_SESSION_REQUIRED`, `KW_PROXY_UPSTREAM_FAILED` ...). */
  code: string | undefined;
}

const PROXIED_CALL = Symbol('keyward.proxiedCall');
const REFUSAL = Symbol('keyward.refusal');
type LoggedResponse = ServerResponse & { [PROXIED_CALL]?: ProxiedCallLine; [REFUSAL]?: unknown };
const proxyLog = new Logger('KeywardProxy');

/**
 * Notes why a request was answered with an error (the exception the error writer answers),
 * so the proxied call's log line carries its code. Call it just before `writeError`; a
 * request that is not logged ignores it (one property on the error path only).
 */
export function noteRefusal(res: ServerResponse, exception: unknown): void {
  if ((res as LoggedResponse)[PROXIED_CALL] !== undefined) (res as LoggedResponse)[REFUSAL] = exception;
}

/** The code the error writer answers for `exception` at `status` (its `describe` rule, without importing it: it imports this file). */
function codeOf(exception: unknown, status: number): string {
  if (exception instanceof KeywardError) return exception.code;
  return status === 500 ? 'KW_INTERNAL' : `KW_HTTP_${status}`;
}

/** The body's size: a Content-Length set by whoever answered, else the one Node framed a body sent in one piece with. */
function bodyBytes(res: ServerResponse): number | null {
  const declared = res.getHeader('content-length');
  if (declared !== undefined) return Number(declared);
  const framed = (res as { _contentLength?: unknown })._contentLength;
  return typeof framed === 'number' ? framed : null;
}

/** Every proxied call's response shares this one listener (`close`): no closure per call. */
function logProxiedCall(this: LoggedResponse): void {
  const line = this[PROXIED_CALL];
  if (line === undefined) return;
  line.ms = Math.round((performance.now() - line.ms) * 10) / 10;
  line.status = this.statusCode;
  line.bytes = bodyBytes(this);
  const refusal = this[REFUSAL];
  if (refusal !== undefined) {
    line.code = codeOf(refusal, line.status);
    line.outcome = line.status >= 500 ? 'failed' : 'refused';
  }
  if (!this.writableFinished) line.outcome = 'aborted';
  proxyLog.log(forNestLogger(line));
}

/**
 * The edge's first step: gives every request an id (echoed as `X-Request-Id`, included in
 * error bodies and security events) and keeps the request log (`logRequests`). The id is a
 * random UUID, or the `X-Request-Id` a trusted proxy (`transport.trustProxy`) sent when it is
 * 8-64 letters, digits, `-` or `_`: a client never chooses it.
 * - a proxied call (by default): one {@link ProxiedCallLine}, through Nest's `Logger` with
 *   context `KeywardProxy`, when its answer ends. One small record per call and one shared
 *   listener; nothing when the log is off or Nest's `log` level is disabled.
 * - every other request (`logRequests: true`): method, path without its query, status,
 *   duration, and the session as a keyed hash, context `KeywardHttp`.
 * Never headers, cookies, query values or bodies.
 */
@Injectable()
export class RequestContextStep {
  private readonly logger = new Logger('KeywardHttp');
  private readonly logProxied: boolean;
  private readonly logOthers: boolean;
  /** `/<proxy path>/`, as the proxy route reads it (the service name follows it). */
  private readonly proxyPrefix: string;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
    @Inject(PROXY_PATH) proxyPath: string | false,
  ) {
    this.logProxied = options.logRequests !== 'none' && proxyPath !== false;
    this.logOthers = options.logRequests === 'all';
    this.proxyPrefix = proxyPath === false ? '/' : `/${proxyPath.replace(/^\/+|\/+$/g, '')}/`;
  }

  /** Always lets the request on (returns true). `proxied`: the request is for the proxy route. */
  admit(req: EdgeRequest, res: ServerResponse, proxied = false): boolean {
    // A client's X-Request-Id is never believed: the id names the request in security events
    // and error bodies. Only a proxy the app trusts (`transport.trustProxy`) may pass one on,
    // and only in a strict format; otherwise the id is ours.
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID_FORMAT.test(given) && this.options.transport.trust(req.socket?.remoteAddress) ? given : randomUUID();
    req[REQUEST_ID] = id;
    res.setHeader('X-Request-Id', id);
    if (proxied) {
      if (this.logProxied && Logger.isLevelEnabled('log')) this.watchProxiedCall(req, res, id);
    } else if (this.logOthers) this.watchRequest(req, res, id);
    return true;
  }

  private watchProxiedCall(req: EdgeRequest, res: ServerResponse, requestId: string): void {
    const prefix = this.proxyPrefix;
    // Fastify's middleware layer rewrites req.url; the original is kept in originalUrl.
    const url = req.originalUrl ?? req.url ?? '/';
    const query = url.indexOf('?');
    const path = (query < 0 ? url : url.slice(0, query)).slice(0, 256);
    const slash = path.indexOf('/', prefix.length);
    const named = slash < 0 ? path.slice(prefix.length) : path.slice(prefix.length, slash);
    (res as LoggedResponse)[PROXIED_CALL] = {
      msg: 'proxied call',
      service: SERVICE_NAME.test(named) && this.options.proxy.has(named) ? named : null,
      method: req.method ?? 'GET',
      path,
      status: 0,
      ms: performance.now(), // the start, until the answer ends
      bytes: null,
      requestId,
      outcome: 'forwarded',
      code: undefined,
    };
    res.on('close', logProxiedCall);
  }

  private watchRequest(req: EdgeRequest, res: ServerResponse, id: string): void {
    const started = process.hrtime.bigint();
    const path = (req.originalUrl ?? req.url ?? '/').split('?')[0]!.slice(0, 256);
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // A session appears only as a keyed hash of its store key: lines correlate, the ID cannot be recovered.
      const key = (req[REQUEST_SESSION] as RequestSession | undefined)?.storedRecord?.key;
      this.logger.log(`${req.method} ${path} ${res.statusCode} ${ms.toFixed(1)}ms id=${id}${key ? ` session=${logId(key)}` : ''}`);
    });
  }
}
