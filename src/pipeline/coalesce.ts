import { defer, finalize, share, type Observable } from 'rxjs';

/**
 * Shares one run of a source among concurrent subscribers with the same key: while a run for a key is in
 * flight, asking again joins it instead of starting another.
 */
export class Coalescer<T> {
  private readonly inFlight = new Map<string, Observable<T>>();

  /** The in-flight run for `key`, or a new one started from `start`. */
  run(key: string, start: () => Observable<T>): Observable<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const shared = defer(start).pipe(
      finalize(() => this.inFlight.delete(key)),
      share(),
    );
    this.inFlight.set(key, shared);
    return shared;
  }

  /** How many runs are in flight. */
  get size(): number {
    return this.inFlight.size;
  }
}
