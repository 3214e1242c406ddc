import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { checkUpgradeOrigin } from '../origin/origin-policy.js';
import { requestOrigin, type TransportRequest } from '../transport/transport-policy.js';
import { HostStep } from './host.step.js';

/**
 * The edge's entry for WebSocket upgrades: checks every upgrade of the app's HTTP server
 * before any gateway sees it. A handshake addressed to a host the app does not serve (DNS
 * rebinding) is answered 421, a cross-site handshake (cross-site WebSocket hijacking) 403,
 * and the socket closed. Called by `KeywardEdge` for each `upgrade` event. (Named
 * `UpgradeGuard` before 0.3.0; it is not a Nest guard.)
 */
@Injectable()
export class UpgradeCheck {
  private readonly logger = new Logger('Keyward');

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
    @Inject(HostStep) private readonly hosts: HostStep,
  ) {}

  /** Refuses (421 or 403, socket closed) a handshake to a foreign host or from a foreign or missing origin; returns true if it did. */
  refuse(req: IncomingMessage, socket: Duplex): boolean {
    if (!this.hosts.allows(req)) {
      this.logger.warn('WebSocket upgrade refused: KW_HOST_NOT_ALLOWED');
      socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    const verdict = checkUpgradeOrigin(req.headers, requestOrigin(req as unknown as TransportRequest, this.options.transport), this.options.origin);
    if (verdict.ok) return false;
    this.logger.warn(`WebSocket upgrade refused: ${verdict.code}`);
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return true;
  }
}
