import type { FlagDefinition, FlagProperty } from '../definitions.js';
import type { Definitions } from '../definitions.js';
import { isRecord } from '../../util/is-record.js';
import { exactMatchString } from './json-values.js';

/**
 * What a flag needs to be decided locally whatever the values compared: `true`, nothing (it is off, or a plain
 * rollout); a list of person properties, that each of them holds a plain value (a string PostHog could receive,
 * or a boolean); `false`, evaluating it (it may be left for PostHog in ways only its evaluation tells).
 */
type DecidedAhead = true | readonly string[] | false;

/**
 * Which flags of a set of definitions must be evaluated up front for a subject (by position in
 * `definitions.order`): those that always must, and, by the person properties they compare, those that must when
 * one of these properties is not plain for the subject.
 */
export interface UpFrontPlan {
  /** Flags evaluated up front for every subject, in order. */
  readonly always: readonly number[];
  /** Flags decided ahead when each of `names` holds a plain value, grouped by those names. */
  readonly byProperties: readonly { names: readonly string[]; flags: readonly number[] }[];
}

/** Each set of definitions' plan, worked out once, let go with the set. */
const BY_DEFINITIONS = new WeakMap<Definitions, UpFrontPlan>();

/** Operators that cannot leave a plain value undecided (given a filter value they accept). */
const PLAIN_OPERATORS = new Set([
  'exact',
  'is_not',
  'is_set',
  'is_not_set',
  'icontains',
  'not_icontains',
  'starts_with',
  'not_starts_with',
  'ends_with',
  'not_ends_with',
  'gt',
  'gte',
  'lt',
  'lte',
]);

/**
 * Which flags of the definitions must be evaluated up front ({@link UpFrontPlan}); any other flag's value can wait
 * until it is read, since it cannot be one PostHog must be asked for in the same call. Only plain shapes qualify: conditions about the flag's own subject, bucketed by
 * distinct id, person properties with plain operators, no cohort, no flag dependency, no group aggregation, no
 * experience continuity.
 */
export function upFrontPlan(definitions: Definitions): UpFrontPlan {
  let plan = BY_DEFINITIONS.get(definitions);
  if (!plan) {
    plan = planOf(definitions.order.map(needsOf));
    BY_DEFINITIONS.set(definitions, plan);
  }
  return plan;
}

/**
 * The flags a subject must have evaluated up front, in order: those the plan always evaluates, and those whose
 * properties `plain` says are not all plain for the subject.
 */
export function upFrontFor(plan: UpFrontPlan, plain: (name: string) => boolean): readonly number[] {
  let flags = plan.always;
  for (const group of plan.byProperties) {
    if (!group.names.every(plain))
      flags = flags === plan.always ? [...flags, ...group.flags] : flags.concat(group.flags);
  }
  return flags === plan.always ? flags : [...flags].sort((a, b) => a - b);
}

function planOf(needs: readonly DecidedAhead[]): UpFrontPlan {
  const always: number[] = [];
  const groups = new Map<string, { names: readonly string[]; flags: number[] }>();
  needs.forEach((need, index) => {
    if (need === false) always.push(index);
    if (typeof need !== 'object') return;
    const id = [...need].sort().join('\u0000');
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { names: need, flags: [] }));
    group.flags.push(index);
  });
  return { always, byProperties: [...groups.values()] };
}

/** Whether a person property's value is plain: a string PostHog could receive (no lone surrogate), or a boolean. */
export function isPlainValue(value: unknown): boolean {
  if (typeof value === 'boolean') return true;
  if (typeof value !== 'string') return false;
  return acceptedByExactMatch([value]);
}

function needsOf(flag: FlagDefinition): DecidedAhead {
  if (!flag.active || flag.deleted) return true;
  if (flag.ensure_experience_continuity || flag.bucketing_identifier === 'device_id') return false;
  const filters: unknown = flag.filters;
  if (filters === undefined) return true;
  if (!isRecord(filters) || filters.aggregation_group_type_index != null) return false;
  const { groups, multivariate } = filters;
  if (groups !== undefined && !Array.isArray(groups)) return false;
  if (!plainVariants(multivariate)) return false;
  const names = new Set<string>();
  for (const condition of (groups ?? []) as unknown[]) if (!addConditionNeeds(condition, names)) return false;
  return names.size === 0 ? true : [...names];
}

/** No variants, or an array of variant objects. */
function plainVariants(multivariate: unknown): boolean {
  if (!isRecord(multivariate)) return true;
  const { variants } = multivariate;
  return variants == null || (Array.isArray(variants) && variants.every(isRecord));
}

/** Adds the person properties a plain condition compares; `false` when the condition is not plain. */
function addConditionNeeds(condition: unknown, names: Set<string>): boolean {
  if (!isRecord(condition) || condition.aggregation_group_type_index != null) return false;
  const { properties } = condition;
  if (properties == null) return true;
  if (!Array.isArray(properties)) return false;
  for (const property of properties as unknown[]) {
    if (!isPlainFilter(property)) return false;
    names.add(property.key);
  }
  return true;
}

/** A person property filter with a plain operator and a filter value it accepts. */
function isPlainFilter(property: unknown): property is FlagProperty {
  if (!isRecord(property) || typeof property.key !== 'string') return false;
  if (property.type !== undefined && property.type !== 'person') return false;
  const operator = property.operator ?? 'exact';
  if (typeof operator !== 'string' || !PLAIN_OPERATORS.has(operator === '' ? 'exact' : operator)) return false;
  if (operator !== 'exact' && operator !== 'is_not' && operator !== '') return true;
  const { value } = property;
  return acceptedByExactMatch(Array.isArray(value) ? value : [value]);
}

/** Whether `exact` can compare every item as PostHog's server would (see {@link exactMatchString}). */
function acceptedByExactMatch(items: readonly unknown[]): boolean {
  try {
    for (const item of items) exactMatchString(item);
    return true;
  } catch {
    return false;
  }
}
