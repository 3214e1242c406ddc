import { Inject, Injectable, Optional, type NestMiddleware } from '@nestjs/common';
import { KeywardEvents } from '../events/keyward-events.js';
import type { ServerResponse } from 'node:http';
import { SEEN_AT_EDGE } from '../keyward.internal-constants.js';
import { CorsStep } from './cors.step.js';
import { HostStep } from './host.step.js';
import { intoNest } from './keyward-http.exception.js';
import { ProxyRoute } from './proxy.step.js';
import type { EdgeRequest } from './request.types.js';
import { noteRefusal, RequestContextStep } from './request-context.step.js';
import { TransportStep } from './transport.step.js';

export type { EdgeRequest } from './request.types.js';

/**
 * The edge's steps, in a fixed order: request id and log, the security headers, the Host
 * allowlist, HTTPS, CORS, then the proxy route for requests under its path. A step that
 * refuses throws a `KeywardError`, answered by the one error writer. It runs once per
 * request, before the framework, from `KeywardEdge`; on Fastify, requests that bypass the
 * HTTP server (`inject`, serverless adapters) get it as a Nest middleware instead
 * (`use()`), whose refusals reach the Nest face of the same writer, the exception filter.
 */
@Injectable()
export class EdgePipeline implements NestMiddleware {
  constructor(
    @Inject(RequestContextStep) private readonly context: RequestContextStep,
    @Inject(HostStep) private readonly hosts: HostStep,
    @Inject(TransportStep) private readonly transport: TransportStep,
    @Inject(CorsStep) private readonly cors: CorsStep,
    @Inject(ProxyRoute) private readonly proxy: ProxyRoute,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {}

  use(req: EdgeRequest, res: ServerResponse, next: () => void): void {
    if (req[SEEN_AT_EDGE]) {
      next();
      return;
    }
    let handOn: boolean;
    try {
      handOn = this.pass(req, res);
    } catch (e) {
      // The exception filters answer it (the app's own too: as an HttpException); the proxied call's log line needs its code.
      noteRefusal(res, e);
      throw intoNest(e, req, res, this.events);
    }
    if (handOn) next();
  }

  /**
   * The whole layer for one request: true when the request goes on to the framework (the
   * caller hands it on, with no callback allocated per request); false when it has been
   * answered here (a proxied call, a preflight, a redirect). A refusal throws (the caller
   * notes it with `noteRefusal` before answering it).
   */
  pass(req: EdgeRequest, res: ServerResponse): boolean {
    const proxied = this.proxy.handles(req);
    if (!(this.context.admit(req, res, proxied) && this.transport.secure(res) && this.hosts.admit(req) && this.transport.admit(req, res) && this.cors.admit(req, res))) return false;
    if (!proxied) return true;
    // forward() answers every failure itself; this only guards against a failure to answer.
    this.proxy.forward(req, res).catch(() => res.destroy());
    return false;
  }
}
