import type { FailureVerdict } from './failure-verdict.js';

/**
 * Why an upstream call failed, as a category safe to log, count and alert on (never a secret): `timeout`,
 * `connection_refused`, `connection_reset`, `dns`, `tls` (the server's certificate not trusted, or another TLS
 * handshake failure), `network`, `http_<status>`, `bad_response`, `too_large` (the body passed
 * `maxResponseBytes`), `quota_limited`, `circuit_open` (not attempted: the circuit breaker is open), `overloaded`
 * (not attempted: `maxConcurrentRequests` calls in flight and the queue full), `shutdown`.
 */
export type UpstreamFailureReason =
  | 'timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'dns'
  | 'tls'
  | 'network'
  | `http_${number}`
  | 'bad_response'
  | 'too_large'
  | 'quota_limited'
  | 'circuit_open'
  | 'overloaded'
  | 'shutdown';

/**
 * The failures PostHog's published policy retries: transient transport failures and HTTP 502/504. Not `tls`: a
 * certificate that fails the checks fails them again on the next attempt.
 */
const RETRYABLE: ReadonlySet<UpstreamFailureReason> = new Set<UpstreamFailureReason>([
  'timeout',
  'connection_reset',
  'dns',
  'network',
  'http_502',
  'http_504',
]);

/** A failed call to PostHog's API. Its message never holds a key or the request body. */
export class UpstreamError extends Error {
  constructor(
    /** The failure's category. */
    readonly reason: UpstreamFailureReason,
    detail: string,
    /** The endpoint called, for the message. */
    endpoint = '/flags',
  ) {
    super(`PostHog ${endpoint} failed (${reason}): ${detail}`);
    this.name = 'UpstreamError';
  }

  /** Whether PostHog's retry policy allows another attempt after this failure. */
  get retryable(): boolean {
    return RETRYABLE.has(this.reason);
  }
}

/** Whether `error` is an {@link UpstreamError} that may be retried. */
export function isRetryableUpstreamError(error: unknown): boolean {
  return error instanceof UpstreamError && error.retryable;
}

/** 4xx statuses that speak of PostHog or the link to it, not of the request that got them. */
const UPSTREAM_4XX: ReadonlySet<UpstreamFailureReason> = new Set<UpstreamFailureReason>(['http_408', 'http_429']);

/**
 * What a failure says of PostHog, for the circuit breaker. A rejected API key `opens` the circuit at once;
 * transport failures, timeouts, 5xx, 408, 429, redirects and bodies that are no flags answer `count`; a 4xx about
 * the request itself (400, 413, …) and calls never attempted (`overloaded`, `shutdown`) are ignored: one caller's
 * bad request must not open the circuit for everyone.
 */
export function judgeFailure(error: unknown): FailureVerdict {
  if (isKeyRejected(error)) return 'opens';
  if (!(error instanceof UpstreamError)) return 'counts';
  if (error.reason === 'overloaded' || error.reason === 'shutdown') return 'ignores';
  return /^http_4\d\d$/.test(error.reason) && !UPSTREAM_4XX.has(error.reason) ? 'ignores' : 'counts';
}

/** Whether PostHog refused the API key (HTTP 401 or 403): retrying will not help, the circuit opens at once. */
export function isKeyRejected(error: unknown): boolean {
  return error instanceof UpstreamError && (error.reason === 'http_401' || error.reason === 'http_403');
}
