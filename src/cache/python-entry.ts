import type { EvaluatedFlag } from '../flags.types.js';
import { isRecord } from '../util/is-record.js';
import type { CachedFlag } from './flag-cache.js';
import { deepFreeze } from '../util/deep-freeze.js';
import { jsonText } from '../util/json-text.js';

/**
 * The fallback-cache entry format of PostHog's Python SDK (posthog-python ≥ 7.37.1), which this module
 * reads and writes so that Python and Nest services can share one Redis fallback cache.
 */
export interface PythonCacheEntry {
  flag_result: {
    key: string;
    enabled: boolean;
    variant: string | null;
    payload: unknown;
    reason: string | null;
  };
  /**
   * posthog-python's own counter of its process's definition reloads (0, 1, 2, ...), which it matches to delete
   * entries when its definitions change. This module writes {@link NEVER_A_PYTHON_COUNTER} there and never reads it.
   */
  flag_version: number;
  /** Unix time in seconds (a float), when the result was evaluated. */
  timestamp: number;
  flag_result_type: 'FeatureFlagResult';
  flag_result_schema_version: 1;
  /**
   * This module's addition (the Python reader ignores extra top-level keys): the fingerprint of the context the
   * result was evaluated for, so that the `fresh` window answers only the same context. Python's entries have none.
   */
  context_hash?: string;
  /** This module's addition: the flag's id in PostHog, for exposure events answered from the cache. */
  flag_id?: number;
  /** This module's addition: the flag's version in PostHog, for exposure events answered from the cache. */
  posthog_flag_version?: number;
  /** This module's addition: whether an experiment uses the flag, for exposure events answered from the cache. */
  has_experiment?: boolean;
}

/**
 * The `flag_version` this module writes. posthog-python's counter starts at 0 and only grows by 1, and its
 * `invalidate_version(old)` deletes an entry when `flag_version == old`: no Python process ever matches -1, so it
 * never deletes this module's entries (except `clear()`, on a 401 or 402 from its definitions poll).
 */
export const NEVER_A_PYTHON_COUNTER = -1;

/** Entries larger than this are not read (a miss): no fallback is worth parsing megabytes for. */
export const MAX_ENTRY_BYTES = 256 * 1024;

/** The exact key set of `flag_result` that the Python reader accepts. */
const RESULT_KEYS = ['enabled', 'key', 'payload', 'reason', 'variant'];

/**
 * Serialises a flag as the Python SDK writes it, plus the fingerprint of the context it was evaluated for; a payload
 * of any depth (written with a stack of its own, see {@link jsonText}).
 */
export function encodePythonEntry(flag: EvaluatedFlag, context?: string): string {
  const entry: PythonCacheEntry = {
    flag_result: {
      key: flag.key,
      enabled: flag.enabled,
      variant: flag.variant ?? null,
      payload: flag.payload ?? null,
      reason: flag.reason ?? null,
    },
    flag_version: NEVER_A_PYTHON_COUNTER,
    timestamp: flag.evaluatedAt.getTime() / 1000,
    flag_result_type: 'FeatureFlagResult',
    flag_result_schema_version: 1,
    ...(context === undefined ? {} : { context_hash: context }),
    ...(flag.id === undefined ? {} : { flag_id: flag.id }),
    ...(flag.version === undefined ? {} : { posthog_flag_version: flag.version }),
    ...(flag.hasExperiment === undefined ? {} : { has_experiment: flag.hasExperiment }),
  };
  return jsonText(entry);
}

/**
 * Reads an entry stored for `flagKey`, accepting exactly what the Python reader accepts; anything else
 * (not JSON, another shape or schema version, another flag's entry, oversized) is `undefined`, a miss.
 */
export function decodePythonEntry(raw: string | null | undefined, flagKey: string): CachedFlag | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_ENTRY_BYTES) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isEntry(entry) || entry.flag_result.key !== flagKey) return undefined;
  const { enabled, variant, payload, reason } = entry.flag_result;
  return {
    key: flagKey,
    enabled,
    ...(variant === null ? {} : { variant }),
    ...(payload === null ? {} : { payload: deepFreeze(payload) }),
    ...(reason === null ? {} : { reason }),
    evaluatedAt: new Date(entry.timestamp * 1000),
    ...(typeof entry.context_hash === 'string' ? { context: entry.context_hash } : {}),
    ...(Number.isSafeInteger(entry.flag_id) ? { id: entry.flag_id } : {}),
    ...(Number.isSafeInteger(entry.posthog_flag_version) ? { version: entry.posthog_flag_version } : {}),
    ...(typeof entry.has_experiment === 'boolean' ? { hasExperiment: entry.has_experiment } : {}),
  };
}

function isEntry(value: unknown): value is PythonCacheEntry {
  if (!isRecord(value) || !('flag_version' in value)) return false;
  if (value.flag_result_type !== 'FeatureFlagResult' || value.flag_result_schema_version !== 1) return false;
  if (typeof value.timestamp !== 'number' || !Number.isFinite(value.timestamp)) return false;
  const result = value.flag_result;
  if (!isRecord(result) || Object.keys(result).sort().join() !== RESULT_KEYS.join()) return false;
  return (
    typeof result.key === 'string' &&
    typeof result.enabled === 'boolean' &&
    (result.variant === null || typeof result.variant === 'string') &&
    (result.reason === null || typeof result.reason === 'string')
  );
}
