import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { OriginGuard } from './origin.guard.js';
import type { AnyRequest } from './request.types.js';
import { RoutePolicies } from './route-policy.js';
import { SessionGuard } from './session.guard.js';

/**
 * The edge's way into Nest for every request that is not proxied: Keyward's one global guard, the origin/CSRF check, then the session. The order is the
 * point: a request refused on its origin never reads (or extends) the session. The route's
 * metadata is read once per route ({@link RoutePolicies}), for both halves.
 */
@Injectable()
export class KeywardGuard implements CanActivate {
  constructor(
    @Inject(OriginGuard) private readonly origin: OriginGuard,
    @Inject(SessionGuard) private readonly session: SessionGuard,
    @Inject(RoutePolicies) private readonly routes: RoutePolicies,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    if (context.getType() !== 'http') return true;
    const route = this.routes.of(context.getClass(), context.getHandler());
    const req = context.getArgByIndex<AnyRequest>(0);
    // OriginGuard throws when it refuses; it never answers false.
    if (!this.origin.admit(req, route)) return false;
    return this.session.admit(req, context.getArgByIndex(1), route.allowAnonymous);
  }
}
