import { isRecord } from '../util/is-record.js';
import { setOwn } from '../util/own.js';

/** Told of each property left out of a context because it cannot be written as JSON. */
export interface PropertyDrops {
  /** The property at `path` (`personProperties["balance"]`) was left out: writing it as JSON threw `error`. */
  dropped(path: string, error: unknown): void;
  /** A context's properties were all kept. */
  allKept(): void;
}

/**
 * `properties` as they can be sent to PostHog as JSON, the same object when they all can: a BigInt, at any depth,
 * becomes its decimal text (as `@posthog/core`'s `toJsonSafeValue` writes it; a Prisma `BIGINT` column is one); a
 * property whose value cannot be written as JSON (its `toJSON` or a getter throws) is left out and told to
 * `drops` as `{name}["{key}"]`, never with its value. Anything not an object is returned as it is (the context's
 * validation names it).
 */
export function sendableProperties<T>(name: string, properties: T, drops: PropertyDrops): T {
  if (!isRecord(properties)) return properties;
  const keys = Object.keys(properties);
  if (allSendableAsIs(properties, keys)) return properties;
  const sendable: Record<string, unknown> = {};
  for (const key of keys) {
    try {
      setOwn(sendable, key, asSendable(properties[key]));
    } catch (error) {
      drops.dropped(`${name}["${key}"]`, error);
    }
  }
  return sendable as T;
}

/** Whether every property is sendable as it is (the common case: no copy is made). Never throws. */
function allSendableAsIs(properties: Record<string, unknown>, keys: readonly string[]): boolean {
  try {
    for (const key of keys) if (!isSendableAsIs(properties[key])) return false;
    return true;
  } catch {
    return false;
  }
}

/**
 * A property value without a BigInt, written as JSON as it stands.
 * @throws what writing it as JSON throws (a `toJSON` or a getter), except for a BigInt.
 */
function asSendable(value: unknown): unknown {
  if (isSendableAsIs(value)) return value;
  if (typeof value === 'bigint') return value.toString();
  return JSON.parse(JSON.stringify(value, bigIntAsText)) as unknown;
}

/** Whether JSON can hold the value as it is: anything but a BigInt, or an object JSON can write. Never throws. */
function isSendableAsIs(value: unknown): boolean {
  if (typeof value === 'bigint') return false;
  if (typeof value !== 'object' || value === null || value instanceof Date) return true;
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

function bigIntAsText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
