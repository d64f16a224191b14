import { STALE_AFTER_INTERVALS } from './poll-timing.js';

/**
 * A point in time on both clocks: `wall` (ms since the epoch) to write out and show, `monotonic`
 * (`performance.now()`) to measure from: a wall clock stepped back or forth (NTP, a VM resumed) moves no age.
 */
interface Moment {
  wall: number;
  monotonic: number;
}

/**
 * When PostHog was last polled for the definitions in force, by this instance or by the publisher of the shared
 * ones, and so whether they are stale: polled more than {@link STALE_AFTER_INTERVALS} poll intervals ago (by
 * anyone). Ages are measured on the monotonic clock; a poll time read from the shared store (another instance's
 * wall clock) is placed on it when read, and never taken as later than now (a writer's clock may be ahead).
 */
export class PollClock {
  /** When PostHog was last polled for the definitions in force (by this instance, or by their publisher). */
  private polledAt?: Moment;
  /** The latest poll of any publisher the shared store told of (or a live lock of another SDK's poller). */
  private sharedPolledAt?: Moment;
  /** The poll time the shared store told last, as told (it may be ahead of this clock). */
  private lastTold?: number;
  private startedAt = now();
  private readonly staleAfterMs: number;

  /** @param pollIntervalMs the poll interval; `0` (no timer): definitions are never stale by age. */
  constructor(pollIntervalMs: number) {
    this.staleAfterMs = pollIntervalMs === 0 ? Infinity : STALE_AFTER_INTERVALS * pollIntervalMs;
  }

  /** The application started: with nothing polled yet, staleness counts from now. */
  started(): void {
    this.startedAt = now();
  }

  /** This instance polled PostHog (a `304` or a `402` included). */
  polled(): void {
    this.polledAt = now();
  }

  /** Shared definitions were put in force, polled at `at` (their stamp's time; none for another SDK's). */
  adopted(at: number | undefined): void {
    this.polledAt = at === undefined ? undefined : toldMoment(at);
  }

  /** When PostHog was last polled for the definitions in force (ms since the epoch); `undefined` before any poll. */
  get lastPolledAt(): number | undefined {
    return this.polledAt?.wall;
  }

  /**
   * The shared store told of a poll at `told` (or, without one, whether another SDK's poller holds the lock: a poll
   * now). One told before confirms nothing again: a dead publisher whose clock was ahead leaves its followers stale
   * after {@link STALE_AFTER_INTERVALS} intervals.
   */
  confirmShared(told: number | undefined, lockHeld: boolean): void {
    let confirmed: Moment | undefined;
    if (told !== undefined) {
      if (told !== this.lastTold) confirmed = toldMoment(told);
      this.lastTold = told;
    } else if (lockHeld) {
      confirmed = now();
    }
    if (confirmed !== undefined) this.sharedPolledAt = later(this.sharedPolledAt, confirmed);
  }

  /** Whether a publisher has polled PostHog within {@link STALE_AFTER_INTERVALS} intervals. */
  publisherIsLive(): boolean {
    return this.sharedPolledAt !== undefined && !this.isOld(this.sharedPolledAt);
  }

  /** When PostHog was last polled for the definitions here (ms since the epoch), by this instance or a publisher. */
  lastPolledByAnyone(): number | undefined {
    return this.lastPollByAnyone()?.wall;
  }

  /** Stale: PostHog was last polled (by anyone) more than {@link STALE_AFTER_INTERVALS} intervals ago. */
  isStale(): boolean {
    return this.isOld(this.lastPollByAnyone() ?? this.startedAt);
  }

  private lastPollByAnyone(): Moment | undefined {
    if (this.polledAt === undefined) return this.sharedPolledAt;
    return this.sharedPolledAt === undefined ? this.polledAt : later(this.polledAt, this.sharedPolledAt);
  }

  private isOld(at: Moment): boolean {
    return performance.now() - at.monotonic > this.staleAfterMs;
  }
}

/** Now, on both clocks. */
function now(): Moment {
  return { wall: Date.now(), monotonic: performance.now() };
}

/**
 * A time read from the shared store (another instance's wall clock), placed on this one's monotonic clock by its
 * age now; never later than now (the writer's clock may be ahead of this one).
 */
function toldMoment(at: number): Moment {
  const current = now();
  const age = Math.max(0, current.wall - at);
  return { wall: current.wall - age, monotonic: current.monotonic - age };
}

/** The later of two moments, on the monotonic clock. */
function later(first: Moment | undefined, second: Moment): Moment {
  return first !== undefined && first.monotonic >= second.monotonic ? first : second;
}
