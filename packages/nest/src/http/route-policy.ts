import { Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ALLOW_ANONYMOUS } from '../keyward.constants.js';
import { SKIP_ORIGIN_CHECK } from './skip-origin-check.decorator.js';

/** Metadata key marking routes that use credentials (the proxy): checked for every method. */
export const USES_CREDENTIALS = 'keyward:usesCredentials';

/** What Keyward's decorators say about one route (a handler of a controller class). */
export interface RoutePolicy {
  /** The route attaches a credential: its origin is checked for every method. */
  readonly usesCredentials: boolean;
  /** `@SkipOriginCheck`: unsafe methods pass without an origin check (never with `usesCredentials`). */
  readonly skipOriginCheck: boolean;
  /** `@AllowAnonymous`: the route runs without a session. */
  readonly allowAnonymous: boolean;
}

/**
 * The route metadata the guards read, looked up once per route instead of on every
 * request: decorators run when a class is defined, and Nest itself fixes a route's guards,
 * pipes and handler when the app starts, so the answer for a (class, handler) pair never
 * changes. Keyed weakly by class, then handler (a handler inherited by two controllers can
 * carry different class-level metadata in each).
 */
@Injectable()
export class RoutePolicies {
  private readonly byClass = new WeakMap<object, WeakMap<object, RoutePolicy>>();

  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  of(controller: object | null | undefined, handler: object | null | undefined): RoutePolicy {
    // A context without a class or handler (a hand-made ExecutionContext) is read every time.
    if (!controller || !handler) return this.read(controller, handler);
    let byHandler = this.byClass.get(controller);
    if (!byHandler) this.byClass.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (!policy) byHandler.set(handler, (policy = this.read(controller, handler)));
    return policy;
  }

  private read(controller: unknown, handler: unknown): RoutePolicy {
    // Handler first: a method's own decorator overrides its class's.
    const targets = [handler, controller].filter((t) => t !== null && t !== undefined) as Array<() => unknown>;
    return Object.freeze({
      usesCredentials: this.reflector.getAllAndOverride<boolean>(USES_CREDENTIALS, targets) === true,
      skipOriginCheck: Boolean(this.reflector.getAllAndOverride<string>(SKIP_ORIGIN_CHECK, targets)),
      allowAnonymous: this.reflector.getAllAndOverride<boolean>(ALLOW_ANONYMOUS, targets) === true,
    });
  }
}
