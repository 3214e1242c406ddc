import { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { SecurityHeader } from '../transport/transport-policy.js';

/**
 * The headers that win whoever answers, settled just before a response's headers are
 * written (each response's `writeHead` goes through {@link FinalHeaders.guard} first),
 * because the app's middleware and route decorators run after the edge and the guards:
 *
 * - the security headers of `transport.securityHeaders`, set at the edge and set again
 *   here; a different value (helmet's) is replaced, with a warning once per header;
 * - `Cache-Control: no-store` on every response that sets or clears the session cookie,
 *   whatever the handler asked for (`@Header('Cache-Control', 'public, max-age=600')` is
 *   applied after the guards): a shared cache must never hand one user's session cookie
 *   to another.
 */
export class FinalHeaders {
  private readonly warned = new Set<string>();
  private readonly logger = new Logger('Keyward');
  /** The one `writeHead` every response gets (no closure per response). */
  readonly guard: ServerResponse['writeHead'];

  /** `<name>=`: how a Set-Cookie value for the session cookie starts. */
  private readonly cookiePrefix: string;

  constructor(
    private readonly headers: readonly SecurityHeader[],
    sessionCookieName: string,
  ) {
    this.cookiePrefix = `${sessionCookieName}=`;
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
    if (this.setsSessionCookie(res.getHeader('set-cookie')) || (inline && (this.setsSessionCookie(inline['set-cookie']) || this.setsSessionCookie(inline['Set-Cookie'])))) {
      res.setHeader('Cache-Control', 'no-store');
      if (inline) {
        delete inline['Cache-Control'];
        if (inline['cache-control'] !== undefined) inline['cache-control'] = 'no-store';
      }
    }
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

  private setsSessionCookie(value: unknown): boolean {
    if (value === undefined) return false;
    if (typeof value === 'string') return value.startsWith(this.cookiePrefix);
    return Array.isArray(value) && value.some((v) => typeof v === 'string' && v.startsWith(this.cookiePrefix));
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
