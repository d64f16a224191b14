/** The longest flag key accepted: PostHog's own bound on a flag key. */
export const MAX_REMOTE_CONFIG_KEY_LENGTH = 400;

/** A UTF-16 code unit that is half of a pair without its other half: such a key cannot be percent-encoded. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Checks a flag key given to `getRemoteConfigPayload`: it goes into a URL path (percent-encoded) and a cache key.
 * The message never repeats the key.
 * @throws {TypeError} for a key that is not a non-empty string, is longer than 400 characters, or holds a lone
 * surrogate.
 */
export function assertRemoteConfigKey(key: unknown): asserts key is string {
  const what = 'FlagsService.getRemoteConfigPayload: key';
  if (typeof key !== 'string' || key === '') throw new TypeError(`${what} must be a non-empty string`);
  if (key.length > MAX_REMOTE_CONFIG_KEY_LENGTH) {
    throw new TypeError(`${what} is longer than ${MAX_REMOTE_CONFIG_KEY_LENGTH} characters (${key.length})`);
  }
  if (LONE_SURROGATE.test(key)) throw new TypeError(`${what} is not well-formed UTF-16 (a lone surrogate)`);
}
