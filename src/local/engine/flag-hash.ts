import { hash } from 'node:crypto';

/** PostHog's `0xfffffffffffffff` (15 hex digits) as a double, which rounds it to 2^60, in every SDK. */
const LONG_SCALE = 2 ** 60;

/**
 * PostHog's bucketing hash: a float in [0, 1) from SHA-1 of `{key}{separator}{bucketingValue}{salt}`, the same in
 * every SDK (posthog-node hashes with WebCrypto; `node:crypto` gives the same digest, synchronously: its one-shot
 * `hash()`, a third of the cost of a `Hash` object, which matters because every rollout is a hash).
 */
export function flagHash(key: string, bucketingValue: string, salt = '', separator = '.'): number {
  const digest = hash('sha1', `${key}${separator}${bucketingValue}${salt}`, 'hex');
  return parseInt(digest.slice(0, 15), 16) / LONG_SCALE;
}
