import { Inject, Injectable } from '@nestjs/common';
import type { CachedFlags, FlagCache } from '../cache/flag-cache.js';
import { FLAG_CACHE } from '../flags.constants.js';
import type { EvaluatedFlag } from '../flags.types.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import type { MaybePromise } from './flag-results.js';

/** What a cache that failed, or was asked for no key, holds. */
export const NOTHING_CACHED: CachedFlags = Object.freeze({ flags: [], complete: false }) as CachedFlags;

/**
 * The evaluation's way to the fallback cache: reads that never fail (a failing cache holds nothing) and writes
 * behind the answer, each outcome told to the monitor.
 */
@Injectable()
export class CacheAccess {
  constructor(
    @Inject(FLAG_CACHE) private readonly cache: FlagCache,
    private readonly monitor: FlagsMonitor,
  ) {}

  /**
   * What the cache holds for the keys (all when undefined); nothing when the cache fails. Synchronous when the cache
   * answers synchronously (memory).
   */
  read(distinctId: string, keys: readonly string[] | undefined): MaybePromise<CachedFlags> {
    if (keys?.length === 0) return NOTHING_CACHED;
    let read: MaybePromise<CachedFlags>;
    try {
      read = this.cache.read(distinctId, keys);
    } catch (error) {
      return this.readFailed(error);
    }
    if (read instanceof Promise) return read.then(this.readSucceeded, this.readFailed);
    return this.readSucceeded(read);
  }

  /**
   * Writes fresh results to the cache behind the answer (`answered`: the keys answered, when more than the flags
   * kept; see `FlagCache.write`): the caller does not wait, and errors are only told to the monitor. Settles when
   * the write is done or has failed; never rejects.
   */
  async write(
    distinctId: string,
    flags: readonly EvaluatedFlag[],
    whole: boolean,
    context: string,
    answered?: readonly string[],
  ): Promise<void> {
    if ((answered ?? flags).length === 0) return;
    await this.cache.write(distinctId, flags, whole, context, answered).then(
      () => this.monitor.cacheSucceeded(),
      (error: unknown) => this.monitor.cacheFailed(this.cache.backend, error),
    );
  }

  private readonly readSucceeded = (read: CachedFlags): CachedFlags => {
    this.monitor.cacheSucceeded();
    return read;
  };

  private readonly readFailed = (error: unknown): CachedFlags => {
    this.monitor.cacheFailed(this.cache.backend, error);
    return NOTHING_CACHED;
  };
}
