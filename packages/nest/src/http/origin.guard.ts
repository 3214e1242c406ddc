import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { KeywardEvents } from '../events/keyward-events.js';
import { OriginRefusedError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { checkOrigin, isUnsafeMethod, type OriginVerdict } from '../origin/origin-policy.js';
import { requestOrigin, type TransportRequest } from '../transport/transport-policy.js';
import { refusingIntoNest } from './keyward-http.exception.js';
import type { AnyRequest } from './request.types.js';
import { RoutePolicies, type RoutePolicy } from './route-policy.js';

export { USES_CREDENTIALS } from './route-policy.js';

/**
 * The origin half of the edge's Nest guard ({@link KeywardGuard} runs it first; also
 * usable alone): the origin/CSRF check, deny by default: every state-changing request, and every
 * request to a route that uses credentials, must come from an allowed origin and carry
 * the custom header. Runs before the session is read.
 */
@Injectable()
export class OriginGuard implements CanActivate {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
    @Inject(RoutePolicies) private readonly routes: RoutePolicies,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {}

  /** Refuses with a `KeywardHttpException` (403 and Keyward's body), which an app's own exception filter can answer. */
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.getArgByIndex<AnyRequest>(0);
    const route = this.routes.of(context.getClass(), context.getHandler());
    return refusingIntoNest(() => this.admit(req, route), req, context.getArgByIndex(1), this.events) as boolean;
  }

  /** The check itself, for a request of a route: true, or throws {@link OriginRefusedError}. */
  admit(req: AnyRequest, route: RoutePolicy): boolean {
    if (!route.usesCredentials && (!isUnsafeMethod(req.method) || route.skipOriginCheck)) return true;
    const verdict = verifyOrigin(req, this.options);
    if (!verdict.ok) throw new OriginRefusedError(verdict.code, verdict.reason);
    return true;
  }
}

/** The origin verdict for a request, with the app's own origin taken from the request. */
export function verifyOrigin(req: AnyRequest, options: ResolvedKeywardOptions): OriginVerdict {
  const self = requestOrigin(req as unknown as TransportRequest, options.transport);
  return checkOrigin(req.method, req.headers, self, options.origin);
}
