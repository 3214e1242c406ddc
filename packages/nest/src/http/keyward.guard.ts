import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { KeywardEvents } from '../events/keyward-events.js';
import { refusingIntoNest } from './keyward-http.exception.js';
import { OriginGuard } from './origin.guard.js';
import type { AnyRequest } from './request.types.js';
import { RoutePolicies } from './route-policy.js';
import { SessionGuard } from './session.guard.js';

/**
 * The edge's way into Nest for every request that is not proxied: Keyward's one global guard, the origin/CSRF check, then the session. The order is the
 * point: a request refused on its origin never reads (or extends) the session. The route's
 * metadata is read once per route ({@link RoutePolicies}), for both halves. A refusal reaches
 * Nest as a `KeywardHttpException` (an `HttpException`), so an app's own exception filter
 * answers it with Keyward's status and body.
 */
@Injectable()
export class KeywardGuard implements CanActivate {
  constructor(
    @Inject(OriginGuard) private readonly origin: OriginGuard,
    @Inject(SessionGuard) private readonly session: SessionGuard,
    @Inject(RoutePolicies) private readonly routes: RoutePolicies,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    if (context.getType() !== 'http') return true;
    const route = this.routes.of(context.getClass(), context.getHandler());
    const req = context.getArgByIndex<AnyRequest>(0);
    const res: unknown = context.getArgByIndex(1);
    return refusingIntoNest(
      // OriginGuard throws when it refuses; it never answers false.
      () => this.origin.admit(req, route) && this.session.admit(req, res, route.allowAnonymous),
      req,
      res,
      this.events,
    );
  }
}
