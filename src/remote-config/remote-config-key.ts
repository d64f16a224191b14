import { hasLoneSurrogate, isOverlongFlagKey, MAX_FLAG_KEY_LENGTH } from '../util/flag-key.js';

/**
 * Checks a flag key given to `getRemoteConfigPayload`: it goes into a URL path (percent-encoded) and a cache key.
 * The message never repeats the key.
 * @throws {TypeError} for a key that is not a non-empty string, is longer than 400 characters, or holds a lone
 * surrogate.
 */
export function assertRemoteConfigKey(key: unknown): asserts key is string {
  const what = 'FlagsService.getRemoteConfigPayload: key';
  if (typeof key !== 'string' || key === '') throw new TypeError(`${what} must be a non-empty string`);
  if (isOverlongFlagKey(key)) {
    throw new TypeError(`${what} is longer than ${MAX_FLAG_KEY_LENGTH} characters (${key.length})`);
  }
  if (hasLoneSurrogate(key)) throw new TypeError(`${what} is not well-formed UTF-16 (a lone surrogate)`);
}
