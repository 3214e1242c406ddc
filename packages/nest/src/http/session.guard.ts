import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { KeywardEvents } from '../events/keyward-events.js';
import { IncomingMessage } from 'node:http';
import { HttpsRequiredError, KeywardErrorCode, SessionRequiredError } from '../keyward.errors.js';
import { REQUEST_SESSION } from '../keyward.internal-constants.js';
import { RequestSession } from '../session/request-session.js';
import { findSessionCookie } from '../session/session-cookie.js';
import { SessionEngine } from '../session/session.engine.js';
import { isPlainHttpProbe } from '../transport/transport-policy.js';
import { RESPONSE_HEADERS, setHeader } from './http-bridge.js';
import { refusingIntoNest } from './keyward-http.exception.js';
import type { AnyRequest } from './request.types.js';
import { RoutePolicies } from './route-policy.js';

const FAILURE = Symbol('keyward.sessionFailure');

/**
 * The session half of the edge's Nest guard ({@link KeywardGuard} runs it after the origin
 * check; also usable alone with `@UseGuards(SessionGuard)`): reads the session cookie (one store round trip), attaches a
 * {@link RequestSession} to the request, and refuses routes that need a session when
 * there is none. A store outage fails the request closed (503), even on anonymous routes
 * that carry a cookie: a request never runs with an unchecked session.
 *
 * Every answer that may depend on the session (a route that requires one, or any request
 * that carried a session cookie) gets `Cache-Control: no-store`, so no browser or shared
 * cache keeps a user's data. A handler may still set its own Cache-Control afterwards.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    @Inject(SessionEngine) private readonly engine: SessionEngine,
    @Inject(RoutePolicies) private readonly routes: RoutePolicies,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {}

  /** Refuses with a `KeywardHttpException` (401, or 503 when the store is down), which an app's own exception filter can answer. */
  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    if (context.getType() !== 'http') return true;
    const allowAnonymous = this.routes.of(context.getClass(), context.getHandler()).allowAnonymous;
    const req = context.getArgByIndex<AnyRequest>(0);
    const res: unknown = context.getArgByIndex(1);
    return refusingIntoNest(() => this.admit(req, res, allowAnonymous), req, res, this.events);
  }

  /**
   * The check itself, for a request and its response: attaches the session; true, or
   * throws {@link SessionRequiredError} (401) when the route needs a session and there is
   * none, {@link HttpsRequiredError} for a plain-HTTP probe of such a route.
   */
  admit(req: AnyRequest, res: unknown, allowAnonymous: boolean): Promise<boolean> | boolean {
    const anonymousOk = allowAnonymous || !this.engine.options.requireByDefault;
    if (isPlainHttpProbe(req)) {
      // A probe over plain HTTP (transport.plainHttpPaths): the cookie is not read, so nothing refreshes or clears it.
      if (!anonymousOk) {
        // Reported as request.refused by the error writer, like every refusal.
        throw new HttpsRequiredError();
      }
      attachProbeSession(this.engine, req, res);
      return true;
    }
    return this.admitSession(req, res, anonymousOk);
  }

  private async admitSession(req: AnyRequest, res: unknown, anonymousOk: boolean): Promise<boolean> {
    const session = await attachSession(this.engine, req, res);
    if (!anonymousOk || session.isAuthenticated || (req as { [FAILURE]?: string })[FAILURE] !== undefined) setHeader(res, 'Cache-Control', 'no-store');
    if (!session.isAuthenticated && !anonymousOk) throw refusalFor(req);
    return true;
  }
}

/** An empty session for a plain-HTTP probe: the cookie, if any, is neither read nor touched. */
function attachProbeSession(engine: SessionEngine, req: AnyRequest, res: unknown): void {
  const session = new RequestSession(engine, res, null, RESPONSE_HEADERS);
  req[REQUEST_SESSION] = session;
  const raw = (req as { raw?: Record<symbol, unknown> }).raw;
  if (raw && typeof raw === 'object') raw[REQUEST_SESSION] = session;
}

/** The 401 error for a request without a usable session, saying why. */
export function refusalFor(req: AnyRequest): SessionRequiredError {
  const failure = (req as { [FAILURE]?: string })[FAILURE];
  if (failure === 'expired') return new SessionRequiredError(KeywardErrorCode.SessionExpired, 'Your session has expired. Log in again.');
  if (failure === 'invalid') return new SessionRequiredError(KeywardErrorCode.SessionInvalid, 'Your session is not valid. Log in again.');
  return new SessionRequiredError();
}

/**
 * A read that asks not to extend the session: `GET`/`HEAD` with `slide=false` in its query
 * (a page polling its session's time left, `@keyward/client`'s `session()`). Honoured on
 * every route: it can only shorten a session, never lengthen it.
 */
function asksNotToSlide(req: AnyRequest): boolean {
  const method = (req as { method?: string }).method;
  if (method !== 'GET' && method !== 'HEAD') return false;
  const url = (req as { originalUrl?: string }).originalUrl ?? (req as { url?: string }).url ?? '';
  const q = url.indexOf('?');
  return q >= 0 && SLIDE_FALSE.test(url.slice(q));
}
const SLIDE_FALSE = /[?&]slide=false(?:&|$)/;

/**
 * Reads the session cookie once per request (one store round trip), attaches a
 * {@link RequestSession}, clears a bad cookie. Shared by the guard and the proxy.
 */
export async function attachSession(engine: SessionEngine, req: AnyRequest, res: unknown): Promise<RequestSession> {
  const existing = req[REQUEST_SESSION] as RequestSession | undefined;
  if (existing) return existing;
  const lookup = findSessionCookie(req.headers.cookie, engine.options.cookie.name);
  let session: RequestSession;
  let failure: 'invalid' | 'expired' | undefined;
  if (lookup.kind === 'none') {
    session = new RequestSession(engine, res, null, RESPONSE_HEADERS);
  } else if (lookup.kind === 'ambiguous') {
    session = new RequestSession(engine, res, null, RESPONSE_HEADERS);
    failure = 'invalid';
  } else {
    const result = await engine.resolve(lookup.value, { slide: !asksNotToSlide(req) });
    if (result.state === 'active') {
      session = new RequestSession(engine, res, result.record, RESPONSE_HEADERS);
      if (result.refreshCookie) session.refreshCookie(result.signedValue);
    } else {
      session = new RequestSession(engine, res, null, RESPONSE_HEADERS);
      failure = result.state === 'expired' ? 'expired' : 'invalid';
    }
  }
  req[REQUEST_SESSION] = session;
  // Fastify wraps the Node request; the request log (a raw middleware) reads it there.
  if (!(req instanceof IncomingMessage)) {
    const raw = (req as { raw?: Record<symbol, unknown> }).raw;
    if (raw && typeof raw === 'object') raw[REQUEST_SESSION] = session;
  }
  if (failure) {
    session.clearCookie();
    // Only a failure is marked: a request that went well gets no extra property.
    (req as { [FAILURE]?: string })[FAILURE] = failure;
  }
  return session;
}
