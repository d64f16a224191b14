import type { FlagResult, FlagValue } from '../../flags.types.js';
import type { Definitions } from '../definitions.js';
import { askedOfServer } from './evaluation-runtime.js';
import type { LocalSubject } from './local-subject.js';
import { isInconclusive } from './inconclusive.js';
import { localResult, LocalResults } from './local-results.js';
import { SubjectEvaluation } from './subject-evaluation.js';
import type { LocalUnresolvedReason } from './unresolved-reason.js';

/** What local evaluation decided, and what it left for PostHog. */
export interface LocalAnswer {
  /** Each decided flag's result, by key: `source: 'local'`, `reason` `Evaluated locally`, frozen. Read-only. */
  results: ReadonlyMap<string, FlagResult>;
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
    const result = localResultOf(evaluation, definitions, key, unresolved, now);
    if (result) results.set(key, result);
    else if (askedOfServer(definitions.byKey.get(key))) undecided.push(key);
  }
  return { results, undecided, unresolved };
}

/**
 * Every defined flag for the subject, as {@link evaluateLocally} evaluates it, each flag's result built when first
 * read ({@link LocalResults}): what a request asks, however many flags the project holds.
 */
export function evaluateEveryFlag(definitions: Definitions, subject: LocalSubject, now: Date): LocalAnswer {
  const results = new LocalResults(definitions, subject, now);
  const undecided: string[] = [];
  for (const key of results.unresolved.keys()) if (askedOfServer(definitions.byKey.get(key))) undecided.push(key);
  return { results, undecided, unresolved: results.unresolved };
}

/**
 * The flag's result; `undefined` when it is not defined or cannot be decided here (then why, in `unresolved`).
 */
function localResultOf(
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
  return localResult(definitions, key, value, now);
}
