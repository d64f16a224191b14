import { Inconclusive } from './inconclusive.js';

/*
 * How PostHog's server compares property values for `exact` / `is_not`: as JSON text (objects with sorted keys),
 * case-insensitively. Values the server could never have received as JSON cannot be decided here.
 */

/** A value as the text PostHog's server compares: strings as they are, anything else as its JSON. */
export function exactMatchString(value: unknown): string {
  if (typeof value === 'string') {
    assertScalarString(value);
    return value;
  }
  return serialize(value, new Set());
}

/** Whether the value reads as a boolean: `true`/`false`, `"true"`/`"false"` (any case), or an array of such. */
export function isBooleanLike(value: unknown): boolean {
  if (typeof value === 'boolean') return true;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    return lower === 'true' || lower === 'false';
  }
  return Array.isArray(value) && everyItem(value, isBooleanLike);
}

/** The boolean a boolean-like value stands for (an array: all of its items true). */
export function isTruthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.toLowerCase() === 'true';
  return Array.isArray(value) && everyItem(value, isTruthy);
}

/** @throws {Inconclusive} when the value could not have come as JSON (a circular or non-plain object, NaN…). */
export function assertJsonValue(value: unknown, seen = new Set<unknown>()): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') return assertScalarString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Inconclusive(`non-finite number ${value}`);
    return;
  }
  withinContainer(value, seen, () => {
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) if (index in value) assertJsonValue(value[index], seen);
    } else {
      for (const key of Object.keys(value as object)) {
        assertScalarString(key);
        assertJsonValue((value as Record<string, unknown>)[key], seen);
      }
    }
  });
}

/** JSON text with object keys sorted by code point. */
function serialize(value: unknown, seen: Set<unknown>): string {
  if (value === null) return 'null';
  if (typeof value === 'string') {
    assertScalarString(value);
    return JSON.stringify(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Inconclusive(`non-finite number ${value}`);
    // The server may have seen 1 or 1.0; it compares them as different text.
    if (Number.isInteger(value)) throw new Inconclusive(`integer ${value} is ambiguous as JSON text`);
    return String(value);
  }
  return withinContainer(value, seen, () => {
    if (Array.isArray(value)) {
      const items: string[] = [];
      for (let index = 0; index < value.length; index++) {
        items.push(index in value ? serialize(value[index], seen) : 'null');
      }
      return `[${items.join(',')}]`;
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    keys.forEach(assertScalarString);
    const entries = keys.sort(compareCodePoints).map((key) => `${JSON.stringify(key)}:${serialize(record[key], seen)}`);
    return `{${entries.join(',')}}`;
  });
}

/** Runs `body` for an array or plain object, refusing cycles and other objects. */
function withinContainer<T>(value: unknown, seen: Set<unknown>, body: () => T): T {
  if (typeof value !== 'object' || value === null) throw new Inconclusive(`a ${typeof value} is not JSON`);
  if (!Array.isArray(value)) {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) throw new Inconclusive('a non-plain object is not JSON');
  }
  if (seen.has(value)) throw new Inconclusive('a circular value is not JSON');
  seen.add(value);
  try {
    return body();
  } finally {
    seen.delete(value);
  }
}

/** @throws {Inconclusive} for a string with a lone surrogate (the server could not have received it). */
function assertScalarString(value: string): void {
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(index + 1);
      if (index + 1 >= value.length || next < 0xdc00 || next > 0xdfff) throw new Inconclusive('unpaired surrogate');
      index++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      throw new Inconclusive('unpaired surrogate');
    }
  }
}

/** Orders strings by code point (not UTF-16 unit), as the server sorts JSON object keys. */
function compareCodePoints(left: string, right: string): number {
  const a = [...left];
  const b = [...right];
  for (let index = 0; index < a.length && index < b.length; index++) {
    const difference = a[index]!.codePointAt(0)! - b[index]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

function everyItem(array: unknown[], test: (value: unknown) => boolean): boolean {
  for (let index = 0; index < array.length; index++) if (!test(index in array ? array[index] : null)) return false;
  return true;
}
