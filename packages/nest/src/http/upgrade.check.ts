import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { KeywardEvents } from '../events/keyward-events.js';
import { KeywardErrorCode } from '../keyward.errors.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { checkUpgradeOrigin } from '../origin/origin-policy.js';
import { requestOrigin, requestScheme, type TransportRequest } from '../transport/transport-policy.js';
import { HostStep } from './host.step.js';

/**
 * The edge's entry for WebSocket upgrades: checks every upgrade of the app's HTTP server
 * before any gateway sees it. A handshake addressed to a host the app does not serve (DNS
 * rebinding) is answered 421, a plain-HTTP one where HTTPS is required 403, a cross-site
 * handshake (cross-site WebSocket hijacking) 403,
 * and the socket closed. Called by `KeywardEdge` for each `upgrade` event. (Named
 * `UpgradeGuard` before 0.3.0; it is not a Nest guard.)
 */
@Injectable()
export class UpgradeCheck {
  private readonly logger = new Logger('Keyward');

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
    @Inject(HostStep) private readonly hosts: HostStep,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {}

  /**
   * Refuses (421 or 403, socket closed) a handshake to a foreign host, over plain HTTP where
   * HTTPS is required (`transport.requireHttps`: a cookie-bearing WebSocket over `ws://` is
   * sniffable like any request), or from a foreign or missing origin; returns true if it did.
   */
  refuse(req: IncomingMessage, socket: Duplex): boolean {
    if (!this.hosts.allows(req)) return this.refuseWith(socket, KeywardErrorCode.HostNotAllowed, '421 Misdirected Request');
    const t = this.options.transport;
    if (t.requireHttps && requestScheme(req as unknown as TransportRequest, t) !== 'https') return this.refuseWith(socket, KeywardErrorCode.HttpsRequired, '403 Forbidden');
    const verdict = checkUpgradeOrigin(req.headers, requestOrigin(req as unknown as TransportRequest, this.options.transport), this.options.origin);
    return verdict.ok ? false : this.refuseWith(socket, verdict.code, '403 Forbidden');
  }

  /** Closes the handshake with `status` and reports it like every refusal (a `request.refused` event). */
  private refuseWith(socket: Duplex, code: string, status: string): true {
    this.logger.warn(`WebSocket upgrade refused: ${code}`);
    this.events?.refused(code);
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    return true;
  }
}
