import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ALLOW_ANONYMOUS } from '../keyward.constants.js';
import { REQUEST_SESSION } from '../keyward.internal-constants.js';
import { SessionRequiredError } from '../keyward.errors.js';
import type { RequestSession } from '../session/request-session.js';

/**
 * Lets a route (or every route of a controller) run without a session. Every other route
 * needs one (deny by default). The session is still read if a cookie is sent.
 *
 * @example
 * @Get('healthz') @AllowAnonymous() health() { return { status: 'ok' }; }
 */
export const AllowAnonymous = (): MethodDecorator & ClassDecorator => SetMetadata(ALLOW_ANONYMOUS, true);

/**
 * Injects the {@link RequestSession} of the current request.
 *
 * @example
 * @Get('me') me(@CurrentSession() session: RequestSession) { return session.user; }
 */
export const CurrentSession = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestSession => {
  const session = ctx.getArgByIndex<Record<symbol, unknown>>(0)?.[REQUEST_SESSION] as RequestSession | undefined;
  // Only reachable if the Keyward guard did not run for this route (e.g. a guard-less context).
  if (!session) throw new SessionRequiredError();
  return session;
});
