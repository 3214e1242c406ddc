import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { requestScheme, type TransportRequest } from './transport-policy.js';

/** Headers every response gets: no sniffing, no framing, no cross-origin embedding. */
export const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

function refuse(res: ServerResponse, status: number, code: string, error: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify({ error, code }));
}

/**
 * HTTPS enforcement and security headers, for both adapters (raw Node request and
 * response). Plain HTTP is refused in production (or redirected, by option); HSTS goes
 * on every HTTPS response. The scheme is read from a proxy only if that proxy is trusted.
 */
@Injectable()
export class TransportMiddleware {
  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {}

  /** True to let the request on; false when it has been answered (refused or redirected). */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const t = this.options.transport;
    res.removeHeader('X-Powered-By');
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    const scheme = requestScheme(req as unknown as TransportRequest, t);
    if (scheme === 'https') {
      if (t.hstsHeader) res.setHeader('Strict-Transport-Security', t.hstsHeader);
      return true;
    }
    // Express and middie rewrite req.url relative to the middleware's mount path; originalUrl is what the client sent.
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const path = url.split('?')[0]!;
    if (!t.requireHttps || t.plainHttpPaths.has(path)) return true;
    const host = req.headers.host;
    const method = (req.method ?? 'GET').toUpperCase();
    if (t.redirectHttp && (method === 'GET' || method === 'HEAD') && host && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(host)) {
      res.statusCode = 308;
      res.setHeader('Location', `https://${host}${url}`);
      res.end();
      return false;
    }
    refuse(res, 403, 'KW_HTTPS_REQUIRED', 'HTTPS is required.');
    return false;
  }
}
