import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ALLOW_ANONYMOUS } from '../keyward.constants.js';
import { REQUEST_SESSION } from '../keyward.internal-constants.js';
import { SessionRequiredError } from '../keyward.errors.js';
import type { AuthenticatedSession, RequestSession } from '../session/request-session.js';
import type { SessionUser } from '../session/session.types.js';

/**
 * Lets a route (or every route of a controller) run without a session. Every other route
 * needs one (deny by default). The session is still read if a cookie is sent.
 *
 * @example
 * @Get('healthz') @AllowAnonymous() health() { return { status: 'ok' }; }
 */
export const AllowAnonymous = (): MethodDecorator & ClassDecorator => SetMetadata(ALLOW_ANONYMOUS, true);

/** Options of {@link CurrentSession}. */
export interface CurrentSessionOptions {
  /**
   * Refuse (401 `KW_SESSION_REQUIRED`) when the request has no logged-in session, and type
   * the parameter as {@link AuthenticatedSession} (`user`, `info` without `undefined`).
   * @default false
   */
  authenticated?: boolean;
}

function sessionOf(ctx: ExecutionContext): RequestSession {
  const session = ctx.getArgByIndex<Record<symbol, unknown>>(0)?.[REQUEST_SESSION] as RequestSession | undefined;
  // Only reachable if the Keyward guard did not run for this route (e.g. a guard-less context).
  if (!session) throw new SessionRequiredError();
  return session;
}

/**
 * Injects the {@link RequestSession} of the current request. With
 * `{ authenticated: true }` it is an {@link AuthenticatedSession}: a request without a
 * logged-in user is refused with 401 (on a route the guard protects, it never gets there).
 *
 * @default options { authenticated: false }
 * @example
 * @Get('me') me(@CurrentSession() session: RequestSession) { return session.user; }
 * @example
 * @Get('me') me(@CurrentSession({ authenticated: true }) session: AuthenticatedSession) { return session.user.name; }
 */
// Typed here, not inferred: NestJS 12's inferred type names ParameterDecoratorOptions, which NestJS 11 does not have.
export const CurrentSession: (options?: CurrentSessionOptions) => ParameterDecorator = createParamDecorator((options: CurrentSessionOptions | undefined, ctx: ExecutionContext): RequestSession | AuthenticatedSession => {
  const session = sessionOf(ctx);
  if (options?.authenticated === true && !session.isAuthenticated) throw new SessionRequiredError();
  return session;
});

/**
 * Injects the logged-in user of the current request, never `undefined`: the type of the
 * parameter can be `SessionUser` (or your own type extending it). A request without a
 * logged-in user is refused with 401 `KW_SESSION_REQUIRED`, also on an
 * `@AllowAnonymous()` route.
 *
 * @example
 * interface AppUser extends SessionUser { name: string; role: 'user' | 'admin' }
 * @Get('me') me(@CurrentUser() user: AppUser) { return { name: user.name, role: user.role }; }
 */
export const CurrentUser: () => ParameterDecorator = createParamDecorator((_: unknown, ctx: ExecutionContext): SessionUser => {
  const user = sessionOf(ctx).user;
  if (!user) throw new SessionRequiredError();
  return user;
});
