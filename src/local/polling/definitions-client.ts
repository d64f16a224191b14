import type { Observable } from 'rxjs';
import { USER_AGENT } from '../../flags.constants.js';
import type { ResolvedFlagsOptions } from '../../options/flags-options.js';
import { retryWithBackoff } from '../../pipeline/retry-with-backoff.js';
import { abortable, type AbortableRequest } from '../../upstream/abortable-request.js';
import { PostHogHttp } from '../../upstream/posthog-http.js';
import type { PostHogResponse } from '../../upstream/posthog-request.js';
import { isRetryableUpstreamError, UpstreamError } from '../../pipeline/upstream-error.js';
import { statusError } from '../../upstream/transport-error.js';
import { parseDefinitions, type FlagDefinitionsData } from '../definitions.js';

/** The endpoint, in error messages. */
const ENDPOINT = '/flags/definitions';

/** How long one definitions request may take (its body included), as in PostHog's SDKs. */
export const DEFINITIONS_TIMEOUT_MS = 10_000;

/** The largest definitions body read (decoded): a project's flags and cohorts, far beyond any real one. */
const MAX_DEFINITIONS_BYTES = 64 * 1024 * 1024;

/** PostHog's published backoff: 300 ms before the first retry, doubling after. */
const RETRY_BASE_DELAY_MS = 300;

/** What `/flags/definitions` answered: new definitions with their ETag, or "unchanged" (`304`). */
export type DefinitionsAnswer =
  { status: 200; definitions: FlagDefinitionsData; etag?: string } | { status: 304; etag?: string };

/**
 * Speaks `GET /flags/definitions`: the bearer secret key, `If-None-Match` with the last ETag, a 10 s timeout (a
 * timer of the HTTP client's) and PostHog's retry policy (an operator, as for `/flags`). A status other than 200/304 (402 quota, 401/403 key
 * refused, 5xx) and a body that is no definitions fail with an {@link UpstreamError}; the key never appears in one.
 */
export class DefinitionsClient {
  private readonly path: string;
  private readonly http: PostHogHttp;

  /** @param secretKey the bearer token (a project secret key or a personal API key); never printed. */
  constructor(
    private readonly config: Pick<ResolvedFlagsOptions, 'host' | 'apiKey' | 'retries'>,
    private readonly secretKey: string,
  ) {
    this.path = `/flags/definitions?token=${encodeURIComponent(config.apiKey)}&send_cohorts`;
    this.http = new PostHogHttp(config.host, 1, ENDPOINT);
  }

  /** One poll: emits the answer once and completes, or errors. Unsubscribing aborts the request. */
  fetchDefinitions(etag: string | undefined): Observable<DefinitionsAnswer> {
    return abortable(
      () => this.get(etag),
      (response) => readDefinitionsAnswer(response, etag),
    ).pipe(
      retryWithBackoff({
        retries: this.config.retries,
        baseDelayMs: RETRY_BASE_DELAY_MS,
        isRetryable: isRetryableUpstreamError,
      }),
    );
  }

  /** Closes the connection (once no poll is under way). */
  async close(): Promise<void> {
    await this.http.close();
  }

  private get(etag: string | undefined): AbortableRequest<PostHogResponse> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.secretKey}`,
      'user-agent': USER_AGENT,
    };
    if (etag) headers['if-none-match'] = etag;
    return this.http.start({
      method: 'GET',
      path: this.path,
      headers,
      timeoutMs: DEFINITIONS_TIMEOUT_MS,
      readBodyOf: (status) => status === 200,
      maxResponseBytes: MAX_DEFINITIONS_BYTES,
    });
  }
}

/** What an answer to a poll sent with `etag` says; a status other than 200/304 or a body that is no definitions fails. */
function readDefinitionsAnswer(response: PostHogResponse, etag: string | undefined): DefinitionsAnswer {
  const newEtag = typeof response.headers.etag === 'string' ? response.headers.etag : undefined;
  if (response.status === 304) return { status: 304, etag: newEtag ?? etag };
  if (response.status !== 200) throw statusError(response.status, ENDPOINT);
  try {
    return { status: 200, definitions: parseDefinitions(JSON.parse(response.text!)), etag: newEtag };
  } catch (error) {
    throw new UpstreamError('bad_response', (error as Error).message, ENDPOINT);
  }
}
