/**
 * Sets `key` as an own, enumerable property of `target`, whatever the key (`__proto__` included): an assignment
 * with a name from outside could change the object's prototype instead.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
