import type { FailureVerdict } from '../pipeline/failure-verdict.js';

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

/** The failure of an answer whose status was not the one wanted: `http_<status>`. */
export function statusError(status: number, endpoint?: string): UpstreamError {
  return new UpstreamError(`http_${status}`, `HTTP ${status}`, endpoint);
}

/** Maps what the HTTP client threw (undici's errors, or the socket's in their `cause`) to an {@link UpstreamError}. */
export function transportError(error: unknown, endpoint?: string): UpstreamError {
  const code = errorCode(error);
  if (code && DECODING_ERROR.test(code)) {
    return new UpstreamError('bad_response', 'the body is not validly compressed', endpoint);
  }
  if (code && CERTIFICATE_ERROR.test(code)) {
    return new UpstreamError('tls', `the certificate is not trusted (${code})`, endpoint);
  }
  if (code && TLS_ERROR.test(code)) return new UpstreamError('tls', `the TLS handshake failed (${code})`, endpoint);
  switch (code) {
    case 'ECONNREFUSED':
      return new UpstreamError('connection_refused', 'connection refused', endpoint);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new UpstreamError('connection_reset', 'connection reset', endpoint);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UpstreamError('dns', 'host name not resolved', endpoint);
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new UpstreamError('timeout', code, endpoint);
    default:
      return new UpstreamError('network', code ?? (error instanceof Error ? error.message : 'unknown error'), endpoint);
  }
}

/** The codes of zlib's errors (gzip, deflate) and brotli's: a body whose encoding is corrupt. */
const DECODING_ERROR = /^(Z_|ERR__ERROR_FORMAT)/;

/**
 * The codes of a server certificate that fails the checks: OpenSSL's verification errors (self-signed, unknown
 * issuer, expired, revoked, …) as Node names them, and Node's host name check.
 */
const CERTIFICATE_ERROR =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|DECRYPT|DECODE|VERIFY)_\w+|(CERT|CRL)_\w+|ERROR_IN_(CERT|CRL)_\w+|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED)$/;

/** The codes of the other TLS failures: OpenSSL's (`ERR_SSL_…`, a handshake refused) and Node's TLS layer's. */
const TLS_ERROR = /^ERR_(SSL|TLS)_/;

/** The `code` of an error or of its `cause` chain. */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
