import { LIBRARY_NAME, LIBRARY_VERSION } from '../flags.constants.js';
import { setOwn } from '../util/own.js';
import { flagValue, type FlagContext, type FlagResult, type FlagValue } from '../flags.types.js';
import { errorProperty, type FlagErrors } from './flag-errors.js';
import { leanProperties, SERVED_FROM } from './lean-properties.js';

/** One `$feature_flag_called` to send (unless already sent for this user, flag, value and groups). */
export interface FlagCalled {
  key: string;
  /** The value read; `undefined` when the flag was not known. */
  response: FlagValue | undefined;
  /** The result read, when known: the same object on every read of a user's unchanged result (see `ExposureQueue`). */
  result?: FlagResult;
  /**
   * The event's properties, built when it is sent: most reads repeat one already sent for the user, and are
   * dropped on `key` and `response` alone.
   */
  properties(): Record<string, unknown>;
}

/** How a flag that was read without a result is reported (`$feature_flag_error`, posthog-node's words). */
export type MissingFlag = 'flag_missing' | 'local_evaluation_inconclusive';

/** How a read's event is told apart beyond its flag and result. */
export interface ReadCircumstances {
  /** Why there is no result, when there is none. */
  missing: MissingFlag;
  /** Whether the evaluation asked PostHog for no GeoIP: the event carries `$geoip_disable: true`, as posthog-node's. */
  geoipDisabled: boolean;
  /** What the evaluation's answer says in `$feature_flag_error`, when it says anything. */
  errors?: FlagErrors;
}

/**
 * The event for reading `key` (its `result`, or none: `circumstances.missing` says why), with the properties
 * posthog-node's snapshot sets; what is not known is left out. `$feature_flag_request_id` only for an answer PostHog gave to this
 * call; `locally_evaluated` only for a `local` result, which was evaluated now and, as in posthog-node, carries
 * no `$feature_flag_version`. A result not freshly evaluated carries {@link SERVED_FROM}; lean when PostHog asks.
 */
export function flagCalled(
  context: FlagContext,
  key: string,
  result: FlagResult | undefined,
  circumstances: ReadCircumstances,
  host: FlagCalledHost,
): FlagCalled {
  return new CalledOnRead(context, key, result, circumstances, host);
}

/** What the module knows of the definitions and PostHog's wishes when an event is built. */
export interface FlagCalledHost {
  /** When the flag definitions were loaded (ms since the epoch), for a `local` result's event. */
  definitionsLoadedAt(): number | undefined;
  /** Whether the definitions in force are stale (`status().definitions.stale`): a `local` result's event says so. */
  definitionsStale(): boolean;
  /** Whether PostHog asked for lean exposures (`minimal_flag_called_events`, see `LeanExposures`). */
  leanExposures(): boolean;
}

/**
 * A read's {@link FlagCalled}: one object per read (most are dropped as already sent), its response and properties
 * made only when asked.
 */
class CalledOnRead implements FlagCalled {
  constructor(
    private readonly context: FlagContext,
    readonly key: string,
    readonly result: FlagResult | undefined,
    private readonly circumstances: ReadCircumstances,
    private readonly host: FlagCalledHost,
  ) {}

  get response(): FlagValue | undefined {
    return this.result && flagValue(this.result);
  }

  properties(): Record<string, unknown> {
    const { context, key, result, circumstances, host } = this;
    const properties = calledProperties(context, key, result, this.response, circumstances, host);
    // posthog-node minimises only an event that says `$feature_flag_has_experiment: false`.
    return host.leanExposures() && result?.hasExperiment === false ? leanProperties(properties) : properties;
  }
}

/** The properties of the event of {@link flagCalled}, in full. */
function calledProperties(
  context: FlagContext,
  key: string,
  result: FlagResult | undefined,
  response: FlagValue | undefined,
  { missing, geoipDisabled, errors }: ReadCircumstances,
  host: FlagCalledHost,
): Record<string, unknown> {
  const local = result?.source === 'local';
  const properties: Record<string, unknown> = {
    $feature_flag: key,
    locally_evaluated: local,
    $lib: LIBRARY_NAME,
    $lib_version: LIBRARY_VERSION,
  };
  if (response !== undefined) {
    properties.$feature_flag_response = response;
    setOwn(properties, `$feature/${key}`, response);
  }
  if (result?.id !== undefined) properties.$feature_flag_id = result.id;
  if (result?.version !== undefined && !local) properties.$feature_flag_version = result.version;
  if (result?.reason !== undefined) properties.$feature_flag_reason = result.reason;
  if (result?.requestId !== undefined) properties.$feature_flag_request_id = result.requestId;
  if (result?.hasExperiment !== undefined) properties.$feature_flag_has_experiment = result.hasExperiment;
  if (result) properties.$feature_flag_evaluated_at = local ? Date.now() : result.evaluatedAt.getTime();
  const loadedAt = local ? host.definitionsLoadedAt() : undefined;
  if (loadedAt !== undefined) properties.$feature_flag_definitions_loaded_at = loadedAt;
  const error = errorProperty(errors, result, missing);
  if (error !== undefined) properties.$feature_flag_error = error;
  const servedFrom = servedFromOf(result, host);
  if (servedFrom !== undefined) properties[SERVED_FROM] = servedFrom;
  if (context.groups) properties.$groups = context.groups;
  if (geoipDisabled) properties.$geoip_disable = true;
  return properties;
}

/**
 * Where a result not freshly evaluated came from: `fallback` (PostHog failed or was slow: the user's last known
 * result), `cache` (the cache URL's `fresh` window), `stale_definitions` (local evaluation from definitions that
 * are stale); `undefined` for a fresh evaluation.
 */
function servedFromOf(result: FlagResult | undefined, host: FlagCalledHost): string | undefined {
  if (result?.source === 'fallback' || result?.source === 'cache') return result.source;
  if (result?.source === 'local' && host.definitionsStale()) return 'stale_definitions';
  return undefined;
}
