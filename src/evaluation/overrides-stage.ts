import { Inject, Injectable } from '@nestjs/common';
import type { FlagContext } from '../flags.types.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import { FlagsOverrides } from '../overrides/flags-overrides.js';
import { onlyKeys, type MaybePromise, type ReadResults } from './flag-results.js';
import { AFTER_OVERRIDES, type ContextStage, type LocalFirstOptions } from './stage-links.js';
import type { StageAnswer } from './stage-answer.js';

/**
 * The way into the evaluation path, and its first stage: overrides. When an override fixes every key asked for the
 * context, nothing is asked further; else the question goes on to the next stage (`LocalFirstStage`: see
 * `evaluation-path.ts`) and the stages after it; the overrides are applied to the answer, which is counted.
 */
@Injectable()
export class OverridesStage {
  /**
   * Each shared results map (a remembered answer, a remembered cache read) as last narrowed to a route's keys (a
   * frozen list, asked on each of its requests): made once, not on every request.
   */
  private readonly narrowings = new WeakMap<ReadResults, Narrowing>();

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
    const asked = keys ? this.narrowed(answer, keys) : answer;
    const results = this.overrides.appliedTo(asked.results, context, keys);
    if (keys) this.monitor.evaluated(results, keys, context.distinctId);
    else this.monitor.evaluated(results, answer.unanswered, context.distinctId, answer.partial);
    return results === asked.results ? asked : { ...asked, results };
  }

  /** The answer to `keys` only: made once per shared answer for a frozen list of keys (see {@link narrowings}). */
  private narrowed(answer: StageAnswer, keys: readonly string[]): StageAnswer {
    if (!Object.isFrozen(keys)) return narrowedTo(answer, keys);
    const known = this.narrowings.get(answer.results);
    if (known && known.keys === keys && isSameAnswer(known.from, answer)) return known.answer;
    const narrowing = { keys, from: answer, answer: narrowedTo(answer, keys) };
    this.narrowings.set(answer.results, narrowing);
    return narrowing.answer;
  }
}

/** An answer narrowed to some keys, and what it was made from. */
interface Narrowing {
  keys: readonly string[];
  from: StageAnswer;
  answer: StageAnswer;
}

/** `answer` holding `keys` only. */
function narrowedTo(answer: StageAnswer, keys: readonly string[]): StageAnswer {
  return { ...answer, results: onlyKeys(answer.results, keys), unresolved: onlyReasons(answer.unresolved, keys) };
}

/** Whether two answers hold the same (a new answer object may wrap the same shared maps). */
function isSameAnswer(one: StageAnswer, other: StageAnswer): boolean {
  return (
    one === other ||
    (one.results === other.results &&
      one.unresolved === other.unresolved &&
      one.unanswered === other.unanswered &&
      one.partial === other.partial &&
      one.errors === other.errors)
  );
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
