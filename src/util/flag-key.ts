import { kindOf } from './kind-of.js';

/** The longest flag key PostHog has (its own bound): a longer key names no flag. */
export const MAX_FLAG_KEY_LENGTH = 400;

/**
 * A UTF-16 code unit that is half of a pair without its other half (with `u`, a whole pair is one code point): such
 * a key cannot be percent-encoded, nor name a Redis key of its own (UTF-8 turns every one into U+FFFD).
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Whether `key` is longer than {@link MAX_FLAG_KEY_LENGTH}. */
export function isOverlongFlagKey(key: string): boolean {
  return key.length > MAX_FLAG_KEY_LENGTH;
}

/** Whether `text` (a flag key, a distinct id) holds a lone surrogate: it is not well-formed UTF-16. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
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

/**
 * Checks that `keys` is an array (untyped JavaScript may hand a single key, whose characters would be read as keys).
 * @throws {TypeError} naming `where` and what `keys` is instead.
 */
export function assertKeyList(where: string, keys: unknown): asserts keys is readonly unknown[] {
  if (!Array.isArray(keys)) throw new TypeError(`${where}: keys must be an array of flag keys, got ${kindOf(keys)}`);
}

/** How many keys {@link listedKeys} names, and how many characters of each. */
const LISTED_KEYS = 10;
const LISTED_KEY_LENGTH = 100;

/**
 * Keys from outside as a log line may name them: the first {@link LISTED_KEYS}, each as JSON (quoted, a line break
 * escaped) cut to {@link LISTED_KEY_LENGTH} characters, and how many more there are. A key that is not a string is
 * named by its kind only.
 */
export function listedKeys(keys: readonly unknown[]): string {
  const named = keys.slice(0, LISTED_KEYS).map((key) => {
    if (typeof key !== 'string') return `(${kindOf(key)})`;
    const cut = key.length > LISTED_KEY_LENGTH ? `${key.slice(0, LISTED_KEY_LENGTH)}…` : key;
    return JSON.stringify(cut);
  });
  const more = keys.length - named.length;
  return more > 0 ? `${named.join(', ')} and ${more} more` : named.join(', ');
}
