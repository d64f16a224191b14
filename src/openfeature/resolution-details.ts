import {
  ErrorCode,
  StandardResolutionReasons,
  type FlagMetadata,
  type JsonValue,
  type ResolutionDetails,
  type ResolutionReason,
} from '@openfeature/server-sdk';
import type { FlagResult } from '../flags.types.js';

/** The OpenFeature flag types, each with how a result gives its value. */
export type FlagType = 'boolean' | 'string' | 'number' | 'object';

/** PostHog's reason codes that say why a flag is what it is, as OpenFeature reasons; others by `enabled`. */
const REASONS: Readonly<Record<string, ResolutionReason>> = {
  condition_match: StandardResolutionReasons.TARGETING_MATCH,
  super_condition_value: StandardResolutionReasons.TARGETING_MATCH,
  holdout_condition_value: StandardResolutionReasons.TARGETING_MATCH,
  no_condition_match: StandardResolutionReasons.DEFAULT,
  out_of_rollout_bound: StandardResolutionReasons.DEFAULT,
  no_group_type: StandardResolutionReasons.DEFAULT,
  flag_disabled: StandardResolutionReasons.DISABLED,
};

/**
 * The result's value as the type asked: a boolean is `enabled`; a string the variant; a number or an object the
 * flag's payload. A flag that is off for the user and has no value of that type resolves to the default with its
 * reason (no error); one that is on without a value of that type is `TYPE_MISMATCH`.
 */
export function detailsOf<T>(result: FlagResult, type: FlagType, defaultValue: T): ResolutionDetails<T> {
  const common = {
    reason: reasonOf(result),
    flagMetadata: metadataOf(result),
    ...(result.variant === undefined ? {} : { variant: result.variant }),
  };
  const value = valueOf(result, type);
  if (value !== undefined) return { value: value as T, ...common };
  if (!result.enabled) return { value: defaultValue, ...common };
  return {
    value: defaultValue,
    reason: StandardResolutionReasons.ERROR,
    errorCode: ErrorCode.TYPE_MISMATCH,
    errorMessage: `flag "${result.key}" has no ${type} value: ${describe(result)}`,
    flagMetadata: common.flagMetadata,
  };
}

/** The default value with an error: nothing is known, or the evaluation could not run. */
export function errorDetails<T>(defaultValue: T, errorCode: ErrorCode, errorMessage: string): ResolutionDetails<T> {
  return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode, errorMessage };
}

/** The value of that type the result holds, if any. */
function valueOf(result: FlagResult, type: FlagType): JsonValue | undefined {
  const { payload } = result;
  switch (type) {
    case 'boolean':
      return result.enabled;
    case 'string':
      return result.variant;
    case 'number':
      return typeof payload === 'number' && Number.isFinite(payload) ? payload : undefined;
    case 'object':
      return typeof payload === 'object' && payload !== null ? (payload as JsonValue) : undefined;
  }
}

/** OpenFeature's reason: where the result came from when it was not evaluated now, else PostHog's reason. */
function reasonOf(result: FlagResult): ResolutionReason {
  if (result.source === 'override') return StandardResolutionReasons.STATIC;
  if (result.source === 'cache' || result.source === 'fallback') return StandardResolutionReasons.CACHED;
  const known = result.reasonCode !== undefined && Object.hasOwn(REASONS, result.reasonCode);
  if (known) return REASONS[result.reasonCode!]!;
  return result.enabled ? StandardResolutionReasons.TARGETING_MATCH : StandardResolutionReasons.DEFAULT;
}

/** Where the result came from, PostHog's flag id and version, the request that answered, whether it was local. */
function metadataOf(result: FlagResult): FlagMetadata {
  const metadata: FlagMetadata = { source: result.source, locallyEvaluated: result.source === 'local' };
  if (result.id !== undefined) metadata.id = result.id;
  if (result.version !== undefined) metadata.version = result.version;
  if (result.requestId !== undefined) metadata.requestId = result.requestId;
  return metadata;
}

/** What the flag is, for a type mismatch's message. */
function describe(result: FlagResult): string {
  if (result.variant !== undefined)
    return `its variant is "${result.variant}" and its payload is ${kindOfPayload(result)}`;
  return `it is a boolean flag (no variant) and its payload is ${kindOfPayload(result)}`;
}

function kindOfPayload(result: FlagResult): string {
  if (result.payload === undefined) return 'absent';
  if (Array.isArray(result.payload)) return 'an array';
  return result.payload === null ? 'null' : `a ${typeof result.payload}`;
}
