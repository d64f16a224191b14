import type { CachedFlags } from '../cache/flag-cache.js';

/**
 * What a cache read allows, given the cache URL's `fresh` window: `fresh` (answer from the cache), `stale`
 * (answer from the cache and refresh it behind the answer) or `expired` (ask PostHog and wait).
 */
export type Freshness = 'fresh' | 'stale' | 'expired';

/** When a read may answer from the cache (ms since the epoch): see {@link cacheWindow}. */
export interface CacheWindow {
  /** Its newest entry's time: before it, the read is from the future (a writer with a skewed clock). */
  from: number;
  /** The user's refresh point past its oldest entry: `fresh` until then, `stale` after. */
  staleAt: number;
  /** Twice `freshSeconds` past its oldest entry: `expired` from then. */
  expiresAt: number;
}

/**
 * When a read can answer without waiting for PostHog; `undefined`: never. It needs an entry for every flag asked,
 * each evaluated for the same context (`context`, a `contextFingerprint`); their age is the oldest one's. Younger
 * than the user's refresh point it is `fresh`; past it and younger than twice `freshSeconds`, `stale`; older,
 * incomplete, for another context, or from the future, `expired` (see {@link freshnessIn}): PostHog is asked.
 * Computed once per read: the memory cache hands the same read out until its entries change.
 */
export function cacheWindow(
  cached: CachedFlags,
  freshSeconds: number,
  distinctId: string,
  context: string,
): CacheWindow | undefined {
  if (!cached.complete) return undefined;
  let oldest = Infinity;
  let newest = -Infinity;
  for (const flag of cached.flags) {
    if (flag.context !== context) return undefined;
    const at = flag.evaluatedAt.getTime();
    oldest = Math.min(oldest, at);
    newest = Math.max(newest, at);
  }
  return {
    from: newest,
    staleAt: oldest + refreshPointMs(freshSeconds, distinctId),
    expiresAt: oldest + 2 * freshSeconds * 1000,
  };
}

/** What a read whose {@link cacheWindow} is `window` allows at `now`. */
export function freshnessIn(window: CacheWindow | undefined, now: number): Freshness {
  if (!window || now < window.from) return 'expired';
  if (now < window.staleAt) return 'fresh';
  return now < window.expiresAt ? 'stale' : 'expired';
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
