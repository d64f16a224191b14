import type { FlagErrors } from '../exposures/flag-errors.js';
import type { LocalUnresolvedReason } from '../local/engine/unresolved-reason.js';
import type { ReadResults } from './flag-results.js';

/**
 * What an evaluation answers: the answer of the path's way in (`OverridesStage`) and of `LocalFirstStage`. The stages
 * after local evaluation answer `RemoteResults`: the same results and marks on the map itself, without
 * `unresolved`, which only local evaluation gives (a map of their own, not wrapped: the memory cache hands the same
 * one out on every request).
 */
export interface StageAnswer {
  /** Every result known: local ones, then what the later stages answered for the rest. Read-only. */
  results: ReadResults;
  /** The defined flags local evaluation left undecided, and why (none without definitions). */
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>;
  /** Keys asked further that neither PostHog nor the fallback cache could answer (see `RemoteResults`). */
  unanswered?: readonly string[];
  /** Every flag was asked further, and the answer may lack flags no one named (see `RemoteResults`). */
  partial?: true;
  /** What the exposures of the later stages' answer say in `$feature_flag_error` (see `RemoteResults`). */
  errors?: FlagErrors;
}
