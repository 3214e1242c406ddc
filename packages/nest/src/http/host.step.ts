import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { HostNotAllowedError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { hostPolicyOf, isHostAllowed, type HostPolicy } from '../origin/host-policy.js';
import { requestHost, type TransportRequest } from '../transport/transport-policy.js';

/**
 * The Host allowlist, the edge's check after the request id: a request (or a WebSocket
 * upgrade) addressed to a host name the app does not serve is refused with 421
 * `KW_HOST_NOT_ALLOWED` before anything reads its cookie. Without it, a DNS-rebinding page
 * (`http://evil.example`, re-pointed at the app) is same-origin in the browser's eyes,
 * passes the origin check, and spends the user's session. The policy is `origin/host-policy.ts`.
 */
@Injectable()
export class HostStep {
  private readonly policy: HostPolicy;

  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {
    this.policy = hostPolicyOf(options.origin, options.transport.publicOrigin);
  }

  /** True when the request's host is allowed. */
  allows(req: IncomingMessage): boolean {
    return isHostAllowed(requestHost(req as unknown as TransportRequest, this.options.transport), this.policy);
  }

  /** Lets the request on (true) or throws {@link HostNotAllowedError}. */
  admit(req: IncomingMessage): boolean {
    if (!this.allows(req)) throw new HostNotAllowedError();
    return true;
  }
}
