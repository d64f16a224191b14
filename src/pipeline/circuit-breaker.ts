import { defer, finalize, tap, throwError, type MonoTypeOperatorFunction, type Observable } from 'rxjs';
import { UpstreamError } from './upstream-error.js';
import type { FailureVerdict } from './failure-verdict.js';

/** The breaker's position: `closed` lets calls through, `open` fails them at once, `half-open` lets one probe out. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Settings of the circuit breaker. */
export interface CircuitBreakerSettings {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** Milliseconds the circuit stays open before one probe call goes out. */
  resetTimeoutMs: number;
}

/** The breaker's settings when not given. */
export const CIRCUIT_BREAKER_DEFAULTS: Readonly<CircuitBreakerSettings> = {
  failureThreshold: 5,
  resetTimeoutMs: 10_000,
};

/** Told of every change of state, with the state left and, on opening, the failure that opened it. */
export type CircuitListener = (state: CircuitState, previous: CircuitState, cause?: unknown) => void;

/**
 * Counts consecutive failed upstream calls and, past a threshold, fails calls at once without the network
 * until `resetTimeoutMs` has passed; then one probe decides. Reads the clock only when asked (no timers), the
 * monotonic one (`performance.now()`): a wall clock stepped back while open does not hold the circuit open.
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private readonly failureThreshold: number;
  private readonly resetTimeoutMs: number;

  constructor(
    options: Partial<CircuitBreakerSettings> = {},
    private readonly onChange: CircuitListener = () => {},
    /** What each failure says of the upstream; by default every failure counts. */
    private readonly judge: (error: unknown) => FailureVerdict = () => 'counts',
  ) {
    this.failureThreshold = options.failureThreshold ?? CIRCUIT_BREAKER_DEFAULTS.failureThreshold;
    this.resetTimeoutMs = options.resetTimeoutMs ?? CIRCUIT_BREAKER_DEFAULTS.resetTimeoutMs;
  }

  /** The current state, moving from `open` to `half-open` only when a call asks for a permit. */
  get current(): CircuitState {
    return this.state;
  }

  /**
   * Whether a call may go out now: `call` while closed; `probe` for the one call that tests an open circuit once
   * `resetTimeoutMs` has passed; `false` otherwise.
   */
  tryAcquire(now = performance.now()): 'call' | 'probe' | false {
    if (this.state === 'closed') return 'call';
    if (this.refuses(now)) return false;
    this.moveTo('half-open');
    return 'probe';
  }

  /**
   * Whether a call asking now would be refused (failed at once, no probe due), without moving the circuit: lets a
   * caller skip building the call it would not make.
   */
  refuses(now = performance.now()): boolean {
    if (this.state === 'closed') return false;
    return this.state === 'half-open' || now - this.openedAt < this.resetTimeoutMs;
  }

  /** A call succeeded: the circuit closes. */
  recordSuccess(): void {
    this.failures = 0;
    if (this.state !== 'closed') this.moveTo('closed');
  }

  /**
   * A call failed: a failed probe, a failure that `opens`, or the threshold reached opens the circuit. A failure
   * the judge `ignores` changes nothing (a probe that ends so gives its place back).
   */
  recordFailure(error: unknown, now = performance.now()): void {
    const verdict = this.judge(error);
    if (verdict === 'ignores') {
      this.releaseProbe(now);
      return;
    }
    this.failures++;
    if (this.state === 'half-open' || verdict === 'opens' || this.failures >= this.failureThreshold) {
      this.openedAt = now;
      if (this.state !== 'open') this.moveTo('open', error);
    }
  }

  /** A probe that ended with no outcome (cancelled) gives its place back: the circuit is open again. */
  releaseProbe(now = performance.now()): void {
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
export const CIRCUIT_OPEN = new UpstreamError('circuit_open', 'the circuit breaker is open');

/**
 * Lets the source run only when `breaker` gives a permit, recording its outcome; otherwise fails at once with
 * `UpstreamError('circuit_open')`, no network. The probe of an open circuit runs on its own: its caller fails at
 * once like every other caller while the circuit is open, so that no one waits on an upstream that has been
 * failing (a hanging one would hold the caller for every attempt's timeout). The probe's outcome moves the
 * circuit; its value is dropped. Put this operator after any `takeUntil` that must also end the probe.
 */
export function withCircuitBreaker<T>(breaker: CircuitBreaker): MonoTypeOperatorFunction<T> {
  return (source) =>
    defer(() => {
      const permit = breaker.tryAcquire();
      if (!permit) return throwError(() => CIRCUIT_OPEN);
      const recorded = recordOutcome(source, breaker);
      if (permit === 'call') return recorded;
      recorded.subscribe({ error: () => {} });
      return throwError(() => CIRCUIT_OPEN);
    });
}

/** The source, telling `breaker` how it ended: a value closes the circuit, an error counts as a failure. */
function recordOutcome<T>(source: Observable<T>, breaker: CircuitBreaker): Observable<T> {
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
}
