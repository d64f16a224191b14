import { isRecord } from '../util/is-record.js';
import { jsonText } from '../util/json-text.js';

/**
 * The last answer PostHog gave for a flag's remote config payload, as the fallback cache keeps it: an entry of
 * this module's own, never in posthog-python's format (see docs/cache-urls.md).
 */
export interface RemoteConfigEntry {
  /** The payload as `getRemoteConfigPayload` returns it; absent when PostHog said the flag has none (`404`). */
  payload?: unknown;
  /** When PostHog answered, in milliseconds since the epoch (wall time: written out, compared with `ttl`). */
  savedAt: number;
}

/**
 * The stored form of an entry for `flagKey`: `{"remote_config_key": …, "payload": …, "saved_at": <Unix seconds>}`,
 * a JSON object with no `flag_version` (posthog-python's invalidation scan reads it, compares `None` with its
 * counter, and leaves it), and without the fields Python's reader needs (`flag_result`, `flag_version`). `undefined`
 * when its text would be longer than `maxLength`: such a payload is not kept.
 */
export function encodeRemoteConfigEntry(
  flagKey: string,
  entry: RemoteConfigEntry,
  maxLength: number,
): string | undefined {
  const stored: Record<string, unknown> = { remote_config_key: flagKey, saved_at: entry.savedAt / 1000 };
  if ('payload' in entry) stored.payload = entry.payload;
  try {
    return jsonText(stored, maxLength);
  } catch {
    return undefined;
  }
}

/**
 * The entry stored as `raw` for `flagKey`, when it is one of ours for that key, at most `maxLength` long, and
 * younger than `ttlSeconds`; anything else (not JSON, another shape, another key, too old) is a miss, never an error.
 * The payload is parsed afresh on each read: no caller sees another's changes to it.
 */
export function decodeRemoteConfigEntry(
  raw: unknown,
  flagKey: string,
  ttlSeconds: number,
  maxLength: number,
  now = Date.now(),
): RemoteConfigEntry | undefined {
  if (typeof raw !== 'string' || raw.length > maxLength) return undefined;
  let stored: unknown;
  try {
    stored = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isRecord(stored) || !Object.hasOwn(stored, 'remote_config_key') || stored.remote_config_key !== flagKey) {
    return undefined;
  }
  const savedAt = Object.hasOwn(stored, 'saved_at') ? stored.saved_at : undefined;
  if (typeof savedAt !== 'number' || !Number.isFinite(savedAt)) return undefined;
  if (now - savedAt * 1000 >= ttlSeconds * 1000) return undefined;
  return Object.hasOwn(stored, 'payload')
    ? { payload: stored.payload, savedAt: savedAt * 1000 }
    : { savedAt: savedAt * 1000 };
}
