import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { REQUEST_ID, REQUEST_SESSION, RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { logId } from '../redaction/live-secrets.js';
import type { RequestSession } from '../session/request-session.js';
import type { EdgeRequest } from './request.types.js';

const SAFE_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** The request id of a request (set by the edge's first step, {@link RequestContextStep}). */
export function requestIdOf(req: unknown): string | undefined {
  return (req as { [REQUEST_ID]?: string } | undefined)?.[REQUEST_ID] ?? (req as { raw?: { [REQUEST_ID]?: string } } | undefined)?.raw?.[REQUEST_ID];
}

/**
 * The edge's first step: gives every request an id (echoed as `X-Request-Id`, included in
 * error bodies) and, when `logRequests` is on, logs one line per request: method, path
 * without its query, status, duration, and the session as a keyed hash. Never headers,
 * cookies or bodies.
 */
@Injectable()
export class RequestContextStep {
  private readonly logger = new Logger('KeywardHttp');

  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {}

  /** Always lets the request on (returns true). */
  admit(req: EdgeRequest, res: ServerResponse): boolean {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
    req[REQUEST_ID] = id;
    res.setHeader('X-Request-Id', id);
    if (this.options.logRequests) {
      const started = process.hrtime.bigint();
      // Fastify's middleware layer rewrites req.url; the original is kept in originalUrl.
      const path = (req.originalUrl ?? req.url ?? '/').split('?')[0]!.slice(0, 256);
      res.once('finish', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        // A session appears only as a keyed hash of its store key: lines correlate, the ID cannot be recovered.
        const key = (req[REQUEST_SESSION] as RequestSession | undefined)?.storedRecord?.key;
        this.logger.log(`${req.method} ${path} ${res.statusCode} ${ms.toFixed(1)}ms id=${id}${key ? ` session=${logId(key)}` : ''}`);
      });
    }
    return true;
  }
}
