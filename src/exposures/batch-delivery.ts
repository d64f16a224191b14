import { UpstreamError, type UpstreamFailureReason } from '../pipeline/upstream-error.js';
import { isBatchTooLarge, isRetryableBatchFailure, type CapturedEvent } from './batch-client.js';

/** What a delivery does with each outcome: the exposure queue's bookkeeping. */
export interface DeliveryOutcomes {
  /** Sends one batch to `/batch/`; rejects on any failure. */
  send(batch: readonly CapturedEvent[]): Promise<void>;
  /** Whether the application is closing and sends are being aborted: a failure then is no failure of PostHog's. */
  shuttingDown(): boolean;
  /** PostHog accepted `events`. */
  sent(events: number): void;
  /** A request failed for `reason` (each one: a 413 before a split too). */
  failed(reason: UpstreamFailureReason): void;
  /** PostHog refused `events` for good (dropped); `what` says what happened, for the log. */
  refused(events: number, what: string): void;
  /** A transient failure (`reason`): `events` are to be sent again later. */
  keptForRetry(events: CapturedEvent[], reason: UpstreamFailureReason): void;
}

/**
 * Delivers one batch. When PostHog answers `413` (the request too large), the batch is split in halves, sent one
 * after the other, and halved again down to single events; an event refused alone is dropped (counted). A 4xx
 * drops the part it refused; a transient failure (transport, timeout, 5xx) keeps the part not sent yet, in order,
 * for a retry, and stops.
 */
export class BatchDelivery {
  constructor(private readonly outcomes: DeliveryOutcomes) {}

  /** Delivers `batch`; whether the sender may go on (false after a transient failure). */
  async deliver(batch: CapturedEvent[]): Promise<boolean> {
    const pieces = [batch];
    const tooLarge = { splits: 0, dropped: 0 };
    try {
      while (pieces.length > 0) {
        const piece = pieces.shift()!;
        const failure = await this.attempt(piece);
        if (!failure) continue;
        if (this.outcomes.shuttingDown()) {
          this.outcomes.keptForRetry([piece, ...pieces].flat(), 'shutdown');
          return false;
        }
        const reason = failure.error instanceof UpstreamError ? failure.error.reason : 'network';
        this.outcomes.failed(reason);
        if (isBatchTooLarge(failure.error)) {
          if (piece.length > 1) {
            const half = Math.ceil(piece.length / 2);
            pieces.unshift(piece.slice(0, half), piece.slice(half));
            tooLarge.splits++;
          } else {
            tooLarge.dropped++;
          }
        } else if (!isRetryableBatchFailure(failure.error)) {
          this.outcomes.refused(piece.length, `${reason}, ${piece.length} events dropped`);
        } else {
          this.outcomes.keptForRetry([piece, ...pieces].flat(), reason);
          return false;
        }
      }
      return true;
    } finally {
      if (tooLarge.splits > 0 || tooLarge.dropped > 0) this.reportTooLarge(batch.length, tooLarge.dropped);
    }
  }

  /** Says what a `413` led to, once per batch: split and sent in smaller batches, and what was dropped. */
  private reportTooLarge(size: number, dropped: number): void {
    const what =
      size === 1
        ? 'an event too large, dropped'
        : `a batch of ${size} events too large, sent again in smaller batches; ` +
          (dropped > 0 ? `${dropped} events too large even alone dropped` : 'none dropped');
    this.outcomes.refused(dropped, `http_413: ${what}`);
  }

  /** One request; the failure, if any. */
  private async attempt(piece: readonly CapturedEvent[]): Promise<{ error: unknown } | undefined> {
    try {
      await this.outcomes.send(piece);
    } catch (error) {
      return { error };
    }
    this.outcomes.sent(piece.length);
    return undefined;
  }
}
