import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { requestOrigin, type TransportRequest } from '../transport/transport-policy.js';
import { checkUpgradeOrigin } from './origin-policy.js';

/**
 * Checks every WebSocket upgrade of the app's HTTP server before any gateway sees it:
 * a cross-site handshake (cross-site WebSocket hijacking) is answered 403 and closed.
 */
@Injectable()
export class UpgradeGuard implements OnApplicationBootstrap {
  private readonly logger = new Logger('Keyward');

  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.host.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.emit !== 'function') return;
    const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
    server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event === 'upgrade') {
        const [req, socket] = args as [IncomingMessage, Duplex];
        const verdict = checkUpgradeOrigin(req.headers, requestOrigin(req as unknown as TransportRequest, this.options.transport), this.options.origin);
        if (!verdict.ok) {
          this.logger.warn(`WebSocket upgrade refused: ${verdict.code}`);
          socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return true;
        }
      }
      return emit(event, ...args);
    }) as typeof server.emit;
  }
}
