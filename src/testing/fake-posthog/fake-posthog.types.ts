import type { IncomingHttpHeaders } from 'node:http';

/** A flag's value: `true` or `false`, or a variant (a string; the flag is on). */
export type FakeFlagValue = boolean | string;

/** A flag's full answer: its value, and what PostHog sends beside it. */
export interface FakeFlagAnswer {
  /** `true`, `false`, or a variant (the flag is on). */
  value: FakeFlagValue;
  /** Any JSON value; sent as PostHog does, as a JSON string in `metadata.payload`. Only for a flag that is on. */
  payload?: unknown;
  /**
   * PostHog's reason code (`condition_match`, `no_condition_match`, `flag_disabled`, ...).
   * @default 'condition_match' when on, 'no_condition_match' when off
   */
  reason?: string;
  /**
   * PostHog could not evaluate the flag: it comes back `enabled: false, failed: true` with
   * `errorsWhileComputingFlags: true`, as newer servers send it.
   * @default false
   */
  failed?: boolean;
}

/** Who a `/flags` request evaluates for: the fields of its body a {@link FakeFlagRule} may look at. */
export interface FakeFlagContext {
  /** `distinct_id`. */
  distinctId: string;
  /** `groups`: group type to group key. */
  groups: Readonly<Record<string, unknown>>;
  /** `person_properties`. */
  personProperties: Readonly<Record<string, unknown>>;
  /** `group_properties`: group type to its properties. */
  groupProperties: Readonly<Record<string, unknown>>;
}

/**
 * A flag's value computed for each request; `undefined` means off for that context. A rule that throws makes the
 * fake answer `500`, naming the flag.
 */
export type FakeFlagRule = (context: FakeFlagContext) => FakeFlagValue | FakeFlagAnswer | undefined;

/** What `FakePostHog.setFlag` takes: a value, a full answer, or a rule. */
export type FakeFlagSetting = FakeFlagValue | FakeFlagAnswer | FakeFlagRule;

/**
 * How the fake fails, for every endpoint, until `setOutage(undefined)`:
 * - `down`: it stops listening; connections are refused (on the same port once it is back).
 * - `hanging`: it accepts requests and never answers (`close()` still ends them at once).
 * - `quota-limited`: `/flags` answers `200` with `"flags": {}` and `"quotaLimited": ["feature_flags"]`,
 *   `/flags/definitions` and remote config answer `402` `{"type": "quota_limited"}`; `/batch/` still accepts events.
 * - a number: that HTTP status with a JSON body (`500`, `503`, ...); `429` carries `Retry-After`.
 */
export type FakeOutage = 'down' | 'hanging' | 'quota-limited' | number;

/** A `/flags` request the fake received. */
export interface FakeFlagsRequest {
  /** The request's path and query (`/flags/?v=2`). */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body's `distinct_id` (`''` when absent). */
  distinctId: string;
  /** The parsed JSON body: `token`, `distinct_id`, `flag_keys_to_evaluate`, `person_properties`, ... */
  body: FakeFlagsRequestBody;
}

/** The JSON body of a `/flags` request, as far as the fake reads it. */
export interface FakeFlagsRequestBody {
  token?: string;
  distinct_id?: string;
  flag_keys_to_evaluate?: string[];
  [field: string]: unknown;
}

/** One event of a `/batch/` request (`$feature_flag_called` for an exposure). */
export interface FakeEvent {
  event: string;
  distinct_id: string;
  properties: Record<string, unknown>;
  timestamp?: string;
  uuid?: string;
}

/** A `/batch/` request the fake accepted, its (gzipped) JSON body decoded. */
export interface FakeBatch {
  headers: IncomingHttpHeaders;
  body: { api_key: string; batch: FakeEvent[]; sent_at?: string };
}

/** A `/flags/definitions` request the fake received. */
export interface FakeDefinitionsRequest {
  /** The request's path and query (`/flags/definitions?token=...&send_cohorts`). */
  url: string;
  headers: IncomingHttpHeaders;
}

/** What `FakePostHog.setOutage` takes besides the outage. */
export interface FakeOutageOptions {
  /**
   * The `Retry-After` header of a `429` or `503` outage, in seconds.
   * @default 60
   */
  retryAfterSeconds?: number;
}
