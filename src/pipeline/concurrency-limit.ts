import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { UpstreamError } from './upstream-error.js';

/** The failure of a call that found every slot taken and the queue full; made once, since it happens at load. */
const OVERLOADED = new UpstreamError('overloaded', 'too many calls in flight and waiting');

/**
 * Slots for calls in flight, and a bounded first-in-first-out queue of calls waiting for one. Counts only: what
 * a slot guards is the operator's business ({@link withConcurrencyLimit}).
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    /** Calls in flight at most. */
    readonly maxActive: number,
    /** Calls waiting for a slot at most. */
    readonly maxWaiting: number,
  ) {}

  /** Whether every slot is taken: a new call would wait. */
  get saturated(): boolean {
    return this.active >= this.maxActive;
  }

  /** Calls in flight and waiting, for tests and status. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Runs `start` in a slot now, or once one frees; `false` (and `start` never runs) when the queue is full.
   * Every `true` must be matched by one {@link leave} with the same `start`.
   */
  enter(start: () => void): boolean {
    if (this.active < this.maxActive) {
      this.active++;
      start();
      return true;
    }
    if (this.waiting.length >= this.maxWaiting) return false;
    this.waiting.push(start);
    return true;
  }

  /** A call entered with `start` is over: its slot goes to the next waiting call, or it leaves the queue. */
  leave(start: () => void): void {
    const queued = this.waiting.indexOf(start);
    if (queued >= 0) {
      this.waiting.splice(queued, 1);
      return;
    }
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/**
 * Subscribes to the source only in a slot of `limiter`, waiting in its queue for one; fails at once with
 * `UpstreamError('overloaded')` when the queue is full. The slot is given back when the source ends or is
 * unsubscribed (a timeout, a shutdown), so the number of connections to the upstream stays bounded.
 */
export function withConcurrencyLimit<T>(limiter: ConcurrencyLimiter): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const start = () => subscriber.add(source.subscribe(subscriber));
      if (!limiter.enter(start)) {
        subscriber.error(OVERLOADED);
        return undefined;
      }
      return () => limiter.leave(start);
    });
}
