import { createHash } from 'node:crypto';
import type { FlagContext } from '../flags.types.js';
import { isRecord } from '../util/is-record.js';
import { kindOf } from '../util/kind-of.js';
import { MAX_NESTING_DEPTH, isNestedDeeperThan } from '../util/nesting-depth.js';
import { setOwn } from '../util/own.js';
import { sendableProperties, type PropertyDrops } from './sendable-properties.js';

/**
 * The context as a {@link FlagContext}; a string is a distinct id. Empty `groups` and property objects are
 * dropped: PostHog evaluates them as absent.
 * @throws {TypeError} naming the field: a distinct id that is not a non-empty string, `groups` that is not an
 * object of strings, properties that are not objects, a property value nesting arrays or objects more than
 * {@link MAX_NESTING_DEPTH} (64) deep. A property that cannot be written as JSON is left out and told to `drops`
 * (a BigInt becomes its decimal text: see {@link sendableProperties}).
 */
export function parseFlagContext(context: FlagContext | string, drops: PropertyDrops): FlagContext {
  const subject = typeof context === 'string' ? { distinctId: context } : context;
  if (typeof subject?.distinctId !== 'string' || subject.distinctId === '') {
    throw new TypeError('FlagsService: context.distinctId (or a string context) must be a non-empty string');
  }
  const { deviceId, groups } = subject;
  if (deviceId !== undefined && (typeof deviceId !== 'string' || deviceId === '')) {
    throw new TypeError(`FlagsService: context.deviceId must be a non-empty string, got ${kindOf(deviceId)}`);
  }
  if (isBareContext(subject)) return subject;
  assertRecordOf('groups', groups, (value) => typeof value === 'string', 'a string (the group key)');
  assertRecordOf('personProperties', subject.personProperties, () => true, 'any value');
  assertRecordOf('groupProperties', subject.groupProperties, isRecord, 'an object of properties');
  assertShallow('personProperties', subject.personProperties);
  for (const [type, properties] of Object.entries(subject.groupProperties ?? {})) {
    assertShallow(`groupProperties["${type}"]`, properties as Record<string, unknown>);
  }
  const { personProperties, groupProperties } = sendableContextProperties(subject, drops);
  return {
    distinctId: subject.distinctId,
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(isEmpty(groups) ? {} : { groups }),
    ...(isEmpty(personProperties) ? {} : { personProperties }),
    ...(isEmpty(groupProperties) ? {} : { groupProperties }),
  };
}

/**
 * The context's properties as they can be sent ({@link sendableProperties}): the same objects when they all can;
 * `drops` told of each left out, or that none was.
 */
function sendableContextProperties(
  context: FlagContext,
  drops: PropertyDrops,
): Pick<FlagContext, 'personProperties' | 'groupProperties'> {
  const personProperties = sendableProperties('personProperties', context.personProperties, drops);
  let kept = keptAll(context.personProperties, personProperties);
  let groupProperties = context.groupProperties;
  if (groupProperties) {
    for (const [type, properties] of Object.entries(groupProperties)) {
      const sendable = sendableProperties(`groupProperties["${type}"]`, properties, drops);
      if (sendable === properties) continue;
      kept &&= keptAll(properties, sendable);
      if (groupProperties === context.groupProperties) groupProperties = { ...groupProperties };
      setOwn(groupProperties, type, sendable);
    }
  }
  if (kept) drops.allKept();
  return { personProperties, groupProperties };
}

/** Whether `sendable` holds every property of `properties` (none was left out). */
function keptAll(properties: object | undefined, sendable: object | undefined): boolean {
  return properties === sendable || Object.keys(properties!).length === Object.keys(sendable!).length;
}

/** Whether the context is a distinct id alone (no device id, groups or properties). */
export function isBareContext(context: FlagContext): boolean {
  return !context.deviceId && !context.groups && !context.personProperties && !context.groupProperties;
}

/**
 * A string equal for two contexts exactly when PostHog would evaluate them alike (same user, groups, properties),
 * whatever the order of their keys at any depth. A bare context's is its distinct id after a `"` (the one asked
 * on every request: no JSON to write); any other's is JSON, an array, which never starts with a `"`.
 */
export function contextKey(context: FlagContext): string {
  if (isBareContext(context)) return `"${context.distinctId}`;
  const { distinctId, groups, personProperties, groupProperties, deviceId } = context;
  return stableJson([distinctId, groups, personProperties, groupProperties, deviceId]);
}

/**
 * What a cached result remembers of the context it was evaluated for, beyond the distinct id: `''` for a bare
 * context, else a hash of its {@link contextKey} (no property value is stored). A result answers without asking
 * PostHog only for a context with the same fingerprint.
 */
export function contextFingerprint(context: FlagContext, key = contextKey(context)): string {
  if (isBareContext(context) && key.startsWith('"')) return '';
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

/** JSON with every object's keys sorted, at any depth. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isRecord(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

function isEmpty(record: Record<string, unknown> | undefined): boolean {
  return record === undefined || Object.keys(record).length === 0;
}

/** @throws {TypeError} naming the first property whose value nests more than {@link MAX_NESTING_DEPTH} deep. */
function assertShallow(name: string, properties: Record<string, unknown> | undefined): void {
  for (const [key, value] of Object.entries(properties ?? {})) {
    if (isNestedDeeperThan(value, MAX_NESTING_DEPTH)) {
      throw new TypeError(`FlagsService: context.${name}["${key}"] nests more than ${MAX_NESTING_DEPTH} levels deep`);
    }
  }
}

function assertRecordOf(
  name: string,
  value: unknown,
  isValid: (entry: unknown) => boolean,
  expected: string,
): asserts value is Record<string, unknown> | undefined {
  if (value === undefined) return;
  if (!isRecord(value)) throw new TypeError(`FlagsService: context.${name} must be an object, got ${kindOf(value)}`);
  for (const [key, entry] of Object.entries(value)) {
    if (!isValid(entry)) {
      throw new TypeError(`FlagsService: context.${name}["${key}"] must be ${expected}, got ${kindOf(entry)}`);
    }
  }
}
