import type { FlagResult, FlagValue } from '../flags.types.js';
import type { Definitions } from './definitions.js';
import { askedOfServer } from './evaluation-runtime.js';
import type { LocalSubject } from './local-subject.js';
import { isInconclusive } from './inconclusive.js';
import { SubjectEvaluation } from './subject-evaluation.js';
import type { LocalUnresolvedReason } from './unresolved-reason.js';

/** The `reason` of a locally evaluated result (posthog-node's words). */
export const LOCAL_REASON = 'Evaluated locally';

/** What local evaluation decided, and what it left for PostHog. */
export interface LocalAnswer {
  /** Each decided flag's result, by key: `source: 'local'`, `reason` {@link LOCAL_REASON}. */
  results: Map<string, FlagResult>;
  /**
   * The keys left for PostHog's `/flags`: absent from the definitions, or undecided here and not marked `client`
   * (see {@link askedOfServer}). A `client` flag undecided here is in none of the three.
   */
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
  const evaluation = new SubjectEvaluation(definitions, subject, now);
  const results = new Map<string, FlagResult>();
  const undecided: string[] = [];
  const unresolved = new Map<string, LocalUnresolvedReason>();
  for (const key of keys ?? definitions.byKey.keys()) {
    const result = localResult(evaluation, definitions, key, unresolved, now);
    if (result) results.set(key, result);
    else if (askedOfServer(definitions.byKey.get(key))) undecided.push(key);
  }
  return { results, undecided, unresolved };
}

/**
 * The flag's result; `undefined` when it is not defined or cannot be decided here (then why, in `unresolved`).
 */
function localResult(
  evaluation: SubjectEvaluation,
  definitions: Definitions,
  key: string,
  unresolved: Map<string, LocalUnresolvedReason>,
  now: Date,
): FlagResult | undefined {
  const definition = definitions.byKey.get(key);
  if (!definition) return undefined;
  let value: FlagValue;
  try {
    value = evaluation.outcome(definition);
  } catch (error) {
    // Undecidable (or definitions too odd to evaluate): PostHog decides.
    unresolved.set(key, isInconclusive(error) ? error.reason : 'unsupported_definition');
    return undefined;
  }
  const flag: FlagResult = { key, enabled: value !== false, evaluatedAt: now, reason: LOCAL_REASON, source: 'local' };
  if (typeof value === 'string') flag.variant = value;
  const payload = value === false ? undefined : definitions.payloads.get(key)?.get(String(value));
  if (payload !== undefined) flag.payload = payload;
  if (typeof definition.id === 'number') flag.id = definition.id;
  if (typeof definition.version === 'number') flag.version = definition.version;
  if (typeof definition.has_experiment === 'boolean') flag.hasExperiment = definition.has_experiment;
  return flag;
}
