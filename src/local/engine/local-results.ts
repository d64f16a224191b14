import type { FlagResult, FlagValue } from '../../flags.types.js';
import { isPlainValue, upFrontFor, upFrontPlan } from './decided-ahead.js';
import type { Definitions, FlagDefinition } from '../definitions.js';
import { isInconclusive } from './inconclusive.js';
import type { LocalSubject } from './local-subject.js';
import { SubjectEvaluation } from './subject-evaluation.js';
import type { LocalUnresolvedReason } from './unresolved-reason.js';
import { MapView } from '../../util/map-view.js';

/** The `reason` of a locally evaluated result (posthog-node's words). */
export const LOCAL_REASON = 'Evaluated locally';

/** A flag with no value here: undefined, or undecided (its reason is in {@link LocalResults.unresolved}). */
const NO_VALUE = undefined;

/** No flag left undecided: shared by the answers that have none (maps made only when needed: they are many). */
const NONE_UNRESOLVED: ReadonlyMap<string, LocalUnresolvedReason> = new Map();

/** A flag decided whatever its value ({@link upFrontPlan}), computed when first read. */
const PENDING = Symbol('pending');

/**
 * Local evaluation's answer to every defined flag for one subject, pinned to the definitions, the subject and the
 * time it was made with. A slot per flag, in the definitions' order: the value of a flag that may be left
 * undecided is computed when the answer is made (which flags go to PostHog in the same call depends on the
 * subject's values); a flag decided whatever its value ({@link upFrontPlan}: a plain rollout, a flag turned off, plain
 * comparisons of person properties the subject holds) is computed when first read. Each flag's
 * {@link FlagResult} is built the first time it is read, then kept (frozen), with the mark the reads' record leaves
 * on it ({@link markRead}). A map, read-only: `get`, `has`, `size` and `keys()` compute only what they are asked; the
 * iterations ({@link MapView}) what they hand out.
 */
export class LocalResults extends MapView<string, FlagResult> {
  /** Each flag's value, by its position in `definitions.order`; {@link NO_VALUE} when it has none here. */
  private readonly slots: (FlagValue | typeof NO_VALUE | typeof PENDING)[];
  /** The results read so far, by key, each with the mark its reader left ({@link markRead}). */
  private built?: Map<string, BuiltResult>;
  /** Why each flag without a value could not be decided. */
  readonly unresolved: ReadonlyMap<string, LocalUnresolvedReason>;
  /** How many flags have a value. */
  readonly size: number;

  constructor(
    private readonly definitions: Definitions,
    private readonly subject: LocalSubject,
    private readonly evaluatedAt: Date,
  ) {
    super();
    let evaluation: SubjectEvaluation | undefined;
    let unresolved: Map<string, LocalUnresolvedReason> | undefined;
    const values = new Array<FlagValue | typeof NO_VALUE | typeof PENDING>(definitions.order.length).fill(PENDING);
    for (const index of upFrontFor(upFrontPlan(definitions), plainProperties(subject))) {
      const flag = definitions.order[index]!;
      try {
        values[index] = (evaluation ??= new SubjectEvaluation(definitions, subject, evaluatedAt)).outcome(flag);
      } catch (error) {
        // Undecidable (or definitions too odd to evaluate): PostHog decides.
        values[index] = NO_VALUE;
        (unresolved ??= new Map()).set(flag.key, isInconclusive(error) ? error.reason : 'unsupported_definition');
      }
    }
    this.slots = values;
    this.unresolved = unresolved ?? NONE_UNRESOLVED;
    this.size = values.length - this.unresolved.size;
  }

  /** How many results were built (read) so far. */
  get builtCount(): number {
    return this.built?.size ?? 0;
  }

  /** The flag's result, built (and its value computed) on its first read; `undefined` when it has none. */
  get(key: string): FlagResult | undefined {
    const known = this.built?.get(key);
    if (known) return known.result;
    const index = this.definitions.indexOf.get(key);
    if (index === undefined) return undefined;
    let value = this.slots[index];
    if (value === NO_VALUE) return undefined;
    if (value === PENDING) value = this.slots[index] = this.pendingValue(this.definitions.order[index]!);
    const result = localResult(this.definitions, key, value, this.evaluatedAt);
    (this.built ??= new Map()).set(key, { result, readMark: undefined });
    return result;
  }

  /** The mark left on the flag's read by {@link markRead}, if its result was built and marked. */
  readMark(key: string): object | undefined {
    return this.built?.get(key)?.readMark;
  }

  /**
   * Leaves `mark` on the flag's read (its result built first): the reads' record (`FlagReads`) marks what it has
   * recorded for the answer's user, so that a read of the same result on the user's next request is told apart
   * where the result already is, with no lookup of its own.
   */
  markRead(key: string, mark: object): void {
    if (!this.get(key)) return;
    this.built!.get(key)!.readMark = mark;
  }

  /**
   * A pending flag's value: decided whatever its value, so computing it does not throw; were it to (definitions odder
   * than {@link upFrontPlan} foresaw), the flag reads as off rather than failing the read.
   */
  private pendingValue(flag: FlagDefinition): FlagValue {
    // An evaluation of its own, let go after: a pending flag depends on no other, and a remembered answer keeps
    // nothing it does not need.
    try {
      return new SubjectEvaluation(this.definitions, this.subject, this.evaluatedAt).outcome(flag);
    } catch {
      return false;
    }
  }

  /** Whether the flag has a result, without building it. */
  has(key: string): boolean {
    const index = this.definitions.indexOf.get(key);
    return index !== undefined && this.slots[index] !== NO_VALUE;
  }

  /** The keys of the flags with a result, in the definitions' order, without building them. */
  *keys(): MapIterator<string> {
    const { order } = this.definitions;
    for (let index = 0; index < order.length; index++) if (this.slots[index] !== NO_VALUE) yield order[index]!.key;
  }
}

/** A result built, and the mark its reader left ({@link LocalResults.markRead}). */
interface BuiltResult {
  readonly result: FlagResult;
  readMark: object | undefined;
}

/** The flag's result for its value: `source: 'local'`, `reason` {@link LOCAL_REASON}, frozen (its payload already is). */
export function localResult(definitions: Definitions, key: string, value: FlagValue, evaluatedAt: Date): FlagResult {
  const definition = definitions.byKey.get(key)!;
  const flag: FlagResult = { key, enabled: value !== false, evaluatedAt, reason: LOCAL_REASON, source: 'local' };
  if (typeof value === 'string') flag.variant = value;
  const payload = value === false ? undefined : definitions.payloads.get(key)?.get(String(value));
  if (payload !== undefined) flag.payload = payload;
  if (typeof definition.id === 'number') flag.id = definition.id;
  if (typeof definition.version === 'number') flag.version = definition.version;
  if (typeof definition.has_experiment === 'boolean') flag.hasExperiment = definition.has_experiment;
  return Object.freeze(flag);
}

/** Whether each person property of the subject holds a plain value ({@link isPlainValue}), checked once per name. */
function plainProperties(subject: LocalSubject): (name: string) => boolean {
  const known = new Map<string, boolean>();
  const properties = subject.personProperties;
  return (name) => {
    let plain = known.get(name);
    if (plain === undefined) {
      plain = Object.hasOwn(properties, name) && isPlainValue(properties[name]);
      known.set(name, plain);
    }
    return plain;
  };
}
