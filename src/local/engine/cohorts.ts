import type { CohortGroup, FlagProperty } from '../definitions.js';
import { Inconclusive, isInconclusive } from './inconclusive.js';

/** How a cohort's leaf properties are matched (person properties, flag dependencies, nested cohorts). */
export type LeafMatcher = (property: FlagProperty) => boolean;

/** A cohort whose membership is being computed: met again before it is known, the cohorts refer to each other. */
const MATCHING = Symbol('matching');

/** What matching a cohort threw, remembered to be thrown again. */
class Thrown {
  constructor(readonly error: unknown) {}
}

/**
 * The cohorts of one set of definitions, matched for one subject's properties. Each cohort's membership (or why
 * it cannot be decided) is computed once and remembered: the work is linear in the cohorts' size, however often
 * they refer to each other.
 */
export class CohortMatcher {
  /** Each cohort's membership so far, by id. */
  private readonly outcomes = new Map<string, boolean | Thrown | typeof MATCHING>();

  constructor(
    private readonly cohorts: Record<string, CohortGroup>,
    private readonly matchLeaf: LeafMatcher,
  ) {}

  /**
   * Whether the user is in the cohort the property names (`operator: 'not_in'` inverts it).
   * @throws {Inconclusive} `server` for a cohort absent from the definitions (a static cohort, known only to
   * PostHog), an unsupported group type or cohorts that refer to each other in a cycle; `context` when a
   * property the cohort needs cannot be decided.
   */
  match(property: FlagProperty): boolean {
    const inCohort = this.membership(String(property.value));
    return property.operator === 'not_in' ? !inCohort : inCohort;
  }

  /** Whether the user is in the cohort, computed once per matcher. */
  private membership(id: string): boolean {
    const known = this.outcomes.get(id);
    if (known === MATCHING) throw new Inconclusive(`cohort ${id} refers to itself`, 'server');
    if (known instanceof Thrown) throw known.error;
    if (known !== undefined) return known;
    if (!Object.hasOwn(this.cohorts, id))
      throw new Inconclusive(`cohort ${id} is not in the definitions (static)`, 'server');
    this.outcomes.set(id, MATCHING);
    try {
      const inCohort = matchGroup(this.cohorts[id], this.matchLeaf);
      this.outcomes.set(id, inCohort);
      return inCohort;
    } catch (error) {
      this.outcomes.set(id, new Thrown(error));
      throw error;
    }
  }
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
