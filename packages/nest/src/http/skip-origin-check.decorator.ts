import { SetMetadata } from '@nestjs/common';
import { SKIP_ORIGIN_CHECK } from '../keyward.constants.js';

/** Metadata key of {@link SkipOriginCheck} (kept with the other metadata keys, so Keyward's own controllers outside the edge can set it). */
export { SKIP_ORIGIN_CHECK };

/**
 * Exempts a route from the origin/CSRF guard. A reason is required; every exemption is
 * listed at startup. Never use it on a route that uses a credential: the proxy checks the
 * origin again where the key is attached, whatever this says.
 *
 * @example
 * @Post('webhooks/stripe') @SkipOriginCheck({ reason: 'server-to-server webhook, verified by signature' })
 */
export const SkipOriginCheck = (options: { reason: string }): MethodDecorator & ClassDecorator => {
  if (!options || typeof options.reason !== 'string' || options.reason.trim().length < 8) {
    throw new TypeError('@SkipOriginCheck needs { reason } explaining why this route is safe without an origin check.');
  }
  return SetMetadata(SKIP_ORIGIN_CHECK, options.reason);
};
