import { KeywardEvents } from '../events/keyward-events.js';
import { Inject, Optional, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { EDGE_INSTALLED, RESOLVED_OPTIONS, SEEN_AT_EDGE } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { EdgePipeline } from './edge-pipeline.js';
import { writeError } from './error-writer.js';
import type { EdgeRequest } from './request.types.js';
import { noteRefusal } from './request-context.step.js';
import { tightenServerTimeouts } from './server-timeouts.js';
import { UpgradeCheck } from './upgrade.check.js';

type Handler = (this: unknown, req: EdgeRequest, res: ServerResponse, ...rest: unknown[]) => unknown;

/** The Express application's entry point: what `http.createServer(app)` and serverless adapters call. */
interface ExpressEntry {
  handle: Handler;
  disable(setting: string): unknown;
}

function expressEntry(instance: unknown): ExpressEntry | null {
  if (typeof instance !== 'function') return null;
  const app = instance as unknown as Partial<ExpressEntry>;
  return typeof app.handle === 'function' && typeof app.disable === 'function' ? (app as ExpressEntry) : null;
}

/**
 * Keyward ahead of the framework, the edge's entry point: each request goes through the
 * {@link EdgePipeline} before the framework's router (a proxied call is answered right
 * there), each WebSocket upgrade through the {@link UpgradeCheck}.
 *
 * - The HTTP server's `request` event, on both adapters: every request the server
 *   receives, including those answered by other listeners (socket.io long polling).
 * - Express also: the application's own entry (`app.handle`), so an app served without
 *   its server (`http.createServer(app)`, a serverless adapter handed `getInstance()`)
 *   gets the layer too. A mark on the request keeps it to once.
 * - The server's request, header and keep-alive timeouts are tightened
 *   (`transport.requestTimeoutMs` ...), so a body trickled byte by byte cannot hold a
 *   connection for minutes.
 * - Fastify: requests that bypass the server (`inject`, serverless) get the same layer as
 *   a Nest middleware instead ({@link KeywardEdge.coversEveryRequest} is false, so the
 *   module registers it).
 */
@Injectable()
export class KeywardEdge implements OnApplicationBootstrap {
  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(EdgePipeline) private readonly http: EdgePipeline,
    @Inject(UpgradeCheck) private readonly upgrades: UpgradeCheck,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {}

  /** True when every request of the app, however it is served, passes the edge. */
  coversEveryRequest(): boolean {
    return expressEntry(this.host.httpAdapter?.getInstance?.()) !== null;
  }

  onApplicationBootstrap(): void {
    const express = expressEntry(this.host.httpAdapter?.getInstance?.());
    if (express && claim(express)) {
      // The edge removes it before Express would add it again.
      express.disable('x-powered-by');
      express.handle = this.wrap(express.handle);
    }
    const server = this.host.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.emit !== 'function' || !claim(server)) return;
    tightenServerTimeouts(server, this.options.transport.timeouts);
    const emit = server.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
    const onRequest = this.wrap(function (this: unknown, req: EdgeRequest, res: ServerResponse) {
      return emit.call(this as Server, 'request', req, res);
    });
    const { upgrades } = this;
    // Every event of the server passes here: forward the arguments as they are.
    server.emit = function (this: Server, event: string | symbol): boolean {
      if (event === 'request') {
        onRequest.call(this, arguments[1] as EdgeRequest, arguments[2] as ServerResponse);
        return true;
      }
      if (event === 'upgrade' && upgrades.refuse(arguments[1] as IncomingMessage, arguments[2] as Duplex)) return true;
      return Reflect.apply(emit, this, arguments) as boolean;
    } as typeof server.emit;
  }

  /** `entry` behind Keyward's HTTP layer: it runs only if the layer hands the request on. */
  private wrap(entry: Handler): Handler {
    const { http, events } = this;
    return function (this: unknown, req: EdgeRequest, res: ServerResponse): unknown {
      if (req[SEEN_AT_EDGE]) return Reflect.apply(entry, this, arguments);
      req[SEEN_AT_EDGE] = true;
      let handOn: boolean;
      try {
        handOn = http.pass(req, res);
      } catch (e) {
        // Only Keyward's own layer is answered here; what the framework throws (below) stays its own.
        noteRefusal(res, e);
        writeError(req, res, e, events);
        return undefined;
      }
      if (handOn) Reflect.apply(entry, this, arguments);
      return undefined;
    };
  }
}

/** Marks an app or server as having Keyward's edge; false if it already had one (a second Keyward module). */
function claim(target: object): boolean {
  const t = target as { [EDGE_INSTALLED]?: true };
  if (t[EDGE_INSTALLED]) {
    new Logger('Keyward').warn('Keyward is already in front of this app; a second KeywardModule adds no edge of its own.');
    return false;
  }
  t[EDGE_INSTALLED] = true;
  return true;
}
