import { STALE_AFTER_INTERVALS } from './poll-timing.js';

/**
 * When PostHog was last polled for the definitions in force, by this instance or by the publisher of the shared
 * ones, and so whether they are stale: polled more than {@link STALE_AFTER_INTERVALS} poll intervals ago (by
 * anyone). Times read from the shared store are never taken as later than now (a writer's clock may be ahead).
 */
export class PollClock {
  /** When PostHog was last polled for the definitions in force (by this instance, or by their publisher). */
  private polledAt?: number;
  /** The latest poll of any publisher the shared store told of (or a live lock of another SDK's poller). */
  private sharedPolledAt?: number;
  /** The poll time the shared store told last, as told (it may be ahead of this clock). */
  private lastTold?: number;
  private startedAt = Date.now();
  private readonly staleAfterMs: number;

  /** @param pollIntervalMs the poll interval; `0` (no timer): definitions are never stale by age. */
  constructor(pollIntervalMs: number) {
    this.staleAfterMs = pollIntervalMs === 0 ? Infinity : STALE_AFTER_INTERVALS * pollIntervalMs;
  }

  /** The application started: with nothing polled yet, staleness counts from now. */
  started(): void {
    this.startedAt = Date.now();
  }

  /** This instance polled PostHog (a `304` or a `402` included). */
  polled(): void {
    this.polledAt = Date.now();
  }

  /** Shared definitions were put in force, polled at `at` (their stamp's time; none for another SDK's). */
  adopted(at: number | undefined): void {
    this.polledAt = at === undefined ? undefined : notLaterThanNow(at);
  }

  /** When PostHog was last polled for the definitions in force; `undefined` before any poll. */
  get lastPolledAt(): number | undefined {
    return this.polledAt;
  }

  /**
   * The shared store told of a poll at `told` (or, without one, whether another SDK's poller holds the lock: a poll
   * now). One told before confirms nothing again: a dead publisher whose clock was ahead leaves its followers stale
   * after {@link STALE_AFTER_INTERVALS} intervals.
   */
  confirmShared(told: number | undefined, lockHeld: boolean): void {
    let confirmed: number | undefined;
    if (told !== undefined) {
      if (told !== this.lastTold) confirmed = notLaterThanNow(told);
      this.lastTold = told;
    } else if (lockHeld) {
      confirmed = Date.now();
    }
    if (confirmed !== undefined) this.sharedPolledAt = Math.max(this.sharedPolledAt ?? 0, confirmed);
  }

  /** Whether a publisher has polled PostHog within {@link STALE_AFTER_INTERVALS} intervals. */
  publisherIsLive(): boolean {
    return this.sharedPolledAt !== undefined && !this.isOld(this.sharedPolledAt);
  }

  /** When PostHog was last polled for the definitions here, by this instance or by a publisher. */
  lastPolledByAnyone(): number | undefined {
    if (this.polledAt === undefined) return this.sharedPolledAt;
    return Math.max(this.polledAt, this.sharedPolledAt ?? 0);
  }

  /** Stale: PostHog was last polled (by anyone) more than {@link STALE_AFTER_INTERVALS} intervals ago. */
  isStale(): boolean {
    return this.isOld(this.lastPolledByAnyone() ?? this.startedAt);
  }

  private isOld(at: number): boolean {
    return Date.now() - at > this.staleAfterMs;
  }
}

/** A time read from the shared store, never later than now (the writer's clock may be ahead of this one). */
function notLaterThanNow(at: number): number {
  return Math.min(at, Date.now());
}
