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
   */
  evaluate(
    context: FlagContext,
    contextId: string,
    keys: readonly string[] | undefined,
    options?: LocalFirstOptions,
  ): MaybePromise<StageAnswer> {
    if (this.overrides.coversAll(context, keys))
      return this.answered({ results: new Map(), unresolved: new Map() }, context, keys);
    const answer = this.next.evaluate(context, contextId, keys, options);
    if (!(answer instanceof Promise)) return this.answered(answer, context, keys);
    return this.answeredLater(answer, context, keys);
  }

  /** {@link answered} once the stages answered (a continuation of its own: see `FeatureFlagGuard`). */
  private answeredLater(
    answer: Promise<StageAnswer>,
    context: FlagContext,
    keys: readonly string[] | undefined,
  ): Promise<StageAnswer> {
    return answer.then((shared) => this.answered(shared, context, keys));
  }

  /** The answer, only the keys asked, with the overrides applied (in a map of its own when there are any), counted. */
  private answered(answer: StageAnswer, context: FlagContext, keys: readonly string[] | undefined): StageAnswer {
    const asked = keys ? onlyKeys(answer.results, keys) : answer.results;
    const unresolved = keys ? onlyReasons(answer.unresolved, keys) : answer.unresolved;
    const results = this.overrides.appliedTo(asked, context, keys);
    if (keys) this.monitor.evaluated(results, keys, context.distinctId);
    else this.monitor.evaluated(results, answer.unanswered, context.distinctId, answer.partial);
    return results === answer.results && unresolved === answer.unresolved ? answer : { ...answer, results, unresolved };
  }
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
