import { createHash } from 'node:crypto';

/** PostHog's `0xfffffffffffffff` (15 hex digits) as a double, which rounds it to 2^60, in every SDK. */
const LONG_SCALE = 2 ** 60;

/**
 * PostHog's bucketing hash: a float in [0, 1) from SHA-1 of `{key}{separator}{bucketingValue}{salt}`, the same in
 * every SDK (posthog-node hashes with WebCrypto; `node:crypto` gives the same digest, synchronously).
 */
export function flagHash(key: string, bucketingValue: string, salt = '', separator = '.'): number {
  const digest = createHash('sha1').update(`${key}${separator}${bucketingValue}${salt}`).digest('hex');
  return parseInt(digest.slice(0, 15), 16) / LONG_SCALE;
}
