import { Observable } from 'rxjs';

/** A request under way: what it will settle with, and how to end it sooner. */
export interface AbortableRequest<T> {
  /** Resolves with the answer, or rejects (an abort included). */
  readonly response: Promise<T>;
  /**
   * Ends the request if it has not settled: `response` rejects, or resolves with the answer when that is already
   * known (only what follows it is cut short). Once it has settled, does nothing.
   */
  abort(): void;
}

/**
 * One request as an observable: each subscription starts it, emits what `read` makes of its answer and
 * completes, or errors (with the request's failure, or with what `read` threw); unsubscribing before it settled
 * aborts it.
 */
export function abortable<T, R>(start: () => AbortableRequest<T>, read: (answer: T) => R): Observable<R> {
  return new Observable<R>((subscriber) => {
    const request = start();
    request.response.then(
      (answer) => {
        let result: R;
        try {
          result = read(answer);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        subscriber.next(result);
        subscriber.complete();
      },
      (error: unknown) => subscriber.error(error),
    );
    // Once the request settled, its abort does nothing: no error is built for no one.
    return () => request.abort();
  });
}
