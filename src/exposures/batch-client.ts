import { Inject, Injectable } from '@nestjs/common';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { USER_AGENT } from '../upstream/posthog-client.js';
import { transportError, UpstreamError } from '../upstream/upstream-error.js';

const gzipped = promisify(gzip);

/** How long one `/batch/` request may take. */
const BATCH_TIMEOUT_MS = 10_000;

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
 * Sends events to PostHog's capture endpoint, `POST {host}/batch/`, gzipped, as posthog-node does. The API key
 * travels in the body only. Redirects are not followed.
 */
@Injectable()
export class BatchClient {
  private readonly url: string;

  constructor(@Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions) {
    this.url = `${config.host}/batch/`;
  }

  /**
   * Sends one batch; resolves once PostHog accepted it. `cancel` aborts it (at shutdown).
   * @throws {UpstreamError} on a transport failure, a timeout or a non-2xx status (`retryable` for transport
   * failures, timeouts and 5xx).
   */
  async send(batch: readonly CapturedEvent[], cancel?: AbortSignal): Promise<void> {
    const body = await gzipped(
      JSON.stringify({ api_key: this.config.apiKey, batch, sent_at: new Date().toISOString() }),
    );
    let status: number;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'User-Agent': USER_AGENT },
        body,
        redirect: 'manual',
        signal: cancel
          ? AbortSignal.any([AbortSignal.timeout(BATCH_TIMEOUT_MS), cancel])
          : AbortSignal.timeout(BATCH_TIMEOUT_MS),
      });
      status = response.status;
      await response.body?.cancel();
    } catch (error) {
      throw (error as Error)?.name === 'TimeoutError'
        ? new UpstreamError('timeout', 'no answer')
        : transportError(error);
    }
    if (status < 200 || status > 299) throw new UpstreamError(`http_${status}`, `HTTP ${status}`);
  }
}

/** Whether a failed batch may be sent again: transport failures, timeouts and 5xx; never a 4xx. */
export function isRetryableBatchFailure(error: unknown): boolean {
  if (!(error instanceof UpstreamError)) return true;
  return !/^http_[34]\d\d$/.test(error.reason);
}
