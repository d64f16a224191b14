import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { defer, identity, map, Subject, takeUntil, throwIfEmpty, type Observable } from 'rxjs';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../flags.options.js';
import type { FlagContext } from '../flags.types.js';
import {
  CircuitBreaker,
  withCircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
} from '../pipeline/circuit-breaker.js';
import { retryWithBackoff } from '../pipeline/retry-with-backoff.js';
import { withTimeout } from '../pipeline/with-timeout.js';
import { parseFlagsResponse, type ParsedFlags } from './flags-response.js';
import { PostHogClient } from './posthog-client.js';
import { isRetryableUpstreamError, UpstreamError } from './upstream-error.js';

/** PostHog's published backoff: 300 ms before the first retry, doubling after. */
const RETRY_BASE_DELAY_MS = 300;

/** Whether PostHog refused the API key (HTTP 401 or 403): retrying will not help. */
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
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly shutdown$ = new Subject<void>();
  /** The breaker, or undefined when the `circuitBreaker` option is `false`. */
  readonly breaker?: CircuitBreaker;
  private keyRejectionReported = false;

  constructor(
    private readonly client: PostHogClient,
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
  ) {
    const settings = config.circuitBreaker;
    if (settings) {
      this.breaker = new CircuitBreaker(
        settings,
        (state, previous, cause) => this.report(state, previous, cause, settings),
        isKeyRejected,
      );
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

  /** Logs a rejected API key once (until a call succeeds), and the circuit opening after an outage began. */
  private report(
    state: CircuitState,
    previous: CircuitState,
    cause: unknown,
    settings: Required<CircuitBreakerOptions>,
  ): void {
    if (state === 'closed') this.keyRejectionReported = false;
    if (state !== 'open' || !cause) return;
    if (isKeyRejected(cause)) {
      if (!this.keyRejectionReported) {
        this.keyRejectionReported = true;
        this.logger.error(
          `PostHog rejected the API key (${(cause as UpstreamError).reason}); check POSTHOG_API_KEY. ` +
            'Flags are served from the fallback cache meanwhile',
        );
      }
      return;
    }
    if (previous === 'closed') {
      this.logger.warn(
        `circuit breaker opened after ${settings.failureThreshold} consecutive failures: ` +
          `no calls to PostHog for ${settings.resetTimeoutMs} ms at a time`,
      );
    }
  }

  onModuleDestroy(): void {
    this.shutdown$.next();
    this.shutdown$.complete();
  }
}
