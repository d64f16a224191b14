import type { FlagValue } from '../../flags.types.js';
import { CohortMatcher } from './cohorts.js';
import type { Definitions, FlagCondition, FlagDefinition, FlagProperty } from '../definitions.js';
import { conditionValue, holdoutVariant, isRolledOut, regexOutcome } from './rollout.js';
import { ownValue } from '../../util/own.js';
import type { LocalSubject } from './local-subject.js';
import { Inconclusive, isInconclusive } from './inconclusive.js';
import { strongerReason, type LocalUnresolvedReason } from './unresolved-reason.js';
import { matchProperty, type MatchOptions } from './property-match.js';

/** A flag whose value is being computed: met again before it is known, the definitions hold a cycle. */
const EVALUATING = Symbol('evaluating');

/**
 * One subject's evaluation against one set of definitions: PostHog's local evaluation algorithm (conditions,
 * rollouts, holdouts, cohorts, flag dependencies). Each flag's outcome (its value, or why it cannot be decided) is
 * computed once and remembered, whether asked for or met as a dependency: the work is linear in the definitions,
 * however the dependencies are chained.
 */
export class SubjectEvaluation {
  /** Each flag's outcome so far, by key. */
  private readonly outcomes = new Map<string, FlagValue | Thrown | typeof EVALUATING>();
  /** The values of the flags met in a `dependency_chain` so far, by key. */
  private readonly dependencies = new Map<string, FlagValue>();
  /** The cohorts matched so far, by the properties they were matched against (the person's, or a group's). */
  private readonly cohortMatchers = new Map<Record<string, unknown>, CohortMatcher>();
  private readonly options: MatchOptions;

  constructor(
    private readonly definitions: Definitions,
    private readonly subject: LocalSubject,
    now: Date,
  ) {
    this.options = { matchingVersion: definitions.data.property_matching_version, now };
  }

  /**
   * The flag's value, computed once per evaluation.
   * @throws what computing it threw (each time it is asked), or {@link Inconclusive} for a flag met again while it
   * is being computed (a cycle the dependency chains did not say).
   */
  outcome(flag: FlagDefinition): FlagValue {
    const known = this.outcomes.get(flag.key);
    if (known === EVALUATING) throw new Inconclusive(`flag ${flag.key} depends on itself`);
    if (known instanceof Thrown) throw known.error;
    if (known !== undefined) return known;
    this.outcomes.set(flag.key, EVALUATING);
    try {
      const value = this.value(flag);
      this.outcomes.set(flag.key, value);
      return value;
    } catch (error) {
      this.outcomes.set(flag.key, new Thrown(error));
      throw error;
    }
  }

  /** The flag's value: off when inactive or deleted, else from its group or person conditions. */
  private value(flag: FlagDefinition): FlagValue {
    if (!flag.active || flag.deleted) return false;
    if (flag.ensure_experience_continuity)
      throw new Inconclusive('experience continuity needs the server', 'context', false, 'experience_continuity');
    const aggregation = flag.filters?.aggregation_group_type_index;
    if (aggregation != null) {
      const groupType = this.groupType(aggregation);
      if (!groupType) throw new Inconclusive(`unknown group type index ${aggregation}`);
      if (!Object.hasOwn(this.subject.groups, groupType)) return false;
      return this.matchConditions(flag, this.subject.groups[groupType]!, this.subject.groupProperties[groupType]!);
    }
    return this.matchConditions(flag, this.bucketingValue(flag), this.subject.personProperties);
  }

  /** The group type name the definitions' `group_type_mapping` gives the index; `undefined` when none. */
  private groupType(index: unknown): string | undefined {
    const name = ownValue(this.definitions.data.group_type_mapping, String(index));
    return typeof name === 'string' && name !== '' ? name : undefined;
  }

  /** The distinct id, or the device id for a flag bucketed by device. */
  private bucketingValue(flag: FlagDefinition): string {
    if (flag.bucketing_identifier !== 'device_id') return this.subject.distinctId;
    const deviceId = this.subject.personProperties.$device_id;
    if (deviceId == null || deviceId === '')
      throw new Inconclusive('a device-bucketed flag needs a device id', 'context', false, 'missing_context');
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value as text, as posthog-node does
    return String(deviceId);
  }

  /**
   * The first matching condition's value (its variant, else the user's variant, else `true`), `false` when none
   * matches. With `early_exit`, a condition matched but rolled out of ends the flag at `false`. A condition that
   * cannot be decided is skipped; nothing matched after one such makes the flag undecided.
   */
  private matchConditions(
    flag: FlagDefinition,
    bucketingValue: string,
    properties: Record<string, unknown>,
  ): FlagValue {
    const filters = flag.filters ?? {};
    const holdout = holdoutVariant(filters.holdout, bucketingValue);
    if (holdout !== undefined) return holdout;
    const earlyExit = filters.early_exit ?? false;
    let doubt: Inconclusive | undefined;
    let reason: LocalUnresolvedReason | undefined;
    const regexOutcomes = new Set<FlagValue>();
    for (const condition of filters.groups ?? []) {
      const scope = this.conditionScope(flag, condition, bucketingValue, properties);
      if (scope === 'skip') continue;
      if (scope === 'undecided') {
        doubt ??= new Inconclusive(
          'a condition needs group properties that were not given',
          'context',
          false,
          'missing_context',
        );
        reason = strongerReason(reason, 'missing_context');
        continue;
      }
      try {
        const match = this.conditionMatch(flag, condition, scope.bucketingValue, scope.properties);
        if (match === 'match') {
          const value = conditionValue(flag, condition, scope.bucketingValue);
          const disagree = doubt?.regex && [...regexOutcomes].some((outcome) => outcome !== value);
          return disagree ? undecided(doubt!, reason) : value;
        }
        if (earlyExit && match === 'out_of_rollout') {
          if (doubt) break;
          return false;
        }
      } catch (error) {
        if (!isInconclusive(error) || error.kind === 'server') throw error;
        doubt = doubt?.regex ? doubt : error;
        reason = strongerReason(reason, error.reason);
        if (error.regex) regexOutcomes.add(regexOutcome(flag, condition, scope.bucketingValue, earlyExit));
      }
    }
    if (doubt) undecided(doubt, reason);
    return false;
  }

  /**
   * Whom a condition is about: the flag's subject, or the group its own `aggregation_group_type_index` names
   * (`skip` when the context has no such group, `undecided` when it has no properties for it).
   */
  private conditionScope(
    flag: FlagDefinition,
    condition: FlagCondition,
    bucketingValue: string,
    properties: Record<string, unknown>,
  ): { bucketingValue: string; properties: Record<string, unknown> } | 'skip' | 'undecided' {
    const flagAggregation = flag.filters?.aggregation_group_type_index;
    const aggregation =
      condition.aggregation_group_type_index !== undefined ? condition.aggregation_group_type_index : flagAggregation;
    if (aggregation === flagAggregation || aggregation == null) return { bucketingValue, properties };
    const groupType = this.groupType(aggregation);
    if (!groupType || !Object.hasOwn(this.subject.groups, groupType)) return 'skip';
    if (!Object.hasOwn(this.subject.groupProperties, groupType)) return 'undecided';
    return { bucketingValue: this.subject.groups[groupType]!, properties: this.subject.groupProperties[groupType]! };
  }

  /**
   * Whether every property of the condition matches and the user is within its rollout. A property that cannot
   * be decided makes the condition undecided, unless another one does not match.
   */
  private conditionMatch(
    flag: FlagDefinition,
    condition: FlagCondition,
    bucketingValue: string,
    properties: Record<string, unknown>,
  ): 'match' | 'no_match' | 'out_of_rollout' {
    const rollout = condition.rollout_percentage;
    const filters = condition.properties ?? [];
    if (filters.length > 0) {
      let doubt: Inconclusive | undefined;
      let reason: LocalUnresolvedReason | undefined;
      let needsServer: Inconclusive | undefined;
      for (const property of filters) {
        let matches: boolean;
        try {
          matches = this.matchFilter(property, properties);
        } catch (error) {
          if (!isInconclusive(error)) {
            if (doubt) break;
            throw error;
          }
          if (error.kind === 'server' && !doubt) needsServer ??= error;
          doubt = doubt?.regex ? doubt : error;
          reason = strongerReason(reason, error.reason);
          continue;
        }
        if (!matches) return 'no_match';
      }
      if (needsServer) throw needsServer;
      if (doubt) throw new Inconclusive(`a condition of ${flag.key} cannot be decided`, 'context', doubt.regex, reason);
      if (rollout == null) return 'match';
    }
    if (isRolledOut(flag.key, bucketingValue, rollout)) return 'out_of_rollout';
    return 'match';
  }

  /**
   * One property filter: a cohort (its own filters matched the same way), a flag dependency, or a property of the
   * user (or group); a missing property is undecided ({@link matchProperty}).
   */
  private matchFilter(property: FlagProperty, properties: Record<string, unknown>): boolean {
    if (property.type === 'cohort') return this.cohortMatcher(properties).match(property);
    if (property.type === 'flag') return this.matchDependency(property);
    return matchProperty(property, properties, this.options);
  }

  /** The cohort matcher for these properties: each cohort's membership computed once per evaluation. */
  private cohortMatcher(properties: Record<string, unknown>): CohortMatcher {
    let matcher = this.cohortMatchers.get(properties);
    if (!matcher) {
      matcher = new CohortMatcher(this.definitions.data.cohorts, (leaf) => this.matchFilter(leaf, properties));
      this.cohortMatchers.set(properties, matcher);
    }
    return matcher;
  }

  /**
   * `flag_evaluates_to`: evaluates the `dependency_chain` in order (each flag once per evaluation), then compares
   * the property's flag with the expected value (`true` matches any variant). As in posthog-node, the flag is
   * looked up among the dependencies evaluated so far: one in no chain yet matches nothing.
   */
  private matchDependency(property: FlagProperty): boolean {
    const chain = property.dependency_chain;
    if (!Array.isArray(chain)) throw new Inconclusive(`flag dependency ${property.key} has no dependency_chain`);
    if (chain.length === 0) throw new Inconclusive(`flag dependency ${property.key} is circular`);
    const { byKey, filteredOut } = this.definitions;
    if (chain.some((key) => typeof key !== 'string' || (!byKey.has(key) && !filteredOut.has(key)))) {
      throw new Inconclusive(`a dependency of ${property.key} is not defined`);
    }
    for (const key of chain as string[]) this.dependencies.set(key, this.dependencyValue(byKey.get(key)));
    return evaluatesTo(property.value, this.dependencies.get(property.key));
  }

  /**
   * A dependency's value: off when inactive or left out for the evaluation contexts (posthog-node's
   * `filteredOutFlagKeys`); a doubt about it is a doubt about the flag that depends on it.
   */
  private dependencyValue(flag: FlagDefinition | undefined): FlagValue {
    if (!flag?.active) return false;
    try {
      return this.outcome(flag);
    } catch (error) {
      if (isInconclusive(error) && error.kind === 'server') throw error;
      throw new Inconclusive(
        `dependency ${flag.key} cannot be decided`,
        'context',
        isInconclusive(error) && error.regex,
        'unresolved_dependency',
      );
    }
  }
}

/** What computing a flag's value threw, remembered to be thrown again. */
class Thrown {
  constructor(readonly error: unknown) {}
}

/** Throws the doubt as the flag's: it cannot be decided here. */
function undecided(doubt: Inconclusive, reason: LocalUnresolvedReason | undefined): never {
  throw new Inconclusive('no condition could be decided', 'context', doubt.regex, reason ?? doubt.reason);
}

/** Whether a dependency's value is what the property expects: `true` matches any variant, a string its variant. */
function evaluatesTo(expected: unknown, value: FlagValue | undefined): boolean {
  if (typeof expected === 'boolean')
    return expected === value || (expected && typeof value === 'string' && value !== '');
  if (typeof expected === 'string') return value === expected;
  return false;
}
