import { sendError, sendJson } from '../http-io.js';
import type { RouteContext } from './context.js';

/**
 * `/internal/*`: stands for a route the proxy must never reach. Every hit on this
 * prefix is counted (see `stats().internalHits`), whatever the method or sub-path.
 */
export function handleInternal(ctx: RouteContext): void {
  ctx.stats.internalHits++;
  if (ctx.routePath === '/internal/marker') sendJson(ctx.res, 200, { internal: 'reached' });
  else sendError(ctx.res, 404, 'not found');
}
