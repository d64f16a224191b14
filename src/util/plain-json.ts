import { types } from 'node:util';
import { isNestedDeeperThan } from './nesting-depth.js';

/**
 * How JSON sees a value from outside: `plain` when JSON writes it as it stands, without running any code of its
 * own (no getter, `toJSON` or proxy trap), so it can be read and written again and again; `special` when writing
 * it runs such code or changes it (a BigInt, a function, a class instance, a `Date` with a `toJSON` of its own);
 * `too-deep` when its plain part nests arrays or objects more than `maxDepth` deep, or holds itself.
 */
export type JsonShape = 'plain' | 'special' | 'too-deep';

/** The {@link JsonShape} of `value`. Never runs the value's code, never throws. */
export function jsonShapeOf(value: unknown, maxDepth: number): JsonShape {
  if (isSpecialLeaf(value)) return 'special';
  let special = false;
  const membersOf = (node: object): readonly unknown[] => {
    const entries = plainEntries(node);
    if (entries === undefined || entries.some(([, member]) => isSpecialLeaf(member))) special = true;
    return entries?.map(([, member]) => member) ?? [];
  };
  try {
    if (isNestedDeeperThan(value, maxDepth, membersOf)) return 'too-deep';
  } catch {
    return 'special';
  }
  return special ? 'special' : 'plain';
}

/**
 * The own enumerable entries of an array or object JSON writes as it stands (an array, an object whose prototype
 * is `Object.prototype` or `null`, with data properties only and no `toJSON`; a `Date` with none of its own has
 * none); `undefined` for any other (a proxy, a getter, a class instance, a boxed primitive whatever its
 * prototype...). Runs none of the node's code.
 * @throws only for an exotic object (a module namespace with a binding not yet initialised).
 */
export function plainEntries(node: object): Array<[string, unknown]> | undefined {
  if (types.isProxy(node) || types.isBoxedPrimitive(node)) return undefined;
  const prototype: unknown = Object.getPrototypeOf(node);
  if (types.isDate(node)) return prototype === Date.prototype && !Object.hasOwn(node, 'toJSON') ? [] : undefined;
  const plain = Array.isArray(node)
    ? prototype === Array.prototype
    : prototype === Object.prototype || prototype === null;
  if (!plain || 'toJSON' in node) return undefined;
  const entries: Array<[string, unknown]> = [];
  for (const key of Object.keys(node)) {
    const descriptor = Object.getOwnPropertyDescriptor(node, key);
    if (descriptor === undefined || !('value' in descriptor)) return undefined;
    entries.push([key, descriptor.value]);
  }
  return entries;
}

/** {@link plainEntries}, `undefined` for an exotic object it cannot read (to be read as any other object is). */
export function plainEntriesOrNone(node: object): Array<[string, unknown]> | undefined {
  try {
    return plainEntries(node);
  } catch {
    return undefined;
  }
}

/** A value JSON cannot write as it stands that is no array or object: a BigInt, or a function (it may have a `toJSON`). */
function isSpecialLeaf(value: unknown): boolean {
  return typeof value === 'bigint' || typeof value === 'function';
}
