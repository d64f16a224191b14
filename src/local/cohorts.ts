import type { CohortGroup, FlagProperty } from './definitions.js';
import { Inconclusive, isInconclusive } from './inconclusive.js';

/** How a cohort's leaf properties are matched (person properties, flag dependencies, nested cohorts). */
export type LeafMatcher = (property: FlagProperty) => boolean;

/**
 * Whether the user is in the cohort the property names (`operator: 'not_in'` inverts it).
 * @throws {Inconclusive} `server` for a cohort absent from the definitions (a static cohort, known only to
 * PostHog) or an unsupported group type; `context` when a property the cohort needs cannot be decided.
 */
export function matchCohort(
  property: FlagProperty,
  cohorts: Record<string, CohortGroup>,
  matchLeaf: LeafMatcher,
): boolean {
  const id = String(property.value);
  if (!Object.hasOwn(cohorts, id)) throw new Inconclusive(`cohort ${id} is not in the definitions (static)`, 'server');
  const inCohort = matchGroup(cohorts[id], matchLeaf);
  return property.operator === 'not_in' ? !inCohort : inCohort;
}

/** An AND/OR group of nested groups or of properties (each possibly negated). */
function matchGroup(group: CohortGroup | undefined, matchLeaf: LeafMatcher): boolean {
  if (!group || Object.keys(group).length === 0) return true;
  const type = group.type === 'property' ? 'AND' : group.type;
  if (type !== 'AND' && type !== 'OR') throw new Inconclusive(`cohort group type ${String(group.type)}`, 'server');
  const values = group.values;
  if (!values || values.length === 0) return type === 'AND';
  const nested = 'values' in values[0]!;
  let doubt: Inconclusive | undefined;
  for (const value of values) {
    let matches: boolean;
    try {
      if (nested) {
        matches = matchGroup(value as CohortGroup, matchLeaf);
      } else {
        const property = value as FlagProperty;
        matches = matchLeaf(property) !== Boolean(property.negation);
      }
    } catch (error) {
      if (!isInconclusive(error) || error.kind === 'server') throw error;
      doubt = doubt?.regex ? doubt : error;
      continue;
    }
    if (type === 'AND' && !matches) return false;
    if (type === 'OR' && matches) return true;
  }
  if (doubt) throw new Inconclusive('a cohort property cannot be decided', 'context', doubt.regex, doubt.reason);
  return type === 'AND';
}
