import { Inject, Injectable, Optional, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, throwError, type Observable } from 'rxjs';
import { KeywardEvents } from '../events/keyward-events.js';
import { KeywardError } from '../keyward.errors.js';
import { intoNest } from './keyward-http.exception.js';

/**
 * Registered globally by `KeywardModule`: a `KeywardError` thrown while a route runs (by a
 * handler, a pipe or a parameter decorator: `RequestSession.revoke()` of an unknown handle,
 * a store outage in `SessionService`, a missing credential in `CredentialService`) reaches
 * the exception filters as a {@link KeywardHttpException}, with the catalogue's status and
 * Keyward's body, logged once. Only HTTP requests; other errors pass untouched.
 *
 * Guards run before interceptors: Keyward's own guards turn their refusals into
 * `KeywardHttpException`s themselves.
 */
@Injectable()
export class KeywardErrorInterceptor implements NestInterceptor {
  constructor(@Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next.handle().pipe(
      catchError((e: unknown) => {
        const error = e instanceof KeywardError ? intoNest(e, context.getArgByIndex(0), context.getArgByIndex(1), this.events) : e;
        return throwError(() => error);
      }),
    );
  }
}
