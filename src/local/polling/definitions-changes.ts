import { jsonText } from '../../util/json-text.js';
import type { FlagDefinitionsData } from '../definitions.js';

/**
 * The keys of the flags whose definitions differ between two sets: added, removed or changed. When the cohorts or
 * the group types changed, every flag of either set counts as changed (a flag's answer may depend on them).
 * Sorted; empty when nothing changed. Compared as JSON text written with a stack of its own: a definition of any
 * depth (a 20,000-deep cohort) costs no call-stack overflow.
 */
export function changedFlags(before: FlagDefinitionsData | undefined, after: FlagDefinitionsData): string[] {
  const old = definitionsByKey(before);
  const now = definitionsByKey(after);
  const everything =
    jsonText(before?.cohorts ?? {}) !== jsonText(after.cohorts ?? {}) ||
    jsonText(before?.group_type_mapping ?? {}) !== jsonText(after.group_type_mapping ?? {});
  const changed = new Set<string>();
  for (const [key, definition] of now) {
    if (everything || old.get(key) !== definition) changed.add(key);
  }
  for (const key of old.keys()) if (!now.has(key)) changed.add(key);
  if (everything) for (const key of old.keys()) changed.add(key);
  return [...changed].sort();
}

/** Each flag's definition as JSON text, by key. */
function definitionsByKey(data: FlagDefinitionsData | undefined): Map<string, string> {
  const byKey = new Map<string, string>();
  for (const flag of data?.flags ?? []) {
    if (typeof flag?.key === 'string') byKey.set(flag.key, jsonText(flag));
  }
  return byKey;
}
