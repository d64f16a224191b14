import type { FlagErrors } from '../exposures/flag-errors.js';
import type { LocalUnresolvedReason } from '../local/engine/unresolved-reason.js';
import type { ReadResults } from './flag-results.js';

/**
 * What every stage of the evaluation path answers: a plain object, read-only once handed out. An answer may be
 * shared (a coalesced evaluation's, a held one, the fresh window's remembered answer to a cache read), so a stage
 * that changes one makes an object of its own.
 */
export interface StageAnswer {
  /** Every result known: local ones, then what the later stages answered for the rest. Read-only. */
  results: ReadResults;
  /**
   * The defined flags local evaluation left undecided, and why: only local evaluation gives reasons (none without
   * definitions, none from the stages after it: {@link NO_REASONS}).
   */
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>;
  /**
   * Keys named that neither PostHog nor the fallback cache could answer (PostHog failed, was not asked, or left
   * them out of an incomplete answer, and nothing was known of them): the keys asked, or (every flag asked) those
   * PostHog failed to compute.
   */
  unanswered?: readonly string[];
  /**
   * Every flag was asked and the results may lack flags that no one named: PostHog did not answer and the cache did
   * not hold the user's whole set, or PostHog said its answer was incomplete.
   */
  partial?: true;
  /** What the exposures of these results say in `$feature_flag_error` (see {@link FlagErrors}). */
  errors?: FlagErrors;
}

/** No undecided flags: the `unresolved` of an answer local evaluation had no part in. */
export const NO_REASONS: ReadonlyMap<string, LocalUnresolvedReason> = new Map();

/**
 * The results as an answer of a stage after local evaluation, frozen, its `unanswered` too (answers are shared):
 * `unanswered`, the keys of `named` (the keys asked, or those PostHog named and failed to compute) that they lack;
 * `partial` when they may lack flags no one named; `errors` when there are any.
 */
export function answerOf(
  results: ReadResults,
  named?: readonly string[],
  partial = false,
  errors?: FlagErrors,
): StageAnswer {
  const answer: StageAnswer = { results, unresolved: NO_REASONS };
  const unanswered = named?.filter((key) => !results.has(key));
  if (unanswered?.length) answer.unanswered = Object.freeze(unanswered);
  if (partial) answer.partial = true;
  if (errors) answer.errors = errors;
  return Object.freeze(answer);
}
