import { Inject, Injectable } from '@nestjs/common';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { FLAGS_CONFIG, USER_AGENT } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { isSuccess } from '../upstream/posthog-client.js';
import { PostHogHttp } from '../upstream/posthog-http.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { statusError } from '../upstream/transport-error.js';

const gzipped = promisify(gzip);

/** The endpoint, in error messages. */
const ENDPOINT = '/batch';

/** The most `/batch/` requests in flight at once (and connections to the capture endpoint). */
export const MAX_BATCHES_IN_FLIGHT = 4;

/** One event as PostHog's `/batch/` endpoint takes it. */
export interface CapturedEvent {
  event: string;
  distinct_id: string;
  properties: Record<string, unknown>;
  /** ISO 8601. */
  timestamp: string;
  uuid: string;
}

/**
 * Sends events to PostHog's capture endpoint, `POST {host}/batch/`, gzipped, as posthog-node does, on at most
 * {@link MAX_BATCHES_IN_FLIGHT} keep-alive connections. The API key travels in the body only. Redirects are not
 * followed.
 */
@Injectable()
export class BatchClient {
  private readonly http: PostHogHttp;
  private readonly timeoutMs: number;

  constructor(@Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions) {
    this.http = new PostHogHttp(config.host, MAX_BATCHES_IN_FLIGHT, ENDPOINT);
    this.timeoutMs = config.eventQueue.timeoutMs;
  }

  /**
   * Sends one batch; resolves once PostHog accepted it. A request unanswered after `eventQueue.timeoutMs` is
   * abandoned (`timeout`, a timer of the client's own); `cancel` aborts it (at shutdown). The answer's body is not
   * read: once its status is in, the batch is accepted or refused, and a body not ended by then closes its
   * connection.
   * @throws {UpstreamError} on a transport failure, a timeout or a non-2xx status (`retryable` for transport
   * failures, timeouts and 5xx).
   */
  async send(batch: readonly CapturedEvent[], cancel?: AbortSignal): Promise<void> {
    const body = await gzipped(
      JSON.stringify({ api_key: this.config.apiKey, batch, sent_at: new Date().toISOString() }),
    );
    const { status } = await this.http.request({
      method: 'POST',
      path: '/batch/',
      headers: BATCH_HEADERS,
      body,
      signal: cancel,
      timeoutMs: this.timeoutMs,
      readBodyOf: () => false,
      maxResponseBytes: 0,
    });
    if (!isSuccess(status)) throw statusError(status, ENDPOINT);
  }

  /** Closes the connections, ending a request still in flight. */
  async close(): Promise<void> {
    await this.http.close();
  }
}

/** The headers of every `/batch/` request. */
const BATCH_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  'content-encoding': 'gzip',
  'user-agent': USER_AGENT,
};

/** Whether a failed batch may be sent again: transport failures, timeouts and 5xx; never a 4xx. */
export function isRetryableBatchFailure(error: unknown): boolean {
  if (!(error instanceof UpstreamError)) return true;
  return !/^http_[34]\d\d$/.test(error.reason);
}

/** Whether PostHog refused a batch as too large (`413`): its halves may pass. */
export function isBatchTooLarge(error: unknown): boolean {
  return error instanceof UpstreamError && error.reason === 'http_413';
}
