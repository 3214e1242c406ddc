import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpsRequiredError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import type { EdgeRequest } from './request.types.js';
import { PLAIN_HTTP_PROBE, requestScheme, type TransportRequest } from '../transport/transport-policy.js';
import { FinalHeaders } from './final-headers.js';

/**
 * The edge's transport step: security headers on every response, HTTPS enforcement, on
 * the raw Node request and response (both adapters). The policy is
 * `transport/transport-policy.ts`. Plain HTTP is refused in production (403
 * `KW_HTTPS_REQUIRED`), or redirected to `transport.publicOrigin` by option; HSTS goes on
 * every HTTPS response. The scheme is read from a proxy only if that proxy is trusted. A
 * `GET`/`HEAD` to one of `transport.plainHttpPaths` passes over plain HTTP, marked as a
 * probe: no session is read for it and it is never proxied.
 */
@Injectable()
export class TransportStep {
  private readonly finalHeaders: FinalHeaders;

  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {
    this.finalHeaders = new FinalHeaders(options.transport.securityHeaders, options.session.cookie.name);
  }

  /**
   * The security headers (`transport.securityHeaders`), first of all, so that every answer
   * carries them: the edge's own refusals, proxied calls, the app's routes, its 404s.
   * Always lets the request on (returns true).
   */
  secure(res: ServerResponse): boolean {
    this.finalHeaders.apply(res);
    return true;
  }

  /** True to let the request on; false when it has been answered (redirected). Throws {@link HttpsRequiredError}. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const t = this.options.transport;
    // Express's is switched off by the edge before it is ever set; anything else that set one loses it.
    if (res.hasHeader('X-Powered-By')) res.removeHeader('X-Powered-By');
    const scheme = requestScheme(req as unknown as TransportRequest, t);
    if (scheme === 'https') {
      if (t.hstsHeader) res.setHeader('Strict-Transport-Security', t.hstsHeader);
      return true;
    }
    if (!t.requireHttps) return true;
    // Express and middie rewrite req.url relative to the middleware's mount path; originalUrl is what the client sent.
    const url = (req as EdgeRequest).originalUrl ?? req.url ?? '/';
    const method = (req.method ?? 'GET').toUpperCase();
    const readOnly = method === 'GET' || method === 'HEAD';
    if (readOnly && t.plainHttpPaths.has(url.split('?')[0]!)) {
      (req as EdgeRequest & { [PLAIN_HTTP_PROBE]?: true })[PLAIN_HTTP_PROBE] = true;
      return true;
    }
    if (t.redirectHttp && readOnly && t.publicOrigin) {
      // The configured origin, never the client's Host: a forged Host must not become a (cacheable) redirect target.
      const path = url.startsWith('/') && !url.startsWith('//') ? url : '/';
      res.statusCode = 308;
      res.setHeader('Location', `${t.publicOrigin.replace(/^http:/, 'https:')}${path}`);
      res.end();
      return false;
    }
    throw new HttpsRequiredError();
  }
}
