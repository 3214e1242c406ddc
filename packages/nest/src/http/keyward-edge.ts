import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { SEEN_AT_EDGE } from '../keyward.internal-constants.js';
import { UpgradeGuard } from '../origin/upgrade.guard.js';
import { requestIdOf } from '../redaction/request-context.middleware.js';
import { describe, logFailure } from './keyward-exception.filter.js';
import { KeywardHttpMiddleware } from './keyward-http.middleware.js';

/**
 * Keyward at the edge of the app's HTTP server, ahead of the framework: each `request`
 * goes through {@link KeywardHttpMiddleware} first (a proxied call is answered right
 * there, without the framework's router and middleware), each `upgrade` through the
 * {@link UpgradeGuard}. An app served without its own server object still gets the
 * same layer as a Nest middleware.
 */
@Injectable()
export class KeywardEdge implements OnApplicationBootstrap {
  private readonly logger = new Logger('Keyward');

  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(KeywardHttpMiddleware) private readonly http: KeywardHttpMiddleware,
    @Inject(UpgradeGuard) private readonly upgrades: UpgradeGuard,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.host.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.emit !== 'function') return;
    const emit = server.emit;
    const { http, upgrades, logger } = this;
    // Every event of the server passes here: forward the arguments as they are.
    server.emit = function (this: Server, event: string | symbol): boolean {
      if (event === 'request') {
        const req = arguments[1] as IncomingMessage & { [SEEN_AT_EDGE]?: true };
        const res = arguments[2] as ServerResponse;
        req[SEEN_AT_EDGE] = true;
        let handedOn = false;
        try {
          http.run(req, res, () => {
            handedOn = true;
            Reflect.apply(emit, this, ['request', req, res]);
          });
        } catch (e) {
          // Only Keyward's own layer is answered here; the framework handles its own errors.
          if (handedOn) throw e;
          const { status, body } = describe(e);
          const requestId = requestIdOf(req);
          if (requestId) body.requestId = requestId;
          logFailure(logger, e, body);
          if (!res.headersSent) {
            res.statusCode = status;
            res.setHeader('Content-Type', 'application/json; charset=utf-8');
            res.setHeader('Cache-Control', 'no-store');
          }
          res.end(JSON.stringify(body));
        }
        return true;
      }
      if (event === 'upgrade' && upgrades.refuse(arguments[1] as IncomingMessage, arguments[2] as Duplex)) return true;
      return Reflect.apply(emit, this, arguments) as boolean;
    } as typeof server.emit;
  }
}
