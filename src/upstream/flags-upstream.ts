import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { defer, identity, map, pipe, Subject, takeUntil, throwIfEmpty, type Observable, type OperatorFunction } from 'rxjs';
import { FLAGS_CONFIG } from '../flags.constants.js';
import { FlagsMonitor } from '../flags.monitor.js';
import type { ResolvedFlagsOptions } from '../flags.options.js';
import type { FlagContext } from '../flags.types.js';
import { CircuitBreaker, withCircuitBreaker } from '../pipeline/circuit-breaker.js';
import { retryWithBackoff } from '../pipeline/retry-with-backoff.js';
import { withTimeout } from '../pipeline/with-timeout.js';
import { parseFlagsResponse, type ParsedFlags } from './flags-response.js';
import { PostHogClient } from './posthog-client.js';
import { isKeyRejected, isRetryableUpstreamError, UpstreamError } from './upstream-error.js';

/** PostHog's published backoff: 300 ms before the first retry, doubling after. */
const RETRY_BASE_DELAY_MS = 300;

/**
 * The upstream pipeline: one `/flags` attempt, bounded by a timeout, retried with backoff, parsed, behind a
 * circuit breaker. Each step is an operator; the pipeline ends (aborting its request) when the application
 * shuts down, the circuit's background probe included.
 */
@Injectable()
export class FlagsUpstream implements OnModuleDestroy {
  private readonly shutdown$ = new Subject<void>();
  /** Every step after the attempt, built once: each call only wraps its own attempt in them. */
  private readonly steps: OperatorFunction<unknown, ParsedFlags>;

  constructor(
    private readonly client: PostHogClient,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
    monitor: FlagsMonitor,
  ) {
    const breaker = config.circuitBreaker
      ? new CircuitBreaker(config.circuitBreaker, monitor.circuitChanged.bind(monitor), isKeyRejected)
      : undefined;
    this.steps = pipe(
      withTimeout(config.timeoutMs),
      retryWithBackoff({ retries: config.retries, baseDelayMs: RETRY_BASE_DELAY_MS, isRetryable: isRetryableUpstreamError }),
      map((body) => parseFlagsResponse(body)),
      takeUntil(this.shutdown$),
      breaker ? withCircuitBreaker(breaker) : identity,
      throwIfEmpty(() => new UpstreamError('shutdown', 'the application is shutting down')),
    );
  }

  /** Evaluates flags for `context` upstream: emits once, or errors with an {@link UpstreamError}. */
  evaluate(context: FlagContext, keys?: readonly string[]): Observable<ParsedFlags> {
    return defer(() => this.client.requestFlags(context, keys)).pipe(this.steps);
  }

  onModuleDestroy(): void {
    this.shutdown$.next();
    this.shutdown$.complete();
  }
}
