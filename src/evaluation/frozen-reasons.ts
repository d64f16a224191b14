import type { UnresolvedReason } from '../local/engine/unresolved-reason.js';
import { setOwn } from '../util/own.js';

/** No flag unresolved: shared by every snapshot that has none. */
const NO_REASONS: Readonly<Record<string, UnresolvedReason>> = Object.freeze({});

/**
 * The reasons as a frozen record the snapshot may keep: a frozen one as it is (it cannot change under the
 * snapshot), else a frozen copy of its own properties.
 */
export function frozenReasons(
  reasons: Readonly<Record<string, UnresolvedReason>> | undefined,
): Readonly<Record<string, UnresolvedReason>> {
  if (reasons === undefined) return NO_REASONS;
  return Object.isFrozen(reasons) ? reasons : Object.freeze(ownCopy(reasons));
}

/** A plain object with the same own properties (`__proto__` included, as an own key). */
function ownCopy<T>(source: Readonly<Record<string, T>>): Record<string, T> {
  const copy: Record<string, T> = {};
  for (const key of Object.keys(source)) setOwn(copy, key, source[key]!);
  return copy;
}
