import { UpstreamError } from '../pipeline/upstream-error.js';

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
