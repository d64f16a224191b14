import type { Redis } from 'ioredis';

/** How a replay of posthog-python's `invalidate_version` ended. */
export type InvalidationEnd = 'complete' | 'aborted';

/**
 * posthog-python's `RedisFlagCache.invalidate_version(old_version)` (posthog/utils.py, 7.42.0), step by step:
 * SCAN `{prefix}*` 100 at a time, skip `{prefix}version`, GET each key, delete it when its JSON's `flag_version`
 * equals `oldVersion` under Python's `==`, or when it is not JSON at all. Any other error (a GET of a key that is
 * not a string, `.get` on JSON that is not an object) ends the whole scan silently (`except Exception: pass`):
 * the result says whether that happened.
 */
export async function invalidateVersion(redis: Redis, keyPrefix: string, oldVersion: number): Promise<InvalidationEnd> {
  const versionKey = `${keyPrefix}version`;
  let cursor = '0';
  try {
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 100);
      cursor = next;
      for (const key of keys) {
        if (key !== versionKey) await invalidateKey(redis, key, oldVersion);
      }
    } while (cursor !== '0');
    return 'complete';
  } catch {
    return 'aborted';
  }
}

/** One key of the scan: `_delete_keys_with_version`'s body. */
async function invalidateKey(redis: Redis, key: string, oldVersion: number): Promise<void> {
  const data = await redis.get(key);
  if (!data) return;
  let entry: unknown;
  try {
    entry = JSON.parse(data);
  } catch {
    await redis.del(key); // "If we can't parse the entry, delete it to be safe"
    return;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new TypeError('AttributeError: get');
  if (pythonEquals((entry as { flag_version?: unknown }).flag_version, oldVersion)) await redis.del(key);
}

/**
 * Python's `value == old_version` for a value from `json.loads` and an int counter: numbers compare by value
 * (`1.0 == 1`), booleans as 0 and 1 (`True == 1`), anything else (None, str, list, dict) is never equal.
 */
export function pythonEquals(value: unknown, oldVersion: number): boolean {
  if (typeof value === 'number') return value === oldVersion;
  if (typeof value === 'boolean') return Number(value) === oldVersion;
  return false;
}

/** The five fields of posthog-python's `FeatureFlagResult` dataclass, which `FeatureFlagResult(**flag_result)` needs. */
const RESULT_FIELDS = ['enabled', 'key', 'payload', 'reason', 'variant'].join();

/**
 * posthog-python's `RedisFlagCache.get_stale_cached_flag` over one raw value (`_deserialize_entry`, then
 * `is_stale_but_usable` with its 3600 s window): the `flag_result` it would serve, or `undefined` for a miss.
 */
export function readAsPython(raw: string, nowSeconds = Date.now() / 1000): Record<string, unknown> | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const result = entry.flag_result;
  if (!('flag_result' in entry) || !('flag_version' in entry) || !('timestamp' in entry)) return undefined;
  if (entry.flag_result_type === 'FeatureFlagResult') {
    if (entry.flag_result_schema_version !== 1) return undefined;
    if (typeof result !== 'object' || result === null || Object.keys(result).sort().join() !== RESULT_FIELDS) {
      return undefined;
    }
  }
  if (typeof entry.timestamp !== 'number' || nowSeconds - entry.timestamp >= 3600) return undefined;
  return result as Record<string, unknown>;
}
