import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SEEN_AT_EDGE } from '../keyward.internal-constants.js';
import { CorsMiddleware } from '../origin/cors.middleware.js';
import { ProxyMiddleware } from '../proxy/proxy.middleware.js';
import { RequestContextMiddleware } from '../redaction/request-context.middleware.js';
import { TransportMiddleware } from '../transport/transport.middleware.js';

type EdgeRequest = IncomingMessage & { [SEEN_AT_EDGE]?: true };

/**
 * Keyward's HTTP layer, in a fixed order: request id and log, HTTPS and security headers,
 * CORS, then the proxy for requests under its path. It runs once per request: at the
 * server, before the framework, when {@link KeywardEdge} could hook the app's HTTP
 * server; otherwise here, as a Nest middleware on every route (an app served through
 * `getInstance()`, e.g. on a serverless adapter).
 */
@Injectable()
export class KeywardHttpMiddleware implements NestMiddleware {
  constructor(
    @Inject(RequestContextMiddleware) private readonly context: RequestContextMiddleware,
    @Inject(TransportMiddleware) private readonly transport: TransportMiddleware,
    @Inject(CorsMiddleware) private readonly cors: CorsMiddleware,
    @Inject(ProxyMiddleware) private readonly proxy: ProxyMiddleware,
  ) {}

  use(req: EdgeRequest, res: ServerResponse, next: () => void): void {
    if (req[SEEN_AT_EDGE]) {
      // Express sets its X-Powered-By after the edge ran.
      res.removeHeader('X-Powered-By');
      return next();
    }
    this.run(req, res, next);
  }

  /** The whole layer for one request; `next` hands it on to the framework. */
  run(req: EdgeRequest, res: ServerResponse, next: () => void): void {
    this.context.use(req, res, () =>
      this.transport.use(req, res, () => this.cors.use(req, res, () => void this.proxy.use(req, res, next))),
    );
  }
}
