import { defer, finalize, tap, throwError, type MonoTypeOperatorFunction } from 'rxjs';
import { UpstreamError } from '../upstream/upstream-error.js';

/** The breaker's position: `closed` lets calls through, `open` fails them at once, `half-open` lets one probe out. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Settings of the circuit breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failed calls that open the circuit. Default 5. */
  failureThreshold?: number;
  /** Milliseconds the circuit stays open before one probe call goes out. Default 10 000. */
  resetTimeoutMs?: number;
}

/** Told of every change of state, with the state left and, on opening, the failure that opened it. */
export type CircuitListener = (state: CircuitState, previous: CircuitState, cause?: unknown) => void;

/**
 * Counts consecutive failed upstream calls and, past a threshold, fails calls at once without the network
 * until `resetTimeoutMs` has passed; then one probe decides. Reads the clock only when asked (no timers).
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private readonly failureThreshold: number;
  private readonly resetTimeoutMs: number;

  constructor(
    options: CircuitBreakerOptions = {},
    private readonly onChange: CircuitListener = () => {},
    /** Errors that open the circuit at once, whatever the count (a rejected API key). */
    private readonly isFatal: (error: unknown) => boolean = () => false,
  ) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.resetTimeoutMs = options.resetTimeoutMs ?? 10_000;
  }

  /** The current state, moving from `open` to `half-open` only when a call asks for a permit. */
  get current(): CircuitState {
    return this.state;
  }

  /** Whether a call may go out now; in `half-open`, only the one probe may. */
  tryAcquire(now = Date.now()): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && now - this.openedAt >= this.resetTimeoutMs) {
      this.moveTo('half-open');
      return true;
    }
    return false;
  }

  /** A call succeeded: the circuit closes. */
  recordSuccess(): void {
    this.failures = 0;
    if (this.state !== 'closed') this.moveTo('closed');
  }

  /** A call failed: a failed probe, a fatal error, or the threshold reached opens the circuit. */
  recordFailure(error: unknown, now = Date.now()): void {
    this.failures++;
    if (this.state === 'half-open' || this.isFatal(error) || this.failures >= this.failureThreshold) {
      this.openedAt = now;
      if (this.state !== 'open') this.moveTo('open', error);
    }
  }

  /** A probe that ended with no outcome (cancelled) gives its place back: the circuit is open again. */
  releaseProbe(now = Date.now()): void {
    if (this.state !== 'half-open') return;
    this.openedAt = now - this.resetTimeoutMs;
    this.moveTo('open');
  }

  private moveTo(state: CircuitState, cause?: unknown): void {
    const previous = this.state;
    this.state = state;
    this.onChange(state, previous, cause);
  }
}

/** The failure of every call the open circuit refuses; made once, since it happens at load. */
const CIRCUIT_OPEN = new UpstreamError('circuit_open', 'the circuit breaker is open');

/**
 * Lets the source run only when `breaker` gives a permit, recording its outcome; otherwise fails at once with
 * `UpstreamError('circuit_open')`, no network.
 */
export function withCircuitBreaker<T>(breaker: CircuitBreaker): MonoTypeOperatorFunction<T> {
  return (source) =>
    defer(() => {
      if (!breaker.tryAcquire()) {
        return throwError(() => CIRCUIT_OPEN);
      }
      let settled = false;
      return source.pipe(
        tap({
          next: () => {
            settled = true;
            breaker.recordSuccess();
          },
          error: (error: unknown) => {
            settled = true;
            breaker.recordFailure(error);
          },
        }),
        finalize(() => settled || breaker.releaseProbe()),
      );
    });
}
