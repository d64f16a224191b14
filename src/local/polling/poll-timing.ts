/** The longest wait between polls while PostHog refuses the key or rate-limits (posthog-node's). */
const MAX_BACKOFF_MS = 60_000;

/**
 * Definitions PostHog was last polled for more than this many poll intervals ago (by any instance) are stale; a
 * follower whose poller has not published for as long polls PostHog itself, and a crashed poller's lock expires.
 */
export const STALE_AFTER_INTERVALS = 3;

/** The poller lock's TTL: {@link STALE_AFTER_INTERVALS} poll intervals, at least 5 s, at most 60 s. */
export function lockTtlMs(pollIntervalMs: number): number {
  return Math.min(60_000, Math.max(5_000, STALE_AFTER_INTERVALS * pollIntervalMs));
}

/**
 * The wait before the next poll: the interval, or after `refusals` polls in a row refused for the key or
 * rate-limited, `interval × 2^refusals`, at most 60 s (posthog-node's backoff), but never less than the interval.
 */
export function pollDelay(interval: number, refusals: number): number {
  return refusals === 0 ? interval : Math.max(interval, Math.min(MAX_BACKOFF_MS, interval * 2 ** refusals));
}
