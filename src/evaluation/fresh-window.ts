import type { CachedFlags } from '../cache/flag-cache.js';

/**
 * What a cache read allows, given the cache URL's `fresh` window: `fresh` (answer from the cache), `stale`
 * (answer from the cache and refresh it behind the answer) or `expired` (ask PostHog and wait).
 */
export type Freshness = 'fresh' | 'stale' | 'expired';

/**
 * How a read can answer without waiting for PostHog. It needs an entry for every flag asked, each evaluated for
 * the same context (`context`, a `contextFingerprint`); their age is the oldest one's. Younger than the user's
 * refresh point it is `fresh`; past it and younger than twice `freshSeconds`, `stale`; older, incomplete, for
 * another context, or from the future (a writer with a skewed clock), `expired`: PostHog is asked.
 */
export function freshness(
  cached: CachedFlags,
  freshSeconds: number,
  distinctId: string,
  context: string,
  now = Date.now(),
): Freshness {
  if (!cached.complete) return 'expired';
  let oldest = Infinity;
  let newest = -Infinity;
  for (const flag of cached.flags) {
    if (flag.context !== context) return 'expired';
    const at = flag.evaluatedAt.getTime();
    oldest = Math.min(oldest, at);
    newest = Math.max(newest, at);
  }
  const ageMs = now - oldest;
  if (newest > now) return 'expired';
  if (ageMs < refreshPointMs(freshSeconds, distinctId)) return 'fresh';
  return ageMs < 2 * freshSeconds * 1000 ? 'stale' : 'expired';
}

/**
 * The age at which a user's cached flags are refreshed: between `freshSeconds` and 1.5 × `freshSeconds`, the same
 * for every read of that distinct id. Users cached together (at a cold start, or when an outage ends) would
 * otherwise all refresh together, each refresh a call of its own on a connection of its own; spread, they
 * drift apart with every refresh.
 */
export function refreshPointMs(freshSeconds: number, distinctId: string): number {
  return freshSeconds * 1000 * (1 + spreadOf(distinctId) / 2);
}

/** A number in [0, 1) fixed by the string: its FNV-1a hash, scaled. */
function spreadOf(value: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < value.length; index++) {
    hash = Math.imul(hash ^ value.charCodeAt(index), 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32;
}
