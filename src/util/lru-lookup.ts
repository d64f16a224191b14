import type { LRUCache } from 'lru-cache';

/** What an {@link LRUCache} holds: anything but `null` and `undefined`. */
type Held = NonNullable<unknown>;

/**
 * The options handed to every lookup below. Given none, lru-cache makes an options object per call (a lookup on the
 * guard's path would allocate one per request). It writes the lookup's `status` into the object it is given, which
 * is cleared after each call: every lookup starts from empty options, as it would with its own, and nothing of a
 * lookup (its key, its value) stays reachable from here.
 */
const LOOKUP: { status?: unknown } = {};

/** `cache.get(key)`, allocating nothing: the entry counts as used (recency), as with `get`. */
export function lruGet<K extends Held, V extends Held>(cache: LRUCache<K, V>, key: K): V | undefined {
  try {
    return cache.get(key, LOOKUP as LRUCache.GetOptions<K, V, unknown>);
  } finally {
    LOOKUP.status = undefined;
  }
}

/** `cache.has(key)`, allocating nothing. */
export function lruHas<K extends Held, V extends Held>(cache: LRUCache<K, V>, key: K): boolean {
  try {
    return cache.has(key, LOOKUP as LRUCache.HasOptions<K, V, unknown>);
  } finally {
    LOOKUP.status = undefined;
  }
}
