/**
 * Freezes `value` and every object reachable from its own properties, in place, and returns it: a payload handed to many callers
 * cannot be changed by one of them (in strict mode a write throws a `TypeError`). Walks with a stack of its own, so
 * that no depth overflows the call stack; objects already frozen are walked too (their children may not be).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const seen = new Set<object>();
  for (const pending: object[] = [value]; pending.length > 0;) {
    const object = pending.pop()!;
    // A typed array cannot be frozen (its elements stay writable): left as it is.
    if (seen.has(object) || ArrayBuffer.isView(object)) continue;
    seen.add(object);
    Object.freeze(object);
    for (const key of Reflect.ownKeys(object)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
      const inner: unknown = descriptor && 'value' in descriptor ? descriptor.value : undefined;
      if (typeof inner === 'object' && inner !== null) pending.push(inner);
    }
  }
  return value;
}
