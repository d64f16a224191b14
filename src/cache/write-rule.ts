import type { EvaluatedFlag } from '../flags.types.js';
import { jsonText } from '../util/json-text.js';
import type { CacheConfig } from './cache-config.js';

/**
 * How old a written entry may get before an unchanged result is written again: half of the shortest window it
 * serves (`ttl`, or `fresh` when set), so that an entry read now and then never expires, nor leaves the `fresh`
 * window, while its flag keeps being evaluated.
 */
export function refreshAfterMs({ ttlSeconds, freshSeconds }: Pick<CacheConfig, 'ttlSeconds' | 'freshSeconds'>): number {
  return (freshSeconds > 0 ? Math.min(freshSeconds, ttlSeconds) : ttlSeconds) * 500;
}

/**
 * A compact digest of what an entry of `flag` evaluated for `context` stores (everything but its time): equal for
 * two results written alike. A 30-bit FNV-1a hash, so that it is a small integer V8 keeps without allocating.
 */
export function resultDigest(flag: EvaluatedFlag, context: string): number {
  let hash = 0x811c9dc5;
  hash = mix(hash, flag.enabled ? '1' : '0');
  hash = mix(hash, flag.variant ?? '\u0000');
  hash = mix(hash, flag.reason ?? '\u0000');
  hash = mix(hash, context);
  hash = mix(hash, flag.id === undefined ? '\u0000' : String(flag.id));
  hash = mix(hash, flag.version === undefined ? '\u0000' : String(flag.version));
  hash = mix(hash, flag.hasExperiment === undefined ? '\u0000' : String(flag.hasExperiment));
  hash = mix(hash, payloadText(flag.payload));
  return hash >>> 2;
}

/** Whether a stored entry (`stored`, written for `storedContext`) already says what `flag` for `context` would. */
export function sameEntry(stored: EvaluatedFlag & { context?: string }, flag: EvaluatedFlag, context: string): boolean {
  return (
    stored.enabled === flag.enabled &&
    stored.variant === flag.variant &&
    stored.reason === flag.reason &&
    stored.context === context &&
    stored.id === flag.id &&
    stored.version === flag.version &&
    stored.hasExperiment === flag.hasExperiment &&
    (stored.payload === flag.payload || payloadText(stored.payload) === payloadText(flag.payload))
  );
}

/** The payload as the entry writes it (`\u0000` for none): a string as it is, anything else as JSON. */
function payloadText(payload: unknown): string {
  if (payload === undefined || payload === null) return '\u0000';
  return typeof payload === 'string' ? `"${payload}` : jsonText(payload);
}

/** The FNV-1a hash `hash` continued with `text` and a separator. */
function mix(hash: number, text: string): number {
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return Math.imul(hash ^ 0xff, 0x01000193);
}
