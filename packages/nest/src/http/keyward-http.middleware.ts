import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SEEN_AT_EDGE } from '../keyward.internal-constants.js';
import { HttpsRequiredError } from '../keyward.errors.js';
import { CorsMiddleware } from '../origin/cors.middleware.js';
import { HostAllowlist } from '../origin/host-allowlist.js';
import { ProxyMiddleware } from '../proxy/proxy.middleware.js';
import { RequestContextMiddleware } from '../redaction/request-context.middleware.js';
import { isPlainHttpProbe } from '../transport/transport-policy.js';
import { TransportMiddleware } from '../transport/transport.middleware.js';

/** A request as the edge sees it: marked once Keyward's layer has run for it. */
export type EdgeRequest = IncomingMessage & { [SEEN_AT_EDGE]?: true };

/**
 * Keyward's HTTP layer, in a fixed order: request id and log, the Host allowlist, HTTPS
 * and security headers, CORS, then the proxy for requests under its path. A step that
 * refuses throws a `KeywardError`, answered by the one error writer. It runs once per request, before the
 * framework, from `KeywardEdge`; on Fastify, requests that bypass the HTTP server
 * (`inject`, serverless adapters) get it here instead, as a Nest middleware.
 */
@Injectable()
export class KeywardHttpMiddleware implements NestMiddleware {
  constructor(
    @Inject(RequestContextMiddleware) private readonly context: RequestContextMiddleware,
    @Inject(HostAllowlist) private readonly hosts: HostAllowlist,
    @Inject(TransportMiddleware) private readonly transport: TransportMiddleware,
    @Inject(CorsMiddleware) private readonly cors: CorsMiddleware,
    @Inject(ProxyMiddleware) private readonly proxy: ProxyMiddleware,
  ) {}

  use(req: EdgeRequest, res: ServerResponse, next: () => void): void {
    if (req[SEEN_AT_EDGE]) return next();
    this.run(req, res, next);
  }

  /** The whole layer for one request; `next` hands it on to the framework. */
  run(req: EdgeRequest, res: ServerResponse, next: () => void): void {
    if (this.context.admit(req, res) && this.hosts.admit(req) && this.transport.admit(req, res) && this.cors.admit(req, res)) this.dispatch(req, res, next);
  }

  /** A proxied call is answered here; anything else goes on, synchronously, to the framework. */
  private dispatch(req: EdgeRequest, res: ServerResponse, next: () => void): void {
    if (!this.proxy.handles(req)) return next();
    // A probe path over plain HTTP is never a way to a key.
    if (isPlainHttpProbe(req)) throw new HttpsRequiredError();
    // forward() answers every failure itself; this only guards against a failure to answer.
    this.proxy.forward(req, res).catch(() => res.destroy());
  }
}
