import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { REDACTED } from '@keyward/core';
import { Observable, Subject } from 'rxjs';
import type { SecurityEvent, SecurityEventName, SecurityEventSink } from './security-event.js';
import { userRef } from './security-event.js';
import { ContainedObservable, contained, onceReporter } from './contained-observable.js';
import { forNestLogger } from '../redaction/keyward.logger.js';
import { liveSecrets } from '../redaction/live-secrets.js';

const DEFAULT_SEVERITY: Record<SecurityEventName, SecurityEvent['severity']> = {
  'session.created': 'info',
  'session.rotated': 'info',
  'session.ended': 'info',
  'login.failed': 'warn',
  'request.refused': 'warn',
  'credential.minted': 'info',
  'credential.revoked': 'info',
  'credential.revoke-failed': 'warn',
  'store.unavailable': 'warn',
  'store.recovered': 'info',
};
/** Stable KW_* codes and reasons are short tokens; anything else is cut, so no caller can smuggle a value in. */
const TOKEN = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_LISTENERS = 64;

/** A function that receives every security event. */
export type SecurityEventListener = (event: SecurityEvent) => void;

/**
 * Keyward's security events: one log line each, through the app's logger (its fields with a
 * structured logger such as nestjs-pino or the redacting `KeywardLogger`; one compact JSON
 * string with Nest's default console logger, see `forNestLogger`), and a stream an app can forward to
 * its SIEM, metrics or alerting. Inject it anywhere (the module is global).
 *
 * @example
 * // forward to your alerting
 * constructor(@Inject(KeywardEvents) events: KeywardEvents) {
 *   events.on((e) => { if (e.severity === 'critical') alerts.page(e); });
 * }
 * @example
 * // as an RxJS stream
 * events.events$.pipe(filter((e) => e.event === 'login.failed')).subscribe(metrics.count);
 * @example
 * // in your login handler
 * if (!user) { events.loginFailed({ username: body.username, reason: 'bad-credentials', requestId }); throw new UnauthorizedException(); }
 */
@Injectable()
export class KeywardEvents implements SecurityEventSink, OnModuleDestroy {
  private readonly logger = new Logger('KeywardEvents');
  private readonly subject = new Subject<SecurityEvent>();
  /** Each listener with its reporter (a failing listener is reported once). */
  private readonly listeners = new Map<SecurityEventListener, (error: unknown) => void>();

  /**
   * Every event, as an RxJS Observable. A subscriber (of the stream or of a `pipe()` of it)
   * that throws, returns a rejected promise, or leaves an error unhandled is reported once,
   * as a process warning with code `KW_LISTENER_FAILED` (its error's class, never the event),
   * and keeps receiving events; the other subscribers and the request carry on.
   */
  readonly events$: Observable<SecurityEvent> = new ContainedObservable<SecurityEvent>((subscriber) => this.subject.subscribe(subscriber));

  /**
   * Calls `listener` with every event from now on; returns the function that stops it.
   * A listener that throws (or rejects) is reported once, as for {@link events$}, and never
   * stops the request or the other listeners.
   */
  on(listener: SecurityEventListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('KeywardEvents.on() needs a function.');
    if (this.listeners.size >= MAX_LISTENERS) throw new TypeError(`KeywardEvents: at most ${MAX_LISTENERS} listeners; combine them into one.`);
    this.listeners.set(listener, onceReporter('a KeywardEvents listener'));
    return () => void this.listeners.delete(listener);
  }

  emit(input: Parameters<SecurityEventSink['emit']>[0]): void {
    const event: SecurityEvent = Object.freeze({ ...clean(input), at: new Date().toISOString(), severity: input.severity ?? DEFAULT_SEVERITY[input.event] });
    // One line with any logger: fields for a structured one (nestjs-pino), compact JSON for Nest's console logger.
    this.logger.log(forNestLogger(event));
    for (const [l, report] of this.listeners) contained(() => l(event), report);
    this.subject.next(event);
  }

  /**
   * Reports a failed login. Call it from your login handler whenever a login is refused.
   * The username appears only as a keyed hash (`userRef`); never pass the password.
   *
   * @param attempt.username what the client submitted (any string; only its hash is kept)
   * @param attempt.reason a short token such as `bad-credentials`, `locked`, `rate-limited`
   * @param attempt.requestId the request's id, to correlate with the request log
   */
  loginFailed(attempt: { username: unknown; reason?: string; requestId?: string }): void {
    const name = typeof attempt?.username === 'string' ? attempt.username.slice(0, 256) : '';
    this.emit({ event: 'login.failed', userRef: userRef(name), reason: attempt?.reason ?? 'bad-credentials', requestId: attempt?.requestId });
  }

  /**
   * Reports a request refused with a stable KW_* code (origin, CSRF, HTTPS, path escape,
   * host, ...). The edge's error writer calls it for every refusal it answers.
   */
  refused(code: string, requestId?: string): void {
    this.emit({ event: 'request.refused', code, requestId });
  }

  onModuleDestroy(): void {
    this.subject.complete();
    this.listeners.clear();
  }
}

/** Keeps only known fields, each a short token or a number: free text never reaches a log line. */
function clean(input: Parameters<SecurityEventSink['emit']>[0]): Omit<SecurityEvent, 'at' | 'severity'> {
  const out: Record<string, unknown> = { event: input.event };
  for (const k of ['sessionRef', 'successorRef', 'userRef', 'reason', 'code', 'requestId', 'credentialName', 'keyRef', 'storeKind'] as const) {
    const v = input[k];
    if (v === undefined) continue;
    // Each field on its own: a live secret in one is redacted there, and no other field moves.
    out[k] = typeof v !== 'string' || !TOKEN.test(v) ? 'invalid' : liveSecrets.contains(v) ? REDACTED : v;
  }
  if (typeof input.count === 'number' && Number.isInteger(input.count) && input.count >= 0) out.count = input.count;
  return out as Omit<SecurityEvent, 'at' | 'severity'>;
}
