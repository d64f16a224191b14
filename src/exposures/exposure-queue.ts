import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import type { FlagContext, FlagValue } from '../flags.types.js';
import { LogEpisode } from '../monitor/log-episode.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import type { ExposureStatus } from './exposure-status.js';
import type { FlagCalled } from './flag-called.js';
import { BatchClient, isRetryableBatchFailure, type CapturedEvent } from './batch-client.js';

/** How many distinct ids' sent exposures are remembered (posthog-node's number); the least recent go first. */
const REMEMBERED_DISTINCT_IDS = 50_000;

/** The most events one `/batch/` request carries. */
const MAX_BATCH = 100;

/** The first wait before a failed batch is sent again; it doubles up to {@link MAX_RETRY_DELAY_MS}. */
const FIRST_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30_000;

/** How long `app.close()` waits for the queue to be sent. */
const SHUTDOWN_FLUSH_MS = 2000;

/**
 * `$feature_flag_called` events, as PostHog's SDKs send them so that experiments see who was exposed: one per
 * distinct id, flag, response (and groups), remembered for the 50 000 most recent distinct ids; queued (bounded,
 * the oldest dropped first), sent in batches behind the answers, kept and retried with backoff through a capture
 * outage, and flushed (for at most 2 s) when the application closes. Nothing here ever makes a request wait.
 */
@Injectable()
export class ExposureQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly enabled: boolean;
  private readonly flushAt: number;
  private readonly maxQueueSize: number;
  private readonly queue: CapturedEvent[] = [];
  /** Per distinct id: the responses already sent, by flag key (and groups). */
  private readonly reported = new LRUCache<string, Map<string, Set<FlagValue | undefined>>>({
    max: REMEMBERED_DISTINCT_IDS,
  });
  private readonly counts = { sent: 0, dropped: 0 };
  private lastFailure?: ExposureStatus['lastFailure'];
  private sending?: Promise<void>;
  private retryDelayMs = 0;
  private retryAt = 0;
  private readonly interval?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  /** Aborts a send still under way when the shutdown flush runs out of time. */
  private readonly shutdown = new AbortController();
  private readonly deliveryTrouble = new LogEpisode(this.logger, {
    started: (reason) => `exposure events not delivered (${reason}); kept and sent again later`,
    lasting: (failures, reason) =>
      `exposure events still not delivered: ${failures} more failed batches since the last line (last: ${reason})`,
    ended: () => 'exposure events delivered again',
  });
  private readonly overflow = new LogEpisode(this.logger, {
    started: () => 'exposure queue full: dropping the oldest events (counted in status().exposures.dropped)',
    lasting: (drops) => `exposure queue still full: ${drops} more events dropped since the last line`,
    ended: () => 'exposure queue has room again',
  });

  constructor(
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
    private readonly client: BatchClient,
    private readonly monitor: FlagsMonitor,
  ) {
    this.enabled = config.sendFeatureFlagEvents && !config.offline;
    this.flushAt = config.eventQueue.flushAt;
    this.maxQueueSize = config.eventQueue.maxQueueSize;
    if (this.enabled) {
      this.interval = setInterval(() => void this.flush(), config.eventQueue.flushIntervalMs);
      this.interval.unref();
    }
  }

  /** What has been queued, sent and dropped. */
  status(): ExposureStatus {
    return {
      queued: this.queue.length,
      ...this.counts,
      ...(this.lastFailure ? { lastFailure: { ...this.lastFailure } } : {}),
    };
  }

  /** Queues the `$feature_flag_called` of `context`, unless this response was already sent for them. */
  exposed(context: FlagContext, called: FlagCalled): void {
    if (!this.enabled || this.closed) return;
    if (this.wasReported(context, called.key, called.response)) return;
    this.enqueue({
      event: '$feature_flag_called',
      distinct_id: context.distinctId,
      properties: called.properties,
      timestamp: new Date().toISOString(),
      uuid: randomUUID(),
    });
  }

  /** Sends what is queued, batch after batch, unless a send is under way or a retry is not due yet. */
  flush(): Promise<void> {
    if (this.sending || this.queue.length === 0 || Date.now() < this.retryAt) return this.sending ?? Promise.resolve();
    this.sending = this.sendAll().finally(() => (this.sending = undefined));
    return this.sending;
  }

  /** Sends what is queued within 2 s, then stops every timer. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    clearTimeout(this.retryTimer);
    if (!this.enabled) return;
    this.retryAt = 0;
    let deadline: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (deadline = setTimeout(resolve, SHUTDOWN_FLUSH_MS)));
    await Promise.race([this.drain(), late]);
    clearTimeout(deadline);
    this.shutdown.abort();
  }

  /** Sends until the queue is empty or a batch fails (then a retry is scheduled). */
  private async sendAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.client.send(batch, this.shutdown.signal);
      } catch (error) {
        this.failed(batch, error);
        return;
      }
      this.counts.sent += batch.length;
      this.retryDelayMs = 0;
      this.deliveryTrouble.succeeded();
    }
  }

  /** At shutdown: sends what is queued, and what a send under way leaves, until nothing is left or one fails. */
  private async drain(): Promise<void> {
    await this.sending;
    while (this.queue.length > 0 && this.retryDelayMs === 0) await this.flush();
  }

  /** A batch failed: kept at the head of the queue for a retry, or dropped when PostHog refused it. */
  private failed(batch: CapturedEvent[], error: unknown): void {
    const reason = error instanceof UpstreamError ? error.reason : 'network';
    this.lastFailure = { at: new Date(), reason };
    this.monitor.exposuresFailed(reason);
    this.deliveryTrouble.failed(reason);
    if (!isRetryableBatchFailure(error)) {
      this.counts.dropped += batch.length;
      return;
    }
    this.queue.unshift(...batch);
    this.trimToBound();
    if (this.closed) {
      this.retryDelayMs = MAX_RETRY_DELAY_MS;
      return;
    }
    this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, FIRST_RETRY_DELAY_MS), MAX_RETRY_DELAY_MS);
    this.retryAt = Date.now() + this.retryDelayMs;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.flush(), this.retryDelayMs);
    this.retryTimer.unref();
  }

  private enqueue(event: CapturedEvent): void {
    this.queue.push(event);
    this.trimToBound();
    if (this.queue.length >= this.flushAt) void this.flush();
  }

  /** Drops the oldest events past `maxQueueSize`, counted and warned about once per episode. */
  private trimToBound(): void {
    const excess = this.queue.length - this.maxQueueSize;
    if (excess <= 0) {
      this.overflow.succeeded();
      return;
    }
    this.queue.splice(0, excess);
    this.counts.dropped += excess;
    for (let drop = 0; drop < excess; drop++) this.overflow.failed('full');
  }

  /** Whether this response was already sent for the user (and groups); remembers it when not. */
  private wasReported(context: FlagContext, key: string, response: FlagValue | undefined): boolean {
    let byFlag = this.reported.get(context.distinctId);
    if (!byFlag) this.reported.set(context.distinctId, (byFlag = new Map()));
    const flag = context.groups ? `${key}\u0000${JSON.stringify(Object.entries(context.groups).sort())}` : key;
    let responses = byFlag.get(flag);
    if (!responses) byFlag.set(flag, (responses = new Set()));
    if (responses.has(response)) return true;
    responses.add(response);
    return false;
  }
}
