import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KeywardErrorCode, OriginRefusedError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';

/**
 * The edge's CORS step. Strict CORS: nothing unless configured; exact-origin allowlist;
 * credentials only to those origins; never reflects an arbitrary Origin; `null` never
 * allowed. A preflight from another origin is refused (403 `KW_ORIGIN_REFUSED`, by the one
 * error writer) without any CORS header.
 */
@Injectable()
export class CorsStep {
  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {}

  /** True to let the request on; false when an allowed preflight has been answered here. Throws {@link OriginRefusedError}. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin.toLowerCase() : undefined;
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    const cors = this.options.cors;
    // Every answer may depend on these: the origin guard and CORS read them.
    res.appendHeader('Vary', 'Origin, Sec-Fetch-Site');
    const allowed = cors !== null && origin !== undefined && origin !== 'null' && cors.origins.has(origin);
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (!preflight) return true;
    res.setHeader('Cache-Control', 'no-store');
    if (!allowed) throw new OriginRefusedError(KeywardErrorCode.OriginRefused, 'Cross-origin request refused: this origin is not allowed.');
    res.setHeader('Access-Control-Allow-Methods', cors.methods);
    res.setHeader('Access-Control-Allow-Headers', cors.allowedHeaders);
    res.setHeader('Access-Control-Max-Age', cors.maxAge);
    res.statusCode = 204;
    res.end();
    return false;
  }
}
