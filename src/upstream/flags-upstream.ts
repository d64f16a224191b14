import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { defer, identity, map, Subject, takeUntil, throwIfEmpty, type Observable } from 'rxjs';
import { FLAGS_CONFIG } from '../flags.constants.js';
import { FlagsMonitor } from '../flags.monitor.js';
import type { ResolvedFlagsOptions } from '../flags.options.js';
import type { FlagContext } from '../flags.types.js';
import { CircuitBreaker, withCircuitBreaker } from '../pipeline/circuit-breaker.js';
import { retryWithBackoff } from '../pipeline/retry-with-backoff.js';
import { withTimeout } from '../pipeline/with-timeout.js';
import { parseFlagsResponse, type ParsedFlags } from './flags-response.js';
import { PostHogClient } from './posthog-client.js';
import { isRetryableUpstreamError, UpstreamError } from './upstream-error.js';

/** PostHog's published backoff: 300 ms before the first retry, doubling after. */
const RETRY_BASE_DELAY_MS = 300;

/** Whether PostHog refused the API key (HTTP 401 or 403): retrying will not help, the circuit opens at once. */
function isKeyRejected(error: unknown): boolean {
  return error instanceof UpstreamError && (error.reason === 'http_401' || error.reason === 'http_403');
}

/**
 * The upstream pipeline: one `/flags` attempt, bounded by a timeout, retried with backoff, parsed, behind a
 * circuit breaker. Each step is an operator; the pipeline ends (aborting its request) when the application
 * shuts down.
 */
@Injectable()
export class FlagsUpstream implements OnModuleDestroy {
  private readonly shutdown$ = new Subject<void>();
  /** The breaker, or undefined when the `circuitBreaker` option is `false`. */
  readonly breaker?: CircuitBreaker;

  constructor(
    private readonly client: PostHogClient,
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    monitor: FlagsMonitor,
  ) {
    if (config.circuitBreaker) {
      this.breaker = new CircuitBreaker(config.circuitBreaker, monitor.circuitChanged.bind(monitor), isKeyRejected);
    }
  }

  /** Evaluates flags for `context` upstream: emits once, or errors with an {@link UpstreamError}. */
  evaluate(context: FlagContext, keys?: readonly string[]): Observable<ParsedFlags> {
    return defer(() => this.client.requestFlags(context, keys)).pipe(
      withTimeout(this.config.timeoutMs),
      retryWithBackoff({
        retries: this.config.retries,
        baseDelayMs: RETRY_BASE_DELAY_MS,
        isRetryable: isRetryableUpstreamError,
      }),
      map((body) => parseFlagsResponse(body)),
      this.breaker ? withCircuitBreaker(this.breaker) : identity,
      takeUntil(this.shutdown$),
      throwIfEmpty(() => new UpstreamError('shutdown', 'the application is shutting down')),
    );
  }

  onModuleDestroy(): void {
    this.shutdown$.next();
    this.shutdown$.complete();
  }
}
