import type { FlagContext } from '../flags.types.js';
import type { Evaluation } from './evaluation.js';
import type { MaybePromise } from './flag-results.js';
import type { StageAnswer } from './stage-answer.js';

/** How one evaluation goes through the path's way in and local evaluation. */
export interface LocalFirstOptions {
  /** What the definitions leave undecided is unknown, not asked further. Default: the module's `onlyLocal`. */
  onlyLocal?: boolean;
  /**
   * Keeps the evaluation joinable by the same context until this settles (see `CoalescingStage`); an evaluation
   * of every flag is then held whole, local results included, as the context's answer.
   */
  reuseUntil?: () => PromiseLike<unknown>;
  /**
   * `geoip_disable` for what is asked of PostHog; default: the module's. When it is not the module's, `contextId` is
   * an `otherGeoipId`.
   */
  disableGeoip?: boolean;
}

/** A stage asked by context and keys (every flag when undefined): the one after overrides. */
export interface ContextStage {
  evaluate(
    context: FlagContext,
    contextId: string,
    keys: readonly string[] | undefined,
    options?: LocalFirstOptions,
  ): MaybePromise<StageAnswer>;
}

/**
 * A stage asked an {@link Evaluation} (what local evaluation left undecided), kept joinable until `reuseUntil()`
 * settles when it says so: the ones after local evaluation. The answer may be shared: read-only.
 */
export interface EvaluationStage {
  evaluate(evaluation: Evaluation, reuseUntil?: () => PromiseLike<unknown>): MaybePromise<StageAnswer>;
}

/** A token for the stage a stage hands on to, typed by what that stage must do (see `evaluation-path.ts`). */
export type NextStage<T> = symbol & { readonly stage?: T };

/** The stage after overrides. */
export const AFTER_OVERRIDES = Symbol('AFTER_OVERRIDES') as NextStage<ContextStage>;
/** The stage after local evaluation. */
export const AFTER_LOCAL_FIRST = Symbol('AFTER_LOCAL_FIRST') as NextStage<EvaluationStage>;
/** The stage after coalescing. */
export const AFTER_COALESCING = Symbol('AFTER_COALESCING') as NextStage<EvaluationStage>;
