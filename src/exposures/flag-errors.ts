import type { FlagResult } from '../flags.types.js';
import type { UpstreamFailureReason } from '../pipeline/upstream-error.js';

/**
 * What an evaluation's exposures say in `$feature_flag_error`, besides a flag it has no result for: PostHog's
 * words (posthog-node's `FeatureFlagError`, posthog-python's).
 */
export interface FlagErrors {
  /**
   * For every read of the evaluation, as posthog-node's snapshot: `errors_while_computing_flags` (PostHog said its
   * answer was incomplete), `quota_limited` (the project is over its flag quota).
   */
  readonly answer: readonly string[];
  /**
   * Why PostHog could not answer, for a read of a result the fallback cache served instead, as posthog-python's
   * fallback: `timeout`, `connection_error`, `api_error_<status>`, `quota_limited`, `unknown_error`.
   */
  readonly failure?: string;
}

/** The errors of an answer PostHog gave: `errors_while_computing_flags` when incomplete; none else. */
export function answerErrors(incomplete: boolean): FlagErrors | undefined {
  return incomplete ? INCOMPLETE : undefined;
}

/**
 * The errors of a call that failed for `reason` (`quota_limited` then applies to every read, as posthog-node): the
 * same frozen object for the same tag, so that an outage's answers can be shared (see `UpstreamStage`).
 */
export function failureErrors(reason: UpstreamFailureReason | undefined): FlagErrors {
  if (reason === 'quota_limited') return QUOTA_LIMITED;
  const failure = failureTag(reason);
  let errors = FAILURES.get(failure);
  if (!errors) FAILURES.set(failure, (errors = Object.freeze({ answer: NO_TAGS, failure })));
  return errors;
}

/**
 * The `$feature_flag_error` tag of a failure, in PostHog's SDKs' words: `timeout`; `connection_error` for the
 * network's failures (refused, reset, DNS, TLS); `api_error_<status>` for an HTTP status; `quota_limited`;
 * `unknown_error` for the rest (a body that is not a flags answer, one too large, a call not made: circuit open,
 * overloaded, shutting down), as posthog-node's `categorizeRequestError`.
 */
export function failureTag(reason: UpstreamFailureReason | undefined): string {
  if (reason === undefined) return 'unknown_error';
  if (reason === 'timeout' || reason === 'quota_limited') return reason;
  if (reason.startsWith('http_')) return `api_error_${reason.slice('http_'.length)}`;
  return NETWORK.has(reason) ? 'connection_error' : 'unknown_error';
}

/**
 * The read's `$feature_flag_error`: the answer's tags, the failure's for a result from the fallback, then
 * `missing` when there is no result; comma-separated as posthog-node joins them; `undefined` when none.
 */
export function errorProperty(
  errors: FlagErrors | undefined,
  result: FlagResult | undefined,
  missing: string,
): string | undefined {
  const tags = new Set(errors?.answer);
  if (result?.source === 'fallback' && errors?.failure !== undefined) tags.add(errors.failure);
  if (!result) tags.add(missing);
  return tags.size > 0 ? [...tags].join(',') : undefined;
}

/** No tag for every read. */
const NO_TAGS: readonly string[] = Object.freeze([]);
/**
 * The errors of each failure's tag, made once: a handful of tags (`api_error_<status>`'s statuses are HTTP's three
 * digits), however many calls fail.
 */
const FAILURES = new Map<string, FlagErrors>();
const INCOMPLETE: FlagErrors = Object.freeze({ answer: Object.freeze(['errors_while_computing_flags']) });
const QUOTA_LIMITED: FlagErrors = Object.freeze({ answer: Object.freeze(['quota_limited']), failure: 'quota_limited' });

/** The failures of the network, below HTTP. */
const NETWORK: ReadonlySet<UpstreamFailureReason> = new Set<UpstreamFailureReason>([
  'connection_refused',
  'connection_reset',
  'dns',
  'tls',
  'network',
]);
