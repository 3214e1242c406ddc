import { Observable, Subscriber, type Observer, type Operator, type Subscription } from 'rxjs';

/** An error's class name, when it is a plain identifier (never its message: it may quote the event). */
const CLASS_NAME = /^[A-Za-z_$][\w$]{0,63}$/;

/**
 * Reports a failing subscriber or listener once: a process warning with the stable code
 * `KW_LISTENER_FAILED` naming the error's class, never its message or the event (either
 * could hold what the app put there). Later failures of the same one are not reported.
 * @internal
 */
export function onceReporter(what: string): (error: unknown) => void {
  let reported = false;
  return (error) => {
    if (reported) return;
    reported = true;
    const cls = error instanceof Error && CLASS_NAME.test(error.name) ? error.name : 'a non-Error value';
    process.emitWarning(`Keyward: ${what} failed (${cls}); it keeps receiving events and further failures of it are not reported.`, { code: 'KW_LISTENER_FAILED' });
  };
}

/** Calls `fn`, reporting a throw or a rejected promise instead of letting it escape. @internal */
export function contained(fn: () => unknown, report: (error: unknown) => void): void {
  try {
    const result = fn();
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') (result as PromiseLike<unknown>).then(undefined, report);
  } catch (e) {
    report(e);
  }
}

/**
 * An Observable whose subscribers cannot take the process down: RxJS reports an error thrown
 * by a subscriber's `next` (or an error no subscriber handles) by throwing it again from a
 * timer, where it is an uncaught exception. Here each subscriber of the stream, or of a
 * `pipe()` of it (operators lift into this class), is wrapped: a throw or a rejected promise
 * from its callbacks, or an error it does not handle, is reported once
 * ({@link onceReporter}), and the subscriber keeps receiving values. Others never notice.
 * @internal
 */
export class ContainedObservable<T> extends Observable<T> {
  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const lifted = new ContainedObservable<R>();
    lifted.source = this;
    lifted.operator = operator;
    return lifted;
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null, error?: ((e: unknown) => void) | null, complete?: (() => void) | null): Subscription {
    // An operator's own subscriber (inside a pipe): the user's callbacks are further down.
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const observer: Partial<Observer<T>> =
      typeof observerOrNext === 'function' || observerOrNext === null || observerOrNext === undefined
        ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
        : observerOrNext;
    const report = onceReporter('a subscriber of KeywardEvents.events$');
    return super.subscribe({
      next: (value) => contained(() => observer.next?.(value), report),
      error: (e) => (observer.error ? contained(() => observer.error!(e), report) : report(e)),
      complete: () => contained(() => observer.complete?.(), report),
    });
  }
}
