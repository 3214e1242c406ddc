import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { HostNotAllowedError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { hostPolicyOf, isHostAllowed, type HostPolicy } from '../origin/host-policy.js';
import { requestHost, type TransportRequest } from '../transport/transport-policy.js';

/** Host values whose verdict is remembered (a real app sees a handful). */
const VERDICT_CACHE_SIZE = 256;

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
  /**
   * Host value -> verdict. The verdict is a pure function of the value and the policy (fixed
   * at startup), and parsing a Host (two regular expressions, an IP check) cost ~3 µs of
   * every request. Bounded: a client sending ever-new Host values only evicts the oldest.
   */
  private readonly verdicts = new Map<string, boolean>();

  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {
    this.policy = hostPolicyOf(options.origin, options.transport.publicOrigin);
  }

  /** True when the request's host is allowed. */
  allows(req: IncomingMessage): boolean {
    const host = requestHost(req as unknown as TransportRequest, this.options.transport);
    if (host === undefined) return false;
    let allowed = this.verdicts.get(host);
    if (allowed === undefined) {
      allowed = isHostAllowed(host, this.policy);
      if (this.verdicts.size >= VERDICT_CACHE_SIZE) this.verdicts.delete(this.verdicts.keys().next().value!);
      this.verdicts.set(host, allowed);
    }
    return allowed;
  }

  /** Lets the request on (true) or throws {@link HostNotAllowedError}. */
  admit(req: IncomingMessage): boolean {
    if (!this.allows(req)) throw new HostNotAllowedError();
    return true;
  }
}
