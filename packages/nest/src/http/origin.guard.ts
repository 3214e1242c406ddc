import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { OriginRefusedError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { checkOrigin, isUnsafeMethod, type OriginVerdict } from '../origin/origin-policy.js';
import { requestOrigin, type TransportRequest } from '../transport/transport-policy.js';
import type { AnyRequest } from './request.types.js';
import { SKIP_ORIGIN_CHECK } from './skip-origin-check.decorator.js';

/** Metadata key marking routes that use credentials (the proxy): checked for every method. */
export const USES_CREDENTIALS = 'keyward:usesCredentials';

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
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<AnyRequest>();
    const targets = [context.getHandler(), context.getClass()];
    const usesCredentials = this.reflector.getAllAndOverride<boolean>(USES_CREDENTIALS, targets) === true;
    if (!usesCredentials && !isUnsafeMethod(req.method)) return true;
    if (!usesCredentials && this.reflector.getAllAndOverride<string>(SKIP_ORIGIN_CHECK, targets)) return true;
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
