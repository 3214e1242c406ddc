import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpsRequiredError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import type { EdgeRequest } from './request.types.js';
import { PLAIN_HTTP_PROBE, requestScheme, type SecurityHeader, type TransportRequest } from '../transport/transport-policy.js';

/**
 * The security headers of `transport.securityHeaders` on every response, whoever answers it:
 * set at the edge, and set again just before the response's headers are written (each
 * response's `writeHead` goes through {@link SecurityHeaders.guard} first), because the
 * app's middleware (helmet) runs after the edge and may set its own values. A different
 * value is replaced, with a warning once per header.
 */
class SecurityHeaders {
  private readonly warned = new Set<string>();
  private readonly logger = new Logger('Keyward');
  /** The one `writeHead` every response gets (no closure per response). */
  readonly guard: ServerResponse['writeHead'];

  constructor(private readonly headers: readonly SecurityHeader[]) {
    const self = this;
    this.guard = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
      if (!this.headersSent) self.settle(this, args);
      // The response's own writeHead (Node's, under Express's or Fastify's prototype): this one is an own property.
      return Reflect.apply(Object.getPrototypeOf(this).writeHead as ServerResponse['writeHead'], this, args) as ServerResponse;
    } as ServerResponse['writeHead'];
  }

  /** Sets every header of the set on `res` (removes those turned off) and guards its `writeHead`. */
  apply(res: ServerResponse): void {
    for (const h of this.headers) {
      if (h.value !== null) res.setHeader(h.name, h.value);
      else if (res.hasHeader(h.lower)) res.removeHeader(h.lower);
    }
    res.writeHead = this.guard;
  }

  /** Just before the headers are written: the set's values win, on `res` and in headers handed to `writeHead` (Fastify's). */
  private settle(res: ServerResponse, args: unknown[]): void {
    const given = typeof args[1] === 'string' ? args[2] : args[1];
    const inline = typeof given === 'object' && given !== null && !Array.isArray(given) ? (given as Record<string, unknown>) : undefined;
    for (const h of this.headers) {
      const current = res.getHeader(h.lower);
      if (current !== h.value) {
        if (current !== undefined) this.differs(h, current);
        if (h.value !== null) res.setHeader(h.name, h.value);
        else if (current !== undefined) res.removeHeader(h.lower);
      }
      if (inline === undefined) continue;
      // Node lets headers passed to writeHead override those set before; Fastify passes its reply's, lower-cased.
      for (const key of [h.lower, h.name]) {
        const v = inline[key];
        if (v === undefined) continue;
        if (v !== h.value) this.differs(h, v);
        if (h.value !== null) inline[key] = h.value;
        else delete inline[key];
      }
    }
  }

  private differs(h: SecurityHeader, found: unknown): void {
    if (this.warned.has(h.lower)) return;
    this.warned.add(h.lower);
    const theirs = JSON.stringify(String(found).slice(0, 100));
    const ours = h.value === null ? `no ${h.name} (transport.securityHeaders turns it off)` : `${h.name}: ${JSON.stringify(h.value)}`;
    this.logger.warn(
      `A response was about to carry ${h.name}: ${theirs}, set by the app (its middleware, e.g. helmet) or a proxied upstream; ` +
        `Keyward sends ${ours} on every response and replaced it (warned once). To send ${theirs} on every response instead, ` +
        `set transport.securityHeaders: { '${h.name}': ${theirs.replace(/^"|"$/g, "'")} } in KeywardModule's options.`,
    );
  }
}

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
  private readonly securityHeaders: SecurityHeaders;

  constructor(@Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions) {
    this.securityHeaders = new SecurityHeaders(options.transport.securityHeaders);
  }

  /**
   * The security headers (`transport.securityHeaders`), first of all, so that every answer
   * carries them: the edge's own refusals, proxied calls, the app's routes, its 404s.
   * Always lets the request on (returns true).
   */
  secure(res: ServerResponse): boolean {
    this.securityHeaders.apply(res);
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
