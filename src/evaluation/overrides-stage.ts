import { Inject, Injectable } from '@nestjs/common';
import type { FlagContext } from '../flags.types.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import { FlagsOverrides } from '../overrides/flags-overrides.js';
import { onlyKeys, type MaybePromise } from './flag-results.js';
import { AFTER_OVERRIDES, type ContextStage, type LocalFirstOptions } from './stage-links.js';
import type { StageAnswer } from './stage-answer.js';

/**
 * The way into the evaluation path, and its first stage: overrides. When an override fixes every key asked for the
 * context, nothing is asked further; else the question goes on to the next stage (`LocalFirstStage`: see
 * `evaluation-path.ts`) and the stages after it; the overrides are applied to the answer, which is counted.
 */
@Injectable()
export class OverridesStage {
  constructor(
    private readonly overrides: FlagsOverrides,
    @Inject(AFTER_OVERRIDES) private readonly next: ContextStage,
    private readonly monitor: FlagsMonitor,
  ) {}

  /**
   * The keys (every flag when undefined) for a context already parsed (`contextId` its `contextKey`): at once when
   * every stage answered synchronously, else a promise. The results map may be shared: read-only. Never rejects.
   * `orMore`: `keys` are the least the answer holds; an answer the stages give for more flags (local evaluation's
   * remembered answer to every flag) is handed on whole, not narrowed, unless an override is set: a route's snapshot
   * builds nothing per request.
   */
  evaluate(
    context: FlagContext,
    contextId: string,
    keys: readonly string[] | undefined,
    options?: LocalFirstOptions,
    orMore = false,
  ): MaybePromise<StageAnswer> {
    if (this.overrides.coversAll(context, keys))
      return this.answered({ results: new Map(), unresolved: new Map() }, context, keys, false);
    const answer = this.next.evaluate(context, contextId, keys, options);
    if (!(answer instanceof Promise)) return this.answered(answer, context, keys, orMore);
    return this.answeredLater(answer, context, keys, orMore);
  }

  /** {@link answered} once the stages answered (a continuation of its own: see `FeatureFlagGuard`). */
  private answeredLater(
    answer: Promise<StageAnswer>,
    context: FlagContext,
    keys: readonly string[] | undefined,
    orMore: boolean,
  ): Promise<StageAnswer> {
    return answer.then((shared) => this.answered(shared, context, keys, orMore));
  }

  /**
   * The answer, only the keys asked (unless `orMore` and no override is set: then as the stages gave it), with the
   * overrides applied (in a map of its own when there are any), counted.
   */
  private answered(
    answer: StageAnswer,
    context: FlagContext,
    keys: readonly string[] | undefined,
    orMore: boolean,
  ): StageAnswer {
    // With overrides set (tests, development), the keys asked only: an override is written over a copy of them.
    const asked = keys && (!orMore || this.overrides.active) ? narrowedTo(answer, keys) : answer;
    const results = this.overrides.appliedTo(asked.results, context, keys);
    if (keys) this.monitor.evaluatedKeys(results, keys, context.distinctId);
    else this.monitor.evaluatedEvery(results, answer.unanswered, context.distinctId, answer.partial);
    return results === asked.results ? asked : { ...asked, results };
  }
}

/** `answer` holding `keys` only. */
function narrowedTo(answer: StageAnswer, keys: readonly string[]): StageAnswer {
  return { ...answer, results: onlyKeys(answer.results, keys), unresolved: onlyReasons(answer.unresolved, keys) };
}

/** The reasons of `keys` only. */
function onlyReasons<T>(reasons: ReadonlyMap<string, T>, keys: readonly string[]): ReadonlyMap<string, T> {
  if (reasons.size === 0) return reasons;
  const only = new Map<string, T>();
  for (const key of keys) {
    const reason = reasons.get(key);
    if (reason !== undefined) only.set(key, reason);
  }
  return only;
}
