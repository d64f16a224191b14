import { retry, throwError, timer, type MonoTypeOperatorFunction } from 'rxjs';

/** How {@link retryWithBackoff} retries. */
export interface BackoffOptions {
  /** Extra attempts at most; 0 disables retrying. */
  retries: number;
  /** Delay before the first retry; each later one doubles it. */
  baseDelayMs: number;
  /** Which errors may be retried; the others fail at once. */
  isRetryable: (error: unknown) => boolean;
  /** A number in [0, 1) adding up to 25% jitter to each delay. Default `Math.random`. */
  random?: () => number;
}

/** The delay before retry number `attempt` (1-based): `base × 2^(attempt−1)`, plus up to 25% jitter. */
export function backoffDelay(attempt: number, baseDelayMs: number, random: () => number = Math.random): number {
  return Math.round(baseDelayMs * 2 ** (attempt - 1) * (1 + 0.25 * random()));
}

/** Resubscribes to the source after a retryable error, waiting {@link backoffDelay} first, at most `retries` times. */
export function retryWithBackoff<T>(options: BackoffOptions): MonoTypeOperatorFunction<T> {
  return retry({
    count: options.retries,
    delay: (error: unknown, attempt) =>
      options.isRetryable(error)
        ? timer(backoffDelay(attempt, options.baseDelayMs, options.random))
        : throwError(() => error),
  });
}
