import { ErrorCode, type EvaluationContext } from '@openfeature/server-sdk';
import type { FlagContext } from '../flags.types.js';
import { isRecord } from '../util/is-record.js';
import { kindOf } from '../util/kind-of.js';
import { MAX_NESTING_DEPTH, isNestedDeeperThan } from '../util/nesting-depth.js';

/** Why an evaluation context cannot be evaluated: OpenFeature's error code and a message naming the attribute. */
export interface ContextProblem {
  errorCode: ErrorCode.TARGETING_KEY_MISSING | ErrorCode.INVALID_CONTEXT;
  message: string;
}

/** The attributes that are fields of a {@link FlagContext}; every other attribute is a person property. */
const CONTEXT_FIELDS = new Set(['targetingKey', 'deviceId', 'groups', 'groupProperties']);

/**
 * The OpenFeature context as a {@link FlagContext}: `targetingKey` is the distinct id; `deviceId`, `groups` and
 * `groupProperties` are those fields; every other attribute is a person property (a `Date` as its ISO text).
 * A problem instead of a context when the targeting key is missing, an attribute has the wrong shape or nests
 * arrays or objects more than {@link MAX_NESTING_DEPTH} (64) deep; never throws.
 */
export function flagContextOf(context: EvaluationContext): FlagContext | ContextProblem {
  const { targetingKey, deviceId, groups, groupProperties } = context;
  if (targetingKey === undefined || targetingKey === '') {
    return { errorCode: ErrorCode.TARGETING_KEY_MISSING, message: 'the context has no targetingKey (distinct id)' };
  }
  if (typeof targetingKey !== 'string') return invalid('targetingKey', 'a non-empty string', targetingKey);
  if (deviceId !== undefined && (typeof deviceId !== 'string' || deviceId === '')) {
    return invalid('deviceId', 'a non-empty string', deviceId);
  }
  if (groups !== undefined && !isRecordOf(groups, (key) => typeof key === 'string')) {
    return invalid('groups', 'an object of group keys (strings) by group type', groups);
  }
  if (groupProperties !== undefined && !isRecordOf(groupProperties, isRecord)) {
    return invalid('groupProperties', 'an object of property objects by group type', groupProperties);
  }
  const tooDeep = tooDeepAttribute(context);
  if (tooDeep !== undefined) {
    return {
      errorCode: ErrorCode.INVALID_CONTEXT,
      message: `context.${tooDeep} nests more than ${MAX_NESTING_DEPTH} levels deep`,
    };
  }
  const personProperties = Object.fromEntries(
    Object.entries(context)
      .filter(([name]) => !CONTEXT_FIELDS.has(name))
      .map(([name, value]) => [name, value instanceof Date ? value.toISOString() : value]),
  );
  return {
    distinctId: targetingKey,
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(groups === undefined ? {} : { groups: groups as Record<string, string> }),
    ...(groupProperties === undefined
      ? {}
      : { groupProperties: groupProperties as Record<string, Record<string, unknown>> }),
    ...(Object.keys(personProperties).length === 0 ? {} : { personProperties }),
  };
}

/** Whether the value is a problem rather than a context. */
export function isContextProblem(value: FlagContext | ContextProblem): value is ContextProblem {
  return 'errorCode' in value;
}

/** The first attribute (or group's property) nesting too deep, as a path; `undefined` when none does. */
function tooDeepAttribute(context: EvaluationContext): string | undefined {
  for (const [name, value] of Object.entries(context)) {
    if (name === 'groupProperties') continue;
    if (isNestedDeeperThan(value, MAX_NESTING_DEPTH)) return name;
  }
  for (const [type, properties] of Object.entries((context.groupProperties ?? {}) as Record<string, object>)) {
    for (const [name, value] of Object.entries(properties)) {
      if (isNestedDeeperThan(value, MAX_NESTING_DEPTH)) return `groupProperties.${type}.${name}`;
    }
  }
  return undefined;
}

function invalid(name: string, expected: string, value: unknown): ContextProblem {
  return { errorCode: ErrorCode.INVALID_CONTEXT, message: `context.${name} must be ${expected}, got ${kindOf(value)}` };
}

function isRecordOf(value: unknown, isValid: (entry: unknown) => boolean): boolean {
  return isRecord(value) && Object.values(value).every(isValid);
}
