import type { FlagContext, FlagResult, FlagValue } from '../flags.types.js';
import { matchCohort } from './cohorts.js';
import type { Definitions, FlagCondition, FlagDefinition, FlagProperty } from './definitions.js';
import { flagHash } from './flag-hash.js';
import { Inconclusive, isInconclusive } from './inconclusive.js';
import { strongerReason, type LocalUnresolvedReason } from './unresolved-reason.js';
import { matchProperty, type MatchOptions } from './property-match.js';

/** The `reason` of a locally evaluated result (posthog-node's words). */
export const LOCAL_REASON = 'Evaluated locally';

/** Whom a flag is evaluated for, with the properties PostHog's SDKs add for local evaluation. */
export interface LocalSubject {
  distinctId: string;
  groups: Readonly<Record<string, string>>;
  /** The person properties, with `distinct_id` (and `$device_id` from the context's `deviceId`). */
  personProperties: Readonly<Record<string, unknown>>;
  /** Each group's properties, with `$group_key`; only groups the context names. */
  groupProperties: Readonly<Record<string, Record<string, unknown>>>;
}

/** The context as posthog-node evaluates it locally: `distinct_id` among the person properties, `$group_key` in each group's. */
export function localSubject(context: FlagContext): LocalSubject {
  const groups = context.groups ?? {};
  const groupProperties: Record<string, Record<string, unknown>> = {};
  for (const [type, key] of Object.entries(groups)) {
    groupProperties[type] = { $group_key: key, ...context.groupProperties?.[type] };
  }
  const personProperties: Record<string, unknown> = { distinct_id: context.distinctId };
  if (context.deviceId !== undefined) personProperties.$device_id = context.deviceId;
  Object.assign(personProperties, context.personProperties);
  return { distinctId: context.distinctId, groups, personProperties, groupProperties };
}

/** What local evaluation decided, and what it left for PostHog. */
export interface LocalAnswer {
  /** Each decided flag's result, by key: `source: 'local'`, `reason` {@link LOCAL_REASON}. */
  results: Map<string, FlagResult>;
  /** The keys that cannot be decided here (absent from the definitions, or needing the server). */
  undecided: readonly string[];
  /** Why each defined flag among `undecided` could not be decided (PostHog's `unresolvedFlags`). */
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>;
}

/**
 * Evaluates `keys` (every defined flag when undefined) for the subject against one set of definitions: no I/O,
 * synchronous, the clock only through `now` (relative dates). Never throws.
 */
export function evaluateLocally(
  definitions: Definitions,
  subject: LocalSubject,
  keys: readonly string[] | undefined,
  now: Date,
): LocalAnswer {
  const evaluation = new Evaluation(definitions, subject, now);
  const results = new Map<string, FlagResult>();
  const undecided: string[] = [];
  const unresolved = new Map<string, LocalUnresolvedReason>();
  for (const key of keys ?? definitions.byKey.keys()) {
    const result = evaluation.result(key, unresolved);
    if (result) results.set(key, result);
    else undecided.push(key);
  }
  return { results, undecided, unresolved };
}

/** One subject's evaluation against one set of definitions; remembers flags evaluated as dependencies. */
class Evaluation {
  /** Flags evaluated as dependencies; made on the first dependency. */
  private values?: Map<string, FlagValue>;
  private readonly options: MatchOptions;

  constructor(
    private readonly definitions: Definitions,
    private readonly subject: LocalSubject,
    private readonly now: Date,
  ) {
    this.options = { matchingVersion: definitions.data.property_matching_version, now };
  }

  /**
   * The flag's result; `undefined` when it is not defined or cannot be decided here (then why, in `unresolved`).
   */
  result(key: string, unresolved: Map<string, LocalUnresolvedReason>): FlagResult | undefined {
    const definition = this.definitions.byKey.get(key);
    if (!definition) return undefined;
    let value: FlagValue;
    try {
      value = this.value(definition);
    } catch (error) {
      // Undecidable (or definitions too odd to evaluate): PostHog decides.
      unresolved.set(key, isInconclusive(error) ? error.reason : 'unsupported_definition');
      return undefined;
    }
    const flag: FlagResult = {
      key,
      enabled: value !== false,
      evaluatedAt: this.now,
      reason: LOCAL_REASON,
      source: 'local',
    };
    if (typeof value === 'string') flag.variant = value;
    const payload = payloadOf(definition, value);
    if (payload !== undefined) flag.payload = payload;
    if (typeof definition.id === 'number') flag.id = definition.id;
    if (typeof definition.version === 'number') flag.version = definition.version;
    return flag;
  }

  /** The flag's value: off when inactive or deleted, else from its group or person conditions. */
  private value(flag: FlagDefinition): FlagValue {
    if (!flag.active || flag.deleted) return false;
    if (flag.ensure_experience_continuity)
      throw new Inconclusive('experience continuity needs the server', 'context', false, 'experience_continuity');
    const aggregation = flag.filters?.aggregation_group_type_index;
    if (aggregation != null) {
      const groupType = this.definitions.data.group_type_mapping[String(aggregation)];
      if (!groupType) throw new Inconclusive(`unknown group type index ${aggregation}`);
      if (!Object.hasOwn(this.subject.groups, groupType)) return false;
      return this.matchConditions(flag, this.subject.groups[groupType]!, this.subject.groupProperties[groupType]!);
    }
    return this.matchConditions(flag, this.bucketingValue(flag), this.subject.personProperties);
  }

  /** The distinct id, or the device id for a flag bucketed by device. */
  private bucketingValue(flag: FlagDefinition): string {
    if (flag.bucketing_identifier !== 'device_id') return this.subject.distinctId;
    const deviceId = this.subject.personProperties.$device_id;
    if (deviceId == null || deviceId === '')
      throw new Inconclusive('a device-bucketed flag needs a device id', 'context', false, 'missing_context');
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
        if (error.regex) regexOutcomes.add(this.regexOutcome(flag, condition, scope.bucketingValue, earlyExit));
      }
    }
    if (doubt) undecided(doubt, reason);
    return false;
  }

  /** What a condition whose regex the server must judge would give if it matched (for the agreement check). */
  private regexOutcome(flag: FlagDefinition, condition: FlagCondition, bucketingValue: string, earlyExit: boolean) {
    const rollout = condition.rollout_percentage;
    if (earlyExit && isRolledOut(flag.key, bucketingValue, rollout)) return false;
    return conditionValue(flag, condition, bucketingValue);
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
    const groupType = this.definitions.data.group_type_mapping[String(aggregation)];
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
    if (property.type === 'cohort') {
      return matchCohort(property, this.definitions.data.cohorts, (leaf) => this.matchFilter(leaf, properties));
    }
    if (property.type === 'flag') return this.matchDependency(property);
    return matchProperty(property, properties, this.options);
  }

  /**
   * `flag_evaluates_to`: evaluates the `dependency_chain` in order (each flag once per evaluation), then compares
   * the property's flag with the expected value (`true` matches any variant).
   */
  private matchDependency(property: FlagProperty): boolean {
    const chain = property.dependency_chain;
    if (!Array.isArray(chain)) throw new Inconclusive(`flag dependency ${property.key} has no dependency_chain`);
    if (chain.length === 0) throw new Inconclusive(`flag dependency ${property.key} is circular`);
    const { byKey } = this.definitions;
    const values = (this.values ??= new Map());
    if (chain.some((key) => !values.has(key) && !byKey.has(key))) {
      throw new Inconclusive(`a dependency of ${property.key} is not defined`);
    }
    for (const key of chain as string[]) {
      if (values.has(key)) continue;
      const dependency = byKey.get(key);
      values.set(key, dependency?.active ? this.dependencyValue(dependency) : false);
    }
    return evaluatesTo(property.value, values.get(property.key));
  }

  private dependencyValue(flag: FlagDefinition): FlagValue {
    try {
      return this.value(flag);
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

/**
 * Whether the user's hash falls outside the rollout percentage (`null`: everyone is in). The hash is below 1, so
 * a rollout of 100 % or more needs none.
 */
function isRolledOut(key: string, bucketingValue: string, rollout: number | null | undefined): boolean {
  return rollout != null && rollout < 100 && flagHash(key, bucketingValue) > rollout / 100;
}

/** Throws the doubt as the flag's: it cannot be decided here. */
function undecided(doubt: Inconclusive, reason: LocalUnresolvedReason | undefined): never {
  throw new Inconclusive('no condition could be decided', 'context', doubt.regex, reason ?? doubt.reason);
}

/** The value of a matched condition: its own variant when the flag has it, else the user's variant, else `true`. */
function conditionValue(flag: FlagDefinition, condition: FlagCondition, bucketingValue: string): FlagValue {
  const variants = flag.filters?.multivariate?.variants ?? [];
  const forced = condition.variant;
  if (forced && variants.some((variant) => variant.key === forced)) return forced;
  return variantOf(flag.key, bucketingValue, variants) || true;
}

/** The variant whose cumulative range `[min, max)` holds the user's variant hash; `undefined` past the last. */
function variantOf(
  key: string,
  bucketingValue: string,
  variants: readonly { key: string; rollout_percentage: number }[],
): string | undefined {
  if (variants.length === 0) return undefined;
  const hash = flagHash(key, bucketingValue, 'variant');
  let min = 0;
  for (const variant of variants) {
    const max = min + variant.rollout_percentage / 100;
    if (hash >= min && hash < max) return variant.key;
    min = max;
  }
  return undefined;
}

/** `holdout-{id}` when the user falls in the flag's holdout group. */
function holdoutVariant(
  holdout: NonNullable<FlagDefinition['filters']>['holdout'],
  bucketingValue: string,
): string | undefined {
  if (holdout?.id == null || holdout.exclusion_percentage == null) return undefined;
  const raw = Number(holdout.exclusion_percentage);
  if (!Number.isFinite(raw)) return undefined;
  const percentage = Math.min(Math.max(raw, 0), 100);
  if (percentage !== 100 && flagHash('holdout', bucketingValue, '', '-') > percentage / 100) return undefined;
  return `holdout-${holdout.id}`;
}

/** Whether a dependency's value is what the property expects: `true` matches any variant, a string its variant. */
function evaluatesTo(expected: unknown, value: FlagValue | undefined): boolean {
  if (typeof expected === 'boolean')
    return expected === value || (expected && typeof value === 'string' && value !== '');
  if (typeof expected === 'string') return value === expected;
  return false;
}

/** The payload for the value (`"true"` or the variant's), parsed from JSON; none when off. */
function payloadOf(flag: FlagDefinition, value: FlagValue): unknown {
  const payloads = flag.filters?.payloads;
  if (value === false || !payloads) return undefined;
  const raw = payloads[value === true ? 'true' : value];
  if (!raw) return undefined;
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
