import { Observable } from 'rxjs';

/**
 * One request as an observable: emits its result and completes, or errors; unsubscribing before it settled aborts
 * it (through `signal`).
 */
export function abortable<T>(request: (signal: AbortSignal) => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const abort = new AbortController();
    let inFlight = true;
    request(abort.signal).then(
      (result) => {
        inFlight = false;
        subscriber.next(result);
        subscriber.complete();
      },
      (error: unknown) => {
        inFlight = false;
        subscriber.error(error);
      },
    );
    // Aborting a finished request would only build an AbortError (and its stack) for no one.
    return () => {
      if (inFlight) abort.abort();
    };
  });
}
