import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { OriginGuard } from './origin.guard.js';
import { SessionGuard } from './session.guard.js';

/**
 * The edge's way into Nest for every request that is not proxied: Keyward's one global guard, the origin/CSRF check, then the session. The order is the
 * point: a request refused on its origin never reads (or extends) the session.
 */
@Injectable()
export class KeywardGuard implements CanActivate {
  constructor(
    @Inject(OriginGuard) private readonly origin: OriginGuard,
    @Inject(SessionGuard) private readonly session: SessionGuard,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    // OriginGuard throws when it refuses; it never answers false.
    if (!this.origin.canActivate(context)) return false;
    return this.session.canActivate(context);
  }
}
