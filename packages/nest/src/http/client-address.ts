import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { clientAddress, type AddressedRequest } from '../transport/forwarded.js';

/**
 * The client's address, by the same trust rule as the HTTPS decision
 * (`transport.trustProxy`): behind a trusted TLS-terminating proxy, the address that proxy
 * reports in `X-Forwarded-For` (the last hop a trusted proxy added); otherwise the TCP peer.
 * Use it wherever a limit or a log counts clients: behind a proxy, the peer is the proxy,
 * and counting it makes everyone one client (20 failed logins from anyone lock every user
 * out). Nest's `@Ip()` and Express's `req.ip` follow Express's own `trust proxy` setting,
 * which Keyward does not set.
 *
 * @example
 * constructor(private readonly clients: ClientAddress) {}
 * login(@Req() req: Request) { const client = this.clients.of(req); ... }
 * @example
 * // @nestjs/throttler: count by client address
 * protected override getTracker(req: Record<string, unknown>) { return Promise.resolve(this.clients.of(req) ?? 'unknown'); }
 */
@Injectable()
export class ClientAddress {
  private readonly trust: (address: string | undefined) => boolean;

  constructor(@Inject(RESOLVED_OPTIONS) options: ResolvedKeywardOptions) {
    this.trust = options.transport.trust;
  }

  /** The client's address (an Express or Fastify request, or Node's), or undefined when the socket has none. */
  of(req: unknown): string | undefined {
    const r = req as AddressedRequest & { raw?: AddressedRequest };
    return clientAddress(r.socket !== undefined ? r : (r.raw ?? r), this.trust);
  }
}
