import { Inject, Injectable } from '@nestjs/common';
import type { CachedFlags } from '../cache/flag-cache.js';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { CacheAccess } from './cache-access.js';
import type { Evaluation } from './evaluation.js';
import { withStoredSource, type MaybePromise } from './flag-results.js';
import { cacheWindow, freshnessIn, type CacheWindow } from './fresh-window.js';
import { answerOf, type StageAnswer } from './stage-answer.js';
import { UpstreamStage } from './upstream-stage.js';

/**
 * The cache-first window (the cache URL's `fresh`): a young enough cache entry for the same context answers
 * (`cache`), synchronously when the cache is in memory; past the window, up to twice its length, the cache still
 * answers while one upstream call refreshes it behind the answer; older, the {@link UpstreamStage} answers.
 */
@Injectable()
export class FreshWindowStage {
  private readonly freshSeconds: number;
  /**
   * What each read can answer, by the read: the memory cache hands out the same read until its entries change, so
   * its window and answer are made once, not on every request (the answer is shared: read-only).
   */
  private readonly readAnswers = new WeakMap<CachedFlags, ReadAnswer>();

  constructor(
    private readonly cache: CacheAccess,
    private readonly upstream: UpstreamStage,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
  ) {
    this.freshSeconds = config.cache.freshSeconds;
  }

  /** The cache's answer when young enough for the context (the same answer for each read), else PostHog's. */
  evaluate(evaluation: Evaluation): MaybePromise<StageAnswer> {
    if (this.freshSeconds === 0) return this.upstream.evaluate(evaluation);
    const cached = this.cache.read(evaluation.context.distinctId, evaluation.keys);
    return cached instanceof Promise
      ? this.answerOnceRead(evaluation, cached)
      : this.answerFromCache(evaluation, cached);
  }

  /** {@link answerFromCache} once read (a continuation of its own: see `FeatureFlagGuard`). */
  private answerOnceRead(evaluation: Evaluation, cached: Promise<CachedFlags>): Promise<StageAnswer> {
    return cached.then((read) => this.answerFromCache(evaluation, read));
  }

  private answerFromCache(evaluation: Evaluation, cached: CachedFlags): MaybePromise<StageAnswer> {
    const read = this.readAnswerOf(cached, evaluation);
    const age = freshnessIn(read.window, Date.now());
    if (age === 'stale') this.upstream.refreshBehind(evaluation);
    if (age === 'expired') return this.upstream.evaluate(evaluation, cached);
    return (read.answer ??= answerOf(withStoredSource(cached.flags, 'cache')));
  }

  /** What the read can answer for the evaluation's user and context, made once per read, user and context. */
  private readAnswerOf(cached: CachedFlags, { context, fingerprint }: Evaluation): ReadAnswer {
    const known = this.readAnswers.get(cached);
    if (known && known.distinctId === context.distinctId && known.fingerprint === fingerprint) return known;
    const window = cacheWindow(cached, this.freshSeconds, context.distinctId, fingerprint);
    const answer: ReadAnswer = { distinctId: context.distinctId, fingerprint, window };
    this.readAnswers.set(cached, answer);
    return answer;
  }
}

/** What one read can answer, for one user and context. */
interface ReadAnswer {
  distinctId: string;
  fingerprint: string;
  window: CacheWindow | undefined;
  /** Its entries as `cache` results, the answer of every evaluation the read answers: made once, frozen. */
  answer?: StageAnswer;
}
