/** The longest flag key PostHog has (its own bound): a longer key names no flag. */
export const MAX_FLAG_KEY_LENGTH = 400;

/** A UTF-16 code unit that is half of a pair without its other half: such a key cannot be percent-encoded. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Whether `key` is longer than {@link MAX_FLAG_KEY_LENGTH}. */
export function isOverlongFlagKey(key: string): boolean {
  return key.length > MAX_FLAG_KEY_LENGTH;
}

/** Whether `key` holds a lone surrogate (it is not well-formed UTF-16). */
export function hasLoneSurrogate(key: string): boolean {
  return LONE_SURROGATE.test(key);
}

/** Frozen lists of keys each of which can name a flag ({@link nameableKeys} need not look again). */
const vetted = new WeakSet<readonly string[]>();

/** `keys`, frozen, each of which can name a flag (the caller has checked): {@link nameableKeys} hands it on as is. */
export function vettedKeys(keys: string[]): readonly string[] {
  const frozen = Object.freeze(keys);
  vetted.add(frozen);
  return frozen;
}

/**
 * `keys`, each once, less those that cannot name a flag ({@link canNameFlag}), in a list of its own: `keys` itself
 * when it was vetted ({@link vettedKeys}: a route's keys, which no caller can change while they are asked).
 */
export function nameableKeys(keys: readonly string[]): readonly string[] {
  if (vetted.has(keys)) return keys;
  return [...new Set(keys)].filter(canNameFlag);
}

/**
 * Whether `key` can name a PostHog flag: a string of at most {@link MAX_FLAG_KEY_LENGTH} characters, well-formed.
 * Keys come from outside (a route like `GET /features/:key`, or untyped JavaScript handing a snapshot `undefined`);
 * one that cannot is never asked of PostHog, never remembered, never sent as an exposure, and reads as unknown.
 */
export function canNameFlag(key: unknown): key is string {
  return typeof key === 'string' && !isOverlongFlagKey(key) && !hasLoneSurrogate(key);
}
