import { kindOf } from '../util/kind-of.js';
import { assertKeyList } from '../util/flag-key.js';

/** What {@link FlagsService.evaluateFlags} takes besides the context. */
export interface EvaluateFlagsOptions {
  /** Only these flags (every flag when not given): one `/flags` call asks only these. */
  flagKeys?: readonly string[];
  /**
   * Only what the flag definitions decide (local evaluation): nothing is asked of PostHog or the cache. Default:
   * the module's `localEvaluation.onlyLocal`.
   */
  onlyLocal?: boolean;
  /** Whether the snapshot's reads send `$feature_flag_called` when a read does not say. Default: the module's. */
  sendFeatureFlagEvents?: boolean;
  /**
   * Sent to PostHog as `geoip_disable`, and as `$geoip_disable: true` on the snapshot's events when true. Given, the
   * call gets an evaluation of its own (not the request's). Default: the module's `disableGeoip`.
   */
  disableGeoip?: boolean;
}

/** @throws {TypeError} naming the option that is not what {@link EvaluateFlagsOptions} says. */
export function assertEvaluateFlagsOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`FlagsService.evaluateFlags: options must be an object, got ${kindOf(options)}`);
  }
  const { flagKeys, onlyLocal, sendFeatureFlagEvents, disableGeoip } = options as EvaluateFlagsOptions;
  if (flagKeys !== undefined) assertFlagKeys('FlagsService.evaluateFlags: flagKeys', flagKeys);
  for (const [name, value] of [
    ['onlyLocal', onlyLocal],
    ['sendFeatureFlagEvents', sendFeatureFlagEvents],
    ['disableGeoip', disableGeoip],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TypeError(`FlagsService.evaluateFlags: ${name} must be a boolean, got ${kindOf(value)}`);
    }
  }
}

/** @throws {TypeError} for keys that are not an array of non-empty strings. */
export function assertFlagKeys(what: string, keys: unknown): void {
  assertKeyList(what, keys);
  keys.forEach(assertFlagKey);
}

/** @throws {TypeError} for a key that is not a non-empty string. */
export function assertFlagKey(key: unknown): void {
  if (typeof key !== 'string' || key === '') throw new TypeError('FlagsService: key must be a non-empty string');
}
