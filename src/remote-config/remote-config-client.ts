import type { Observable } from 'rxjs';
import { USER_AGENT } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { abortable, type AbortableRequest } from '../upstream/abortable-request.js';
import { isSuccess } from '../upstream/posthog-client.js';
import { PostHogHttp } from '../upstream/posthog-http.js';
import type { PostHogResponse } from '../upstream/posthog-request.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { statusError } from '../upstream/transport-error.js';

/** The endpoint, in error messages: never the path, which holds the project key in its query. */
export const REMOTE_CONFIG_ENDPOINT = '/remote_config';

/** Keep-alive connections to PostHog for remote config requests at most: a rare call, off the request path. */
export const REMOTE_CONFIG_CONNECTIONS = 4;

/** What PostHog answered for a flag's remote config: its payload, or that it has none (`404`). */
export type RemoteConfigAnswer = { found: true; payload: unknown } | { found: false };

/** The answer for a flag that has no remote config (`404`); made once. */
const NOT_FOUND: RemoteConfigAnswer = Object.freeze({ found: false });

/**
 * Speaks `GET {host}/api/projects/@current/feature_flags/{key}/remote_config?token={apiKey}` with the secret key
 * as `Authorization: Bearer`, as posthog-node's `getRemoteConfigPayload` does (the key percent-encoded here, where
 * posthog-node puts it in the path as it is: see {@link pathSegment}). One attempt per subscription, through the module's HTTP client
 * ({@link PostHogHttp}: `timeoutMs` kept by its timer, redirects never followed, the body bounded by
 * `maxResponseBytes`), aborted on unsubscribe. No key appears in an error.
 */
export class RemoteConfigClient {
  private readonly http: PostHogHttp;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly query: string;

  constructor(
    private readonly config: Pick<ResolvedFlagsOptions, 'host' | 'apiKey' | 'timeoutMs' | 'maxResponseBytes'>,
    secretKey: string,
  ) {
    this.http = new PostHogHttp(config.host, REMOTE_CONFIG_CONNECTIONS, REMOTE_CONFIG_ENDPOINT);
    this.query = `?token=${encodeURIComponent(config.apiKey)}`;
    this.headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${secretKey}`,
      'user-agent': USER_AGENT,
    };
  }

  /**
   * One attempt for `flagKey` (well-formed UTF-16: the caller checks): emits the answer and completes, or errors
   * with an {@link UpstreamError} (transport failure, `timeout`, a status other than 2xx and 404, a body that is
   * not JSON).
   */
  request(flagKey: string): Observable<RemoteConfigAnswer> {
    return abortable(() => this.get(flagKey), readRemoteConfigAnswer);
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.http.close();
  }

  private get(flagKey: string): AbortableRequest<PostHogResponse> {
    return this.http.start({
      method: 'GET',
      path: `/api/projects/@current/feature_flags/${pathSegment(flagKey)}/remote_config${this.query}`,
      headers: this.headers,
      timeoutMs: this.config.timeoutMs,
      readBodyOf: isSuccess,
      maxResponseBytes: this.config.maxResponseBytes,
    });
  }
}

/**
 * `key` as one path segment: percent-encoded, its dots too (`%2E`), so that a key `.` or `..` can never be read as
 * a dot segment (which a URL parser or a proxy would resolve into another API path).
 */
function pathSegment(key: string): string {
  return encodeURIComponent(key).replaceAll('.', '%2E');
}

/**
 * The payload of a 2xx answer as posthog-node returns it: the body's JSON value, and when that is a string holding
 * JSON, the value of that JSON (PostHog sends a payload as it stores it, a JSON string); a string that is not JSON
 * is kept as it is. A 404 says the flag has none; any other status, or a body that is not JSON, fails.
 */
export function readRemoteConfigAnswer(response: PostHogResponse): RemoteConfigAnswer {
  if (response.status === 404) return NOT_FOUND;
  if (!isSuccess(response.status)) throw statusError(response.status, REMOTE_CONFIG_ENDPOINT);
  let body: unknown;
  try {
    body = JSON.parse(response.text!);
  } catch {
    throw new UpstreamError('bad_response', 'the body is not JSON', REMOTE_CONFIG_ENDPOINT);
  }
  if (typeof body !== 'string') return { found: true, payload: body };
  try {
    return { found: true, payload: JSON.parse(body) };
  } catch {
    return { found: true, payload: body };
  }
}
