/** A flag's value as PostHog reports it: the variant when the flag is multivariate, else whether it is on. */
export type FlagValue = boolean | string;

/** Where a {@link FlagResult} came from. */
export type FlagSource =
  /** Evaluated in-process from the flag definitions (local evaluation), without a call. */
  | 'local'
  /** Evaluated by PostHog's `/flags` API for this call. */
  | 'remote'
  /** PostHog could not answer; this is the last result it gave for this user, from the fallback cache. */
  | 'fallback'
  /**
   * Answered from the cache without waiting for PostHog: the result is younger than the cache URL's `fresh`, or
   * younger than twice that while one upstream call refreshes it behind the answer.
   */
  | 'cache'
  /** Fixed by the module option `overrides` (or `POSTHOG_FLAG_OVERRIDES`), or by `FlagsTestingModule`. */
  | 'override';

/** Who a flag is evaluated for: PostHog's distinct id plus optional groups and properties. */
export interface FlagContext {
  /** The user's distinct id; any non-empty string. */
  distinctId: string;
  /**
   * The device id, for flags PostHog buckets by device (`bucketing_identifier: device_id`): sent as the person
   * property `$device_id` and as the `/flags` body's top-level `$device_id`, as posthog-node does.
   */
  deviceId?: string;
  /** Group memberships, `{ groupType: groupKey }`. */
  groups?: Record<string, string>;
  /** Person properties used by release conditions, `{ name: value }`. */
  personProperties?: Record<string, unknown>;
  /** Group properties, `{ groupType: { name: value } }`. */
  groupProperties?: Record<string, Record<string, unknown>>;
}

/** A flag evaluation as stored and served: what PostHog said, and when it said it. */
export interface EvaluatedFlag {
  /** The flag key. */
  key: string;
  /** Whether the flag is on for the user. */
  enabled: boolean;
  /** The variant, for a multivariate flag that matched one. */
  variant?: string;
  /** The flag's payload, already parsed from PostHog's JSON string. */
  payload?: unknown;
  /** PostHog's description of why the flag evaluated as it did. */
  reason?: string;
  /**
   * PostHog's code for that reason (`condition_match`, `no_condition_match`, `out_of_rollout_bound`,
   * `flag_disabled`, ...), when PostHog's `/flags` said it; not kept by the Redis cache (PostHog's Python format).
   */
  reasonCode?: string;
  /** The flag's id in PostHog, when PostHog said it. */
  id?: number;
  /** The version of the flag's definition that was evaluated, when PostHog said it. */
  version?: number;
  /**
   * Whether an experiment uses the flag, when PostHog said it (`/flags` metadata `has_experiment`, or the flag
   * definition's): sent as `$feature_flag_has_experiment`; a flag without one gets lean exposures when PostHog asks.
   */
  hasExperiment?: boolean;
  /** When PostHog produced this evaluation. */
  evaluatedAt: Date;
}

/** One flag's answer for one user, with the place it came from. */
export interface FlagResult extends EvaluatedFlag {
  /**
   * `local` when evaluated from the flag definitions, `remote` when PostHog answered this call, `fallback` when the
   * fallback cache did, `cache` in the `fresh` window, `override` when an override fixed it.
   */
  source: FlagSource;
  /** PostHog's id of the request that answered, for a result PostHog gave to this call (`remote`). */
  requestId?: string;
}

/** The value a result stands for: its variant when it has one, else `enabled`. */
export function flagValue(result: EvaluatedFlag): FlagValue {
  return result.variant ?? result.enabled;
}

/** What posthog-js takes as `bootstrap`, so that a server-rendered page does not ask for its flags again. */
export interface PostHogBootstrap {
  distinctID: string;
  /** Every known flag's value: its variant, else whether it is on. */
  featureFlags: Record<string, FlagValue>;
  /** The payloads, parsed, of the flags that have one. */
  featureFlagPayloads: Record<string, unknown>;
}
