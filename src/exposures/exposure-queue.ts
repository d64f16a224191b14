import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { canNameFlag } from '../util/flag-key.js';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import type { FlagContext, FlagResult } from '../flags.types.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import { LogEpisode } from '../util/log-episode.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import type { UpstreamFailureReason } from '../pipeline/upstream-error.js';
import { BatchClient, MAX_BATCHES_IN_FLIGHT, type CapturedEvent } from './batch-client.js';
import { BatchDelivery } from './batch-delivery.js';
import type { ExposureStatus } from '../monitor/exposure-status.js';
import type { FlagCalled } from './flag-called.js';
import { ReportedExposures } from './reported-exposures.js';

/** The most events one `/batch/` request carries. */
const MAX_BATCH = 100;

/** The first wait before a failed batch is sent again; it doubles up to {@link MAX_RETRY_DELAY_MS}. */
const FIRST_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30_000;

/** How long `app.close()` waits for the queue to be sent. */
const SHUTDOWN_FLUSH_MS = 2000;

/**
 * `$feature_flag_called` events, as PostHog's SDKs send them so that experiments see who was exposed: one per
 * distinct id, flag, response (and groups), remembered for the 50 000 most recent distinct ids and the 1000 most
 * recently read flags of each (see {@link ReportedExposures}); queued (bounded,
 * the oldest dropped first), sent in batches behind the answers (up to {@link MAX_BATCHES_IN_FLIGHT} at once; a
 * batch PostHog finds too large is split), kept and retried with backoff through a capture outage, and flushed
 * (for at most 2 s) when the application closes, what is left then dropped in one line. Nothing here ever makes a
 * request wait.
 */
@Injectable()
export class ExposureQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly enabled: boolean;
  private readonly flushAt: number;
  private readonly maxQueueSize: number;
  private readonly queue: CapturedEvent[] = [];
  /** Per distinct id: the responses already sent, by flag key (and groups). */
  private readonly reported = new ReportedExposures();
  /**
   * Each result already reported, with the distinct id it was reported for (reads without groups): a result is a
   * frozen object shared by every read of it (a user's cached entry, a context's local answer), so the repeated read
   * of one, on every request, is dropped with this one lookup instead of three in {@link reported}.
   */
  private readonly reportedResults = new WeakMap<FlagResult, string>();
  private readonly counts = { sent: 0, dropped: 0 };
  private lastFailure?: ExposureStatus['lastFailure'];
  /** The senders under way, each taking batch after batch; at most {@link MAX_BATCHES_IN_FLIGHT}. */
  private readonly senders = new Set<Promise<void>>();
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
  /** PostHog refusing events (a 4xx, a 413): what was split, what was dropped. */
  private readonly refusals = new LogEpisode(this.logger, {
    started: (what) => `PostHog refused exposure events (${what}); drops counted in status().exposures.dropped`,
    lasting: (times, what) =>
      `PostHog still refusing exposure events: ${times} more times since the last line (last: ${what})`,
    ended: () => 'PostHog accepts exposure events again',
  });
  private readonly delivery = new BatchDelivery({
    send: (batch) => this.client.send(batch, this.shutdown.signal),
    shuttingDown: () => this.shutdown.signal.aborted,
    sent: (events) => this.sent(events),
    failed: (reason) => this.noteFailure(reason),
    refused: (events, what) => this.refused(events, what),
    keptForRetry: (events, reason) => this.keptForRetry(events, reason),
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

  /**
   * Whether a read of `result` for `context` sends nothing: events are off or over, or this very result object's
   * event was sent for the user (a user's unchanged result is the same object on every read). Reads in a group
   * context are told apart by their groups too: never by the result alone.
   */
  exposureSent(context: FlagContext, result: FlagResult): boolean {
    if (!this.enabled || this.closed) return true;
    return !context.groups && this.reportedResults.get(result) === context.distinctId;
  }

  /**
   * Queues the `$feature_flag_called` of `context`, unless this response was already sent for them. (A read of an
   * override sends none: the snapshot does not ask.) A key that cannot name a flag ({@link canNameFlag}) is neither
   * remembered nor sent.
   */
  exposed(context: FlagContext, called: FlagCalled): void {
    if (!canNameFlag(called.key)) return;
    const { result } = called;
    if (result ? this.exposureSent(context, result) : !this.enabled || this.closed) return;
    const reported = this.reported.wasReported(context, called.key, called.response);
    if (result && !context.groups) this.reportedResults.set(result, context.distinctId);
    if (reported) return;
    this.enqueue({
      event: '$feature_flag_called',
      distinct_id: context.distinctId,
      properties: called.properties(),
      timestamp: new Date().toISOString(),
      uuid: randomUUID(),
    });
  }

  /**
   * Sends what is queued, in batches of 100 at most, up to {@link MAX_BATCHES_IN_FLIGHT} at once, unless a retry
   * is not due yet; resolves once the batches under way are done.
   */
  async flush(): Promise<void> {
    this.startSenders();
    while (this.senders.size > 0) await Promise.all(this.senders);
  }

  /** Sends what is queued within 2 s, then stops every timer; what is still queued then is dropped, in one line. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    clearTimeout(this.retryTimer);
    if (this.enabled) {
      // One last attempt, even in an outage: PostHog may be back.
      this.retryAt = 0;
      this.retryDelayMs = 0;
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (deadline = setTimeout(resolve, SHUTDOWN_FLUSH_MS)));
      await Promise.race([this.drain(), late]);
      clearTimeout(deadline);
      this.shutdown.abort();
      await Promise.all(this.senders);
      this.dropUnsent();
    }
    await this.client.close();
  }

  /** Starts senders, each taking batch after batch, while the queue has events and a slot is free. */
  private startSenders(): void {
    while (this.senders.size < MAX_BATCHES_IN_FLIGHT && this.maySend()) {
      const sender: Promise<void> = this.sendWhileQueued().finally(() => this.senders.delete(sender));
      this.senders.add(sender);
    }
  }

  /** Whether a batch may go out now: events are queued, no retry is pending, and the shutdown flush has not ended. */
  private maySend(): boolean {
    return this.queue.length > 0 && performance.now() >= this.retryAt && !this.shutdown.signal.aborted;
  }

  /** One sender: takes batch after batch until the queue is empty or a batch fails (then a retry is scheduled). */
  private async sendWhileQueued(): Promise<void> {
    while (this.maySend()) {
      if (!(await this.delivery.deliver(this.queue.splice(0, MAX_BATCH)))) return;
    }
  }

  /** At shutdown: sends what is queued until nothing is left or a batch fails. */
  private async drain(): Promise<void> {
    await this.flush();
    while (this.maySend() && this.retryDelayMs === 0) await this.flush();
  }

  /** At shutdown, once sending has stopped: what is still queued is dropped, counted, and said in one line. */
  private dropUnsent(): void {
    const unsent = this.queue.length;
    if (unsent === 0) return;
    this.queue.length = 0;
    this.counts.dropped += unsent;
    const why = this.lastFailure
      ? `last failure: ${this.lastFailure.reason}`
      : `no answer within ${SHUTDOWN_FLUSH_MS} ms`;
    this.logger.warn(`application closing: ${unsent} exposure events not delivered to PostHog were dropped (${why})`);
  }

  /** A batch was sent: PostHog answers, the backoff starts over. */
  private sent(events: number): void {
    this.counts.sent += events;
    this.retryDelayMs = 0;
    this.deliveryTrouble.succeeded();
    this.refusals.succeeded();
  }

  /** A request failed: remembered for `status()` and reported to the monitor. */
  private noteFailure(reason: UpstreamFailureReason): void {
    this.lastFailure = { at: new Date(), reason };
    this.monitor.exposuresFailed(reason);
  }

  /** PostHog refused events (a 4xx, or one event too large alone): dropped, counted, said. */
  private refused(events: number, what: string): void {
    this.counts.dropped += events;
    this.refusals.failed(what);
  }

  /** A transient failure: the events go back to the head of the queue, sent again after a backoff. */
  private keptForRetry(events: CapturedEvent[], reason: string): void {
    this.queue.unshift(...events);
    this.trimToBound();
    if (this.shutdown.signal.aborted) return;
    this.deliveryTrouble.failed(reason);
    if (this.closed) {
      this.retryDelayMs = MAX_RETRY_DELAY_MS;
      return;
    }
    // Batches in flight together fail together: one backoff step for them all.
    if (performance.now() < this.retryAt) return;
    this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, FIRST_RETRY_DELAY_MS), MAX_RETRY_DELAY_MS);
    this.retryAt = performance.now() + this.retryDelayMs;
    clearTimeout(this.retryTimer);
    // The timer may fire a little before `performance.now()` reaches `retryAt`: the retry is due when it fires.
    this.retryTimer = setTimeout(() => {
      this.retryAt = 0;
      void this.flush();
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private enqueue(event: CapturedEvent): void {
    this.queue.push(event);
    this.trimToBound();
    if (this.queue.length >= this.flushAt) this.startSenders();
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
}
