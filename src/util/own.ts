/**
 * The record's own property `key`, or `undefined`: never one it inherits (`constructor`, `toString`,
 * `__proto__`…), whatever name came from outside.
 */
export function ownValue(record: object | null | undefined, key: string): unknown {
  return record != null && Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

/**
 * Sets `key` as an own, enumerable property of `record`, whatever the name: `record[key] = value` with
 * `__proto__` would replace the record's prototype instead.
 */
export function setOwn(record: object, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
