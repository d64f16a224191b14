import { isRecord } from '../util/is-record.js';
import { deepFreeze } from '../util/deep-freeze.js';
import { kindOf } from '../util/kind-of.js';

/** One property filter of a release condition or cohort, as PostHog sends it. */
export interface FlagProperty {
  key: string;
  /** `person` (the default), `group`, `cohort` or `flag`. */
  type?: string;
  value?: unknown;
  /** `exact` when absent. */
  operator?: string;
  /** In a cohort: the property must not match. */
  negation?: boolean;
  /** For `type: 'flag'`: the flag keys to evaluate first, in order; empty for a cycle. */
  dependency_chain?: unknown;
}

/** One release condition of a flag. */
export interface FlagCondition {
  properties?: FlagProperty[];
  /** Percent of matching users in the condition (a float); `null` or absent: 100. */
  rollout_percentage?: number | null;
  /** The variant this condition forces, when it is one of the flag's variants. */
  variant?: string | null;
  /** The group type this condition is about, when it differs from the flag's. */
  aggregation_group_type_index?: number | null;
}

/** A flag definition as `GET /flags/definitions` sends it (snake case). */
export interface FlagDefinition {
  id?: number;
  key: string;
  active?: boolean;
  deleted?: boolean;
  version?: number;
  ensure_experience_continuity?: boolean;
  /** `device_id`: bucket by the device id rather than the distinct id. */
  bucketing_identifier?: string | null;
  /** Where the flag may be evaluated: `client`, `server`, or `all` (also when absent or anything else). */
  evaluation_runtime?: string | null;
  /** The evaluation contexts the flag is limited to (none: every one); see {@link keptFlags}. */
  evaluation_contexts?: unknown;
  /** The older name of {@link evaluation_contexts}, read when that is absent. */
  evaluation_tags?: unknown;
  /** Whether an experiment uses the flag: its exposures are then never minimal. */
  has_experiment?: unknown;
  filters?: {
    groups?: FlagCondition[];
    multivariate?: { variants?: { key: string; rollout_percentage: number }[] } | null;
    /** JSON strings, by `"true"` or by variant key. */
    payloads?: Record<string, unknown> | null;
    aggregation_group_type_index?: number | null;
    early_exit?: boolean;
    holdout?: { id?: number | null; exclusion_percentage?: number | string | null } | null;
  };
}

/** A cohort's property group: AND/OR of nested groups or of properties. */
export interface CohortGroup {
  type?: string;
  values?: (CohortGroup | FlagProperty)[];
}

/**
 * A project's flag definitions in the shape PostHog sends them, which is also the shared Redis value (PostHog's
 * published flag-definition cache provider): `{ flags, group_type_mapping, cohorts }`, snake case.
 */
export interface FlagDefinitionsData {
  flags: FlagDefinition[];
  /** Group type index (as a string) → group type name. */
  group_type_mapping: Record<string, string>;
  /** Cohort id (as a string) → its property group; static cohorts are absent. */
  cohorts: Record<string, CohortGroup>;
  /** PostHog's property matching semantics version, when the server says it. */
  property_matching_version?: number;
  /**
   * PostHog's gate for lean exposures: `$feature_flag_called` of a flag without an experiment carries only the
   * properties posthog-node's `minimizeFlagCalledEventProperties` keeps. Present only when `true`.
   */
  minimal_flag_called_events?: true;
}

/**
 * Definitions ready for evaluation: the data as loaded, and its flags by key (those kept for the module's evaluation
 * contexts). Never mutated once built.
 */
export interface Definitions {
  readonly data: FlagDefinitionsData;
  readonly byKey: ReadonlyMap<string, FlagDefinition>;
  /** The flags of `byKey`, in its order: an answer to every flag keeps a slot per flag, by position. */
  readonly order: readonly FlagDefinition[];
  /** Each flag's position in `order`, by key. */
  readonly indexOf: ReadonlyMap<string, number>;
  /**
   * The flags left out for the module's evaluation contexts ({@link keptFlags}): a dependency on one is not a missing
   * one, and evaluates to `false`, as posthog-node's `filteredOutFlagKeys`.
   */
  readonly filteredOut: ReadonlySet<string>;
  /**
   * Each flag's payloads by flag key, then by `"true"` or variant key: parsed from JSON once per set of
   * definitions and deeply frozen, so that every answer shares them.
   */
  readonly payloads: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /**
   * Whether any flag or cohort compares dates (`is_date_before`, `is_date_after`): only then can an answer change
   * with the clock (relative dates) while the definitions and the context stay the same.
   */
  readonly comparesDates: boolean;
}

/** A definitions body or shared value that cannot be used; what was loaded stays. */
export class DefinitionsFormatError extends Error {
  constructor(problem: string) {
    super(`flag definitions: ${problem}`);
    this.name = 'DefinitionsFormatError';
  }
}

/**
 * The usable part of a definitions body (from PostHog or from the shared key): flags with a string key, the group
 * type mapping and the cohorts. Anything else PostHog adds is left out.
 * @throws {DefinitionsFormatError} when it is not an object with a `flags` array.
 */
export function parseDefinitions(body: unknown): FlagDefinitionsData {
  if (!isRecord(body)) throw new DefinitionsFormatError(`expected an object, got ${kindOf(body)}`);
  if (!Array.isArray(body.flags))
    throw new DefinitionsFormatError(`"flags" must be an array, got ${kindOf(body.flags)}`);
  const flags = body.flags.filter(
    (flag): flag is FlagDefinition => isRecord(flag) && typeof flag.key === 'string' && flag.key !== '',
  );
  const data: FlagDefinitionsData = {
    flags,
    group_type_mapping: recordOrEmpty(body.group_type_mapping) as Record<string, string>,
    cohorts: recordOrEmpty(body.cohorts) as Record<string, CohortGroup>,
  };
  if (typeof body.property_matching_version === 'number') {
    data.property_matching_version = body.property_matching_version;
  }
  // posthog-node reads the snake-case name, else the camel-case one.
  if ((body.minimal_flag_called_events ?? body.minimalFlagCalledEvents) === true)
    data.minimal_flag_called_events = true;
  return data;
}

/**
 * The definitions indexed for evaluation: only the flags kept for `evaluationContexts` ({@link keptFlags}), the
 * others named in {@link Definitions.filteredOut}.
 */
export function indexDefinitions(data: FlagDefinitionsData, evaluationContexts: readonly string[] = []): Definitions {
  const kept = keptFlags(data.flags, evaluationContexts);
  const byKey = new Map(kept.map((flag) => [flag.key, flag]));
  const filteredOut = new Set(data.flags.filter((flag) => !byKey.has(flag.key)).map((flag) => flag.key));
  const payloads = new Map<string, ReadonlyMap<string, unknown>>();
  for (const [key, flag] of byKey) {
    const parsed = parsedPayloads(flag.filters?.payloads);
    if (parsed.size > 0) payloads.set(key, parsed);
  }
  const order = [...byKey.values()];
  const indexOf = new Map(order.map((flag, index) => [flag.key, index]));
  const dates = comparesDates(kept) || comparesDates(data.cohorts);
  return { data, byKey, order, indexOf, filteredOut, payloads, comparesDates: dates };
}

/**
 * The flags evaluated under the module's evaluation contexts, as posthog-node's `filterFlagsByEvaluationContexts`:
 * every flag when none are configured; else a flag whose `evaluation_contexts` (or older `evaluation_tags`) names
 * none of them is left out, and one that names none at all is kept. Tags that are not strings count for nothing; a
 * value that is not an array is no tags.
 */
export function keptFlags(flags: FlagDefinition[], evaluationContexts: readonly string[]): FlagDefinition[] {
  if (evaluationContexts.length === 0) return flags;
  const configured = new Set(evaluationContexts);
  return flags.filter((flag) => {
    const tags = flag.evaluation_contexts ?? flag.evaluation_tags;
    if (!Array.isArray(tags) || tags.length === 0) return true;
    return tags.some((tag) => typeof tag === 'string' && configured.has(tag));
  });
}

/**
 * A flag's payloads by their own keys (`"true"`, a variant: any name, `__proto__` included), each parsed from JSON
 * (text that is not JSON is the payload itself) and deeply frozen; empty ones are left out.
 */
function parsedPayloads(payloads: unknown): Map<string, unknown> {
  const parsed = new Map<string, unknown>();
  if (!isRecord(payloads)) return parsed;
  for (const [key, raw] of Object.entries(payloads)) {
    if (raw) parsed.set(key, deepFreeze(typeof raw === 'string' ? parseJsonText(raw) : raw));
  }
  return parsed;
}

/** The JSON text parsed; the text itself when it is not JSON. */
function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The operators that compare a property with a date, which may be relative to now. */
const DATE_OPERATORS = new Set(['is_date_before', 'is_date_after']);

/**
 * Whether a date operator appears anywhere in `root`: a walk of the whole JSON, so that no odd shape hides one, with
 * a stack of its own, so that no depth overflows the call stack.
 */
function comparesDates(root: unknown): boolean {
  for (const pending = [root]; pending.length > 0;) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (DATE_OPERATORS.has((value as { operator?: unknown }).operator as string)) return true;
    for (const inner of Object.values(value)) pending.push(inner);
  }
  return false;
}

/** The empty set of definitions PostHog's quota limit (`402`) leaves: nothing is evaluated locally. */
export const NO_DEFINITIONS: FlagDefinitionsData = Object.freeze({
  flags: [],
  group_type_mapping: {},
  cohorts: {},
}) as FlagDefinitionsData;

function recordOrEmpty(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
