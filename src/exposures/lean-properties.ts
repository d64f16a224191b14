/**
 * Our property on a `$feature_flag_called` whose value was not freshly evaluated: `fallback`, `cache` or
 * `stale_definitions` (see docs/exposures.md). Kept in lean events: PostHog must be able to tell them apart.
 */
export const SERVED_FROM = 'feature_flag_served_from';

/**
 * The properties a lean `$feature_flag_called` keeps: posthog-node 5.70's `MINIMAL_FLAG_CALLED_EVENT_PROPERTIES`
 * (`@posthog/core`) that this module may set, and {@link SERVED_FROM}.
 */
const LEAN_KEYS: readonly string[] = [
  '$feature_flag',
  '$feature_flag_response',
  '$feature_flag_has_experiment',
  '$feature_flag_id',
  '$feature_flag_version',
  '$feature_flag_reason',
  '$feature_flag_request_id',
  '$feature_flag_evaluated_at',
  '$feature_flag_error',
  'locally_evaluated',
  '$groups',
  '$geoip_disable',
  '$lib',
  '$lib_version',
  SERVED_FROM,
];

/**
 * The properties as posthog-node's `minimizeFlagCalledEventProperties` leaves them (`$feature/<key>` and
 * `$feature_flag_definitions_loaded_at` go), our {@link SERVED_FROM} kept.
 */
export function leanProperties(properties: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const lean: Record<string, unknown> = {};
  for (const key of LEAN_KEYS) if (Object.hasOwn(properties, key)) lean[key] = properties[key];
  return lean;
}
