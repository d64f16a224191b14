import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  defer,
  identity,
  map,
  pipe,
  Subject,
  takeUntil,
  throwError,
  throwIfEmpty,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import { FLAGS_CONFIG } from '../flags.constants.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import { MAX_QUEUED_CALLS_PER_SLOT, type ResolvedFlagsOptions } from '../options/flags-options.js';
import type { FlagContext } from '../flags.types.js';
import { CIRCUIT_OPEN, CircuitBreaker, withCircuitBreaker } from '../pipeline/circuit-breaker.js';
import { ConcurrencyLimiter, withConcurrencyLimit } from '../pipeline/concurrency-limit.js';
import { retryWithBackoff } from '../pipeline/retry-with-backoff.js';
import { parseFlagsResponse, type ParsedFlags } from './flags-response.js';
import { PostHogClient } from './posthog-client.js';
import { isRetryableUpstreamError, judgeFailure, UpstreamError } from '../pipeline/upstream-error.js';

/** PostHog's published backoff: 300 ms before the first retry, doubling after. */
const RETRY_BASE_DELAY_MS = 300;

/** The failure of every call after shutdown; made once. */
const SHUTDOWN = new UpstreamError('shutdown', 'the application is shutting down');

/**
 * The upstream pipeline: one `/flags` attempt (bounded by `timeoutMs`, a timer of the client's, which holds the
 * attempt's connection no longer), retried with backoff, parsed, in one of `maxConcurrentRequests` slots, behind a
 * circuit breaker. Each step is an operator; the pipeline ends (aborting its request) when the application shuts
 * down, the circuit's background probe included, and no call goes out after that.
 */
@Injectable()
export class FlagsUpstream implements OnModuleDestroy {
  private readonly shutdown$ = new Subject<void>();
  private closed = false;
  private readonly limiter: ConcurrencyLimiter;
  private readonly breaker?: CircuitBreaker;
  /** Every step after the attempt, built once: each call only wraps its own attempt in them. */
  private readonly steps: OperatorFunction<unknown, ParsedFlags>;

  constructor(
    private readonly client: PostHogClient,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
    monitor: FlagsMonitor,
  ) {
    const breaker = (this.breaker = config.circuitBreaker
      ? new CircuitBreaker(config.circuitBreaker, monitor.circuitChanged.bind(monitor), judgeFailure)
      : undefined);
    const slots = config.maxConcurrentRequests;
    this.limiter = new ConcurrencyLimiter(slots, slots * MAX_QUEUED_CALLS_PER_SLOT);
    this.steps = pipe(
      retryWithBackoff({
        retries: config.retries,
        baseDelayMs: RETRY_BASE_DELAY_MS,
        isRetryable: isRetryableUpstreamError,
      }),
      map((body) => parseFlagsResponse(body)),
      withConcurrencyLimit(this.limiter),
      takeUntil(this.shutdown$),
      breaker ? withCircuitBreaker(breaker) : identity,
      throwIfEmpty(() => SHUTDOWN),
    );
  }

  /** Whether every slot for upstream calls is taken: a new call would wait in the queue. */
  get saturated(): boolean {
    return this.limiter.saturated;
  }

  /**
   * The failure a call made now would meet at once, without the network: `shutdown` after shutdown, `circuit_open`
   * while the circuit is open and no probe is due; `undefined` when a call would go out (or wait for a slot). An
   * outage's requests skip building the call with it.
   */
  get refusal(): UpstreamError | undefined {
    if (this.closed) return SHUTDOWN;
    return this.breaker?.refuses() ? CIRCUIT_OPEN : undefined;
  }

  /**
   * Evaluates flags for `context` upstream (`disableGeoip` defaulting to the module's): emits once, or errors with
   * an {@link UpstreamError}; after shutdown, errors at once (`shutdown`) without the network.
   */
  evaluate(context: FlagContext, keys?: readonly string[], disableGeoip?: boolean): Observable<ParsedFlags> {
    if (this.closed) return throwError(() => SHUTDOWN);
    return defer(() => this.client.requestFlags(context, keys, disableGeoip)).pipe(this.steps);
  }

  /** Ends every call in flight (aborting its request) and refuses every later one. */
  onModuleDestroy(): void {
    this.closed = true;
    this.shutdown$.next();
    this.shutdown$.complete();
  }
}
