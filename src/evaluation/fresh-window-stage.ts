import { Inject, Injectable } from '@nestjs/common';
import type { CachedFlags } from '../cache/flag-cache.js';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { CacheAccess } from './cache-access.js';
import type { Evaluation } from './evaluation.js';
import { withStoredSource, type FlagResults, type MaybePromise } from './flag-results.js';
import { freshness } from './fresh-window.js';
import { UpstreamStage } from './upstream-stage.js';

/**
 * The cache-first window (the cache URL's `fresh`): a young enough cache entry for the same context answers
 * (`cache`), synchronously when the cache is in memory; past the window, up to twice its length, the cache still
 * answers while one upstream call refreshes it behind the answer; older, the {@link UpstreamStage} answers.
 */
@Injectable()
export class FreshWindowStage {
  private readonly freshSeconds: number;
  /** The results of a read, by the read: the memory cache hands out the same read until its entries change. */
  private readonly cacheResults = new WeakMap<CachedFlags, FlagResults>();

  constructor(
    private readonly cache: CacheAccess,
    private readonly upstream: UpstreamStage,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
  ) {
    this.freshSeconds = config.cache.freshSeconds;
  }

  /** The cached results when young enough for the context, else PostHog's answer. */
  evaluate(evaluation: Evaluation): MaybePromise<FlagResults> {
    if (this.freshSeconds === 0) return this.upstream.evaluate(evaluation);
    const cached = this.cache.read(evaluation.context.distinctId, evaluation.keys);
    return cached instanceof Promise
      ? cached.then((read) => this.answerFromCache(evaluation, read))
      : this.answerFromCache(evaluation, cached);
  }

  private answerFromCache(evaluation: Evaluation, cached: CachedFlags): MaybePromise<FlagResults> {
    const age = freshness(cached, this.freshSeconds, evaluation.context.distinctId, evaluation.fingerprint);
    if (age === 'stale') this.upstream.refreshBehind(evaluation);
    if (age === 'expired') return this.upstream.evaluate(evaluation, cached);
    let results = this.cacheResults.get(cached);
    if (!results) this.cacheResults.set(cached, (results = withStoredSource(cached.flags, 'cache')));
    return results;
  }
}
