import { createHash } from 'node:crypto';
import { types } from 'node:util';
import type { FlagContext } from '../flags.types.js';
import { isRecord } from '../util/is-record.js';
import { kindOf } from '../util/kind-of.js';
import { MAX_NESTING_DEPTH } from '../util/nesting-depth.js';
import { plainEntriesOrNone } from '../util/plain-json.js';
import { setOwn } from '../util/own.js';
import { readEntries, sendableProperties, type PropertyDrops } from './sendable-properties.js';

/**
 * The context as a {@link FlagContext}; a string is a distinct id. Empty `groups` and property objects are
 * dropped: PostHog evaluates them as absent.
 * @throws {TypeError} naming the field: a distinct id that is not a non-empty string, `groups` that is not an
 * object of strings, properties that are not objects, a property value nesting arrays or objects more than
 * 64 deep. A property that cannot be read or written as JSON (a getter or `toJSON` that throws, at any depth) is
 * left out and told to `drops` once the context is known to be valid (a BigInt becomes its decimal text: see
 * {@link sendableProperties}); the properties are plain data read once, never running a getter again later.
 */
export function parseFlagContext(context: FlagContext | string, drops: PropertyDrops): FlagContext {
  const subject = typeof context === 'string' ? { distinctId: context } : context;
  if (typeof subject?.distinctId !== 'string' || subject.distinctId === '') {
    throw new TypeError('FlagsService: context.distinctId (or a string context) must be a non-empty string');
  }
  const { deviceId } = subject;
  if (deviceId !== undefined && (typeof deviceId !== 'string' || deviceId === '')) {
    throw new TypeError(`FlagsService: context.deviceId must be a non-empty string, got ${kindOf(deviceId)}`);
  }
  if (isBareContext(subject)) return subject;
  const groups = parsedGroups(subject.groups);
  assertRecord('personProperties', subject.personProperties);
  assertRecord('groupProperties', subject.groupProperties);
  const found = new FoundDrops();
  const personProperties = sendableProperties('personProperties', subject.personProperties, found);
  const groupProperties = sendableGroupProperties(subject.groupProperties, found);
  found.tell(drops);
  return {
    distinctId: subject.distinctId,
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(isEmpty(groups) ? {} : { groups }),
    ...(isEmpty(personProperties) ? {} : { personProperties }),
    ...(isEmpty(groupProperties) ? {} : { groupProperties }),
  };
}

/**
 * Each group's properties as they can be sent ({@link sendableProperties}): the same object when they all can be
 * as they are.
 * @throws {TypeError} naming a group whose properties are not an object, or a property nesting too deep.
 */
function sendableGroupProperties(
  groupProperties: Record<string, unknown> | undefined,
  drops: PropertyDrops,
): Record<string, Record<string, unknown>> | undefined {
  if (groupProperties === undefined) return undefined;
  const types = readEntries('groupProperties', groupProperties, drops);
  if (types === undefined) return undefined;
  let same = types.plain;
  const sendable: Record<string, Record<string, unknown>> = {};
  for (const [type, properties] of types.read) {
    if (!isRecord(properties)) {
      throw new TypeError(
        `FlagsService: context.groupProperties["${type}"] must be an object of properties, got ${kindOf(properties)}`,
      );
    }
    const kept = sendableProperties(`groupProperties["${type}"]`, properties, drops);
    same &&= kept === properties;
    if (kept !== undefined) setOwn(sendable, type, kept);
  }
  return same ? (groupProperties as Record<string, Record<string, unknown>>) : sendable;
}

/** The drops found while a context is parsed, told once it is valid (an invalid one is a `TypeError` alone). */
class FoundDrops implements PropertyDrops {
  private readonly found: Array<[string, unknown]> = [];

  dropped(path: string, error: unknown): void {
    this.found.push([path, error]);
  }

  allKept(): void {}

  /** Tells `drops` of each property left out, or that none was. */
  tell(drops: PropertyDrops): void {
    if (this.found.length === 0) drops.allKept();
    for (const [path, error] of this.found) drops.dropped(path, error);
  }
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

/**
 * JSON with every object's keys sorted, at any depth, in the order an object made of its entries so sorted lists
 * them (array indices first, by number). Plain data (arrays, plain objects and JSON's primitives, at most
 * {@link MAX_NESTING_DEPTH} deep) is written as it stands when its keys are in that order already (most contexts: a
 * property or two), else here in one pass; anything else (a date, a `toJSON`, a boxed primitive, a class instance,
 * raw JSON) through `JSON.stringify` with a copy of each object, keys sorted.
 */
function stableJson(value: unknown): string {
  const shape = shapeOf(value, MAX_NESTING_DEPTH);
  if (shape === IN_ORDER) return JSON.stringify(value);
  return shape === PLAIN ? plainJson(value)! : JSON.stringify(value, sortedKeys);
}

/** A `JSON.stringify` replacer that writes each object with its keys sorted. */
function sortedKeys(_key: string, inner: unknown): unknown {
  return isRecord(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => byCodeUnit(a, b))) : inner;
}

/** Plain data ({@link shapeOf}) whose every object lists its keys in {@link byPropertyOrder} already. */
const IN_ORDER = 0;
/** Plain data with an object whose keys are in another order. */
const PLAIN = 1;
/** Anything else. */
const OTHER = 2;
type Shape = typeof IN_ORDER | typeof PLAIN | typeof OTHER;
/** Arrays longer than this (a sparse one may be very long and hold nothing) take the sorted copy, as JSON writes it. */
const MAX_PLAIN_ITEMS = 10_000;

/**
 * How `value` is written, at most `depth` deep: as plain data (JSON's primitives, or `undefined` and symbols, which
 * it leaves out; arrays of at most {@link MAX_PLAIN_ITEMS} and objects whose prototype is `Array.prototype`,
 * `Object.prototype` or `null`, no proxy or boxed primitive, with no `toJSON` and no raw JSON: JSON writes each as
 * its entries), in key order or not; or {@link OTHER}.
 */
function shapeOf(value: unknown, depth: number): Shape {
  if (typeof value === 'function' || typeof value === 'bigint') return OTHER;
  if (typeof value !== 'object' || value === null) return IN_ORDER;
  if (depth === 0 || types.isProxy(value) || types.isBoxedPrimitive(value) || 'toJSON' in value) return OTHER;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    return prototype === Array.prototype && value.length <= MAX_PLAIN_ITEMS ? shapeOfItems(value, depth - 1) : OTHER;
  }
  if (prototype !== Object.prototype && (prototype !== null || isRawJson(value))) return OTHER;
  return shapeOfMembers(value as Record<string, unknown>, depth - 1);
}

/** The {@link Shape} of an array's items, each at most `depth` deep. */
function shapeOfItems(items: readonly unknown[], depth: number): Shape {
  let shape: Shape = IN_ORDER;
  for (let index = 0; index < items.length; index++) {
    const item = shapeOf(items[index], depth);
    if (item === OTHER) return OTHER;
    if (item === PLAIN) shape = PLAIN;
  }
  return shape;
}

/** The {@link Shape} of an object's members, each at most `depth` deep: {@link PLAIN} when its keys are out of order. */
function shapeOfMembers(record: Record<string, unknown>, depth: number): Shape {
  const keys = Object.keys(record);
  let shape: Shape = IN_ORDER;
  for (let index = 0; index < keys.length; index++) {
    const member = shapeOf(record[keys[index]!], depth);
    if (member === OTHER) return OTHER;
    if (member === PLAIN || (index > 0 && byPropertyOrder(keys[index - 1]!, keys[index]!) > 0)) shape = PLAIN;
  }
  return shape;
}

/** {@link stableJson} of plain data ({@link shapeOf}); `undefined` for what JSON leaves out. */
function plainJson(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let index = 0; index < value.length; index++) items.push(plainJson(value[index]) ?? 'null');
    return `[${items.join(',')}]`;
  }
  const members: string[] = [];
  for (const key of Object.keys(value).sort(byPropertyOrder)) {
    const member = plainJson((value as Record<string, unknown>)[key]);
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * The order of an object's keys once made from its entries sorted by code unit (what {@link sortedKeys} writes):
 * array indices first, by number, then the rest by code unit.
 */
function byPropertyOrder(a: string, b: string): number {
  const [indexA, indexB] = [isArrayIndex(a), isArrayIndex(b)];
  if (indexA && indexB) return Number(a) - Number(b);
  if (indexA !== indexB) return indexA ? -1 : 1;
  return byCodeUnit(a, b);
}

/** The order of two strings by UTF-16 code unit (`Array.prototype.sort`'s, without converting them). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether `key` is an array index: an integer below 2³² − 1 written as such (`0`, `7`, not `07` or `-1`). */
function isArrayIndex(key: string): boolean {
  return ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]{0,9})$/;

/** Whether `value` is a `JSON.rawJSON` value (Node 21 and later), which JSON writes as its text. */
function isRawJson(value: object): boolean {
  const { isRawJSON } = JSON as { isRawJSON?: (candidate: unknown) => boolean };
  return isRawJSON !== undefined && isRawJSON(value);
}

function isEmpty(record: Record<string, unknown> | undefined): boolean {
  return record === undefined || Object.keys(record).length === 0;
}

/** @throws {TypeError} naming the field when it is neither `undefined` nor an object. */
function assertRecord(name: string, value: unknown): asserts value is Record<string, unknown> | undefined {
  if (value !== undefined && !isRecord(value)) {
    throw new TypeError(`FlagsService: context.${name} must be an object, got ${kindOf(value)}`);
  }
}

/**
 * The groups as plain data read once: the same object when it is plain data already ({@link plainEntriesOrNone}),
 * else a copy of its entries (read once: a getter or a proxy is not run again, a boxed primitive is its entries).
 * @throws {TypeError} naming the field when it is neither `undefined` nor an object of strings.
 */
function parsedGroups(groups: unknown): Record<string, string> | undefined {
  if (groups === undefined) return undefined;
  if (!isRecord(groups)) throw new TypeError(`FlagsService: context.groups must be an object, got ${kindOf(groups)}`);
  const plain = plainEntriesOrNone(groups);
  const entries = plain ?? Object.entries(groups);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') {
      throw new TypeError(
        `FlagsService: context.groups["${key}"] must be a string (the group key), got ${kindOf(value)}`,
      );
    }
  }
  if (plain) return groups as Record<string, string>;
  const copy: Record<string, string> = {};
  for (const [key, value] of entries) setOwn(copy, key, value);
  return copy;
}
