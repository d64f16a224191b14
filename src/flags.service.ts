import { Inject, Injectable } from '@nestjs/common';
import { firstValueFrom, type Observable } from 'rxjs';
import type { CachedFlags, FlagCache } from './cache/flag-cache.js';
import { freshness } from './fresh-window.js';
import { contextKey, toFlagContext } from './flag-context.js';
import { FLAG_CACHE, FLAGS_CONFIG } from './flags.constants.js';
import type { FlagsEvent, FlagsStatus } from './flags.events.js';
import { FlagsMonitor } from './flags.monitor.js';
import type { ResolvedFlagsOptions } from './flags.options.js';
import { flagValue, type EvaluatedFlag, type FlagContext, type FlagResult, type FlagSource, type FlagValue } from './flags.types.js';
import { Coalescer } from './pipeline/coalesce.js';
import { isCompleteAnswer, type ParsedFlags } from './upstream/flags-response.js';
import { FlagsUpstream } from './upstream/flags-upstream.js';

/**
 * The longest an evaluation held with `reuseUntil` is reused after it was answered: a streaming response must not
 * pin a user's flags for hours.
 */
const MAX_REUSE_MS = 1000;

/**
 * Evaluates PostHog feature flags. Answers from the cache within the `fresh` window (refreshing it behind the
 * answer for up to another window), else asks PostHog; when it cannot answer, serves each flag's last known result
 * from the fallback cache. Never rejects because PostHog or the cache failed: what is not known is absent from the
 * answer.
 */
@Injectable()
export class FlagsService {
  /** Evaluations in flight (or held for reuse), by context and keys: they share one cache read and one answer. */
  private readonly inFlight = new Coalescer<Map<string, FlagResult>>(MAX_REUSE_MS);
  /** Upstream calls in flight, by context and keys, whether a caller waits on them or they refresh the cache. */
  private readonly asking = new Coalescer<Answer>();
  /**
   * Refreshes behind the answer, by context and keys. Each lasts until its answer is in the cache: a read in
   * between would still find the old entries, and must not start another.
   */
  private readonly refreshing = new Coalescer<void>();
  private readonly freshSeconds: number;
  /**
   * Every evaluation, upstream failure, circuit change and cache error, as typed {@link FlagsEvent}s; the
   * distinct id is included only with the option `eventsIncludeDistinctId`.
   */
  readonly events$: Observable<FlagsEvent>;

  constructor(
    private readonly upstream: FlagsUpstream,
    @Inject(FLAG_CACHE) private readonly cache: FlagCache,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
    private readonly monitor: FlagsMonitor,
  ) {
    this.freshSeconds = config.cache.freshSeconds;
    this.events$ = monitor.events$;
  }

  /** Whether PostHog is answering, the circuit's state, the cache's, and where answers came from. */
  status(): FlagsStatus {
    return this.monitor.status({ backend: this.cache.backend, connected: this.cache.connected });
  }

  /** Whether `key` is on for the user; `false` when nothing is known. A string context is a distinct id. */
  async isEnabled(key: string, context: FlagContext | string): Promise<boolean> {
    return (await this.getFlagResult(key, context))?.enabled ?? false;
  }

  /** The flag's variant, else whether it is on; `undefined` when nothing is known. */
  async getFlag(key: string, context: FlagContext | string): Promise<FlagValue | undefined> {
    const result = await this.getFlagResult(key, context);
    return result && flagValue(result);
  }

  /** The flag's payload, parsed from JSON; `undefined` when it has none or nothing is known. */
  async getPayload<T = unknown>(key: string, context: FlagContext | string): Promise<T | undefined> {
    return (await this.getFlagResult(key, context))?.payload as T | undefined;
  }

  /** The whole result for one flag, with its `source`; `undefined` when nothing is known. */
  async getFlagResult(key: string, context: FlagContext | string): Promise<FlagResult | undefined> {
    return (await this.evaluate(context, [key])).get(key);
  }

  /** Every flag's value for the user (on fallback: every flag cached for that user). */
  async getAllFlags(context: FlagContext | string): Promise<Record<string, FlagValue>> {
    const results = await this.evaluate(context);
    return Object.fromEntries([...results.values()].map((result) => [result.key, flagValue(result)]));
  }

  /**
   * Evaluates the given flag keys (or every flag) for the context in one upstream call, answering from the
   * fallback cache what PostHog could not. The map holds only what is known.
   *
   * Evaluations of the same context share their work: a call joins one in flight for the same keys, or for
   * every flag; with `reuseUntil`, this evaluation stays joinable until that settles, for at most 1 s after it was
   * answered (the `@FeatureFlag` guard holds its evaluation until the response has been sent, so the handler's
   * calls reuse it).
   * @throws {TypeError} for an empty distinct id or flag key.
   */
  async evaluate(
    context: FlagContext | string,
    keys?: readonly string[],
    options: { reuseUntil?: PromiseLike<unknown> } = {},
  ): Promise<Map<string, FlagResult>> {
    const subject = toFlagContext(context);
    keys?.forEach(assertFlagKey);
    const who = contextKey(subject);
    const everyFlag = `${who}\n*`;
    const runKey = keys ? `${who}\n${JSON.stringify(keys)}` : everyFlag;
    const results = await (this.inFlight.get(everyFlag) ??
      this.inFlight.run(runKey, () => this.evaluateNow(runKey, subject, keys), options.reuseUntil));
    const answer = keys ? onlyKeys(results, keys) : new Map(results);
    this.monitor.evaluated(answer, keys, subject.distinctId);
    return answer;
  }

  /**
   * The cache-first window, else PostHog. Past the window (from the user's refresh point up to twice its length)
   * the cache still answers while one upstream call refreshes it behind the answer.
   */
  private async evaluateNow(runKey: string, subject: FlagContext, keys?: readonly string[]): Promise<Map<string, FlagResult>> {
    if (this.freshSeconds === 0) return this.askPostHog(runKey, subject, keys);
    const cached = await this.readCache(subject.distinctId, keys);
    const age = freshness(cached, this.freshSeconds, subject.distinctId);
    if (age === 'stale') this.refreshBehind(runKey, subject, keys);
    if (age === 'expired') return this.askPostHog(runKey, subject, keys, cached);
    return withSource(cached.flags, 'cache');
  }

  /**
   * PostHog's answer, completed from the fallback cache with what PostHog could not answer; the cache is read
   * only then, and only when `cached` is not given.
   */
  private async askPostHog(
    runKey: string,
    subject: FlagContext,
    keys: readonly string[] | undefined,
    cached?: CachedFlags,
  ): Promise<Map<string, FlagResult>> {
    const { parsed } = await this.ask(runKey, subject, keys);
    if (parsed && isCompleteAnswer(parsed)) return withSource(parsed.flags.values(), 'remote');
    const fallbacks = (cached ?? (await this.readCache(subject.distinctId, keys))).flags;
    if (!parsed) return withSource(fallbacks, 'fallback');
    const results = withSource(parsed.flags.values(), 'remote');
    for (const flag of fallbacks) {
      if (!results.has(flag.key) && (parsed.incomplete || parsed.failed.has(flag.key))) {
        results.set(flag.key, resultOf(flag, 'fallback'));
      }
    }
    return results;
  }

  /**
   * Refreshes the cache behind the answer with one upstream call; joins a refresh whose answer is not in the cache
   * yet.
   */
  private refreshBehind(runKey: string, subject: FlagContext, keys?: readonly string[]): void {
    void this.refreshing.run(runKey, async () => (await this.ask(runKey, subject, keys)).remembered);
  }

  /**
   * PostHog's answer, written to the cache behind it. One call per context and keys at a time: asking while one is
   * in flight joins it. Never rejects.
   */
  private ask(runKey: string, subject: FlagContext, keys?: readonly string[]): Promise<Answer> {
    return this.asking.run(runKey, async () => {
      let parsed: ParsedFlags;
      try {
        parsed = await firstValueFrom(this.upstream.evaluate(subject, keys));
      } catch (error) {
        this.monitor.upstreamFailed(error);
        return { remembered: Promise.resolve() };
      }
      this.monitor.upstreamSucceeded();
      const whole = keys === undefined && isCompleteAnswer(parsed);
      return { parsed, remembered: this.remember(subject.distinctId, [...parsed.flags.values()], whole) };
    });
  }

  /** What the cache holds for the keys (all when undefined); nothing when the cache fails. */
  private async readCache(distinctId: string, keys: readonly string[] | undefined): Promise<CachedFlags> {
    if (keys?.length === 0) return { flags: [], complete: false };
    try {
      const cached = await this.cache.read(distinctId, keys);
      this.monitor.cacheSucceeded(this.cache.backend);
      return cached;
    } catch (error) {
      this.monitor.cacheFailed(this.cache.backend, error);
      return { flags: [], complete: false };
    }
  }

  /**
   * Writes fresh results to the cache behind the answer: the caller does not wait, and errors are only logged.
   * Settles when the write is done or has failed; never rejects.
   */
  private async remember(distinctId: string, flags: EvaluatedFlag[], whole: boolean): Promise<void> {
    if (flags.length === 0) return;
    await this.cache.write(distinctId, flags, whole).then(
      () => this.monitor.cacheSucceeded(this.cache.backend),
      (error: unknown) => this.monitor.cacheFailed(this.cache.backend, error),
    );
  }
}

function assertFlagKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw new TypeError('FlagsService: key must be a non-empty string');
}

/** The flags as results from `source`, by key. */
function withSource(flags: Iterable<EvaluatedFlag>, source: FlagSource): Map<string, FlagResult> {
  const results = new Map<string, FlagResult>();
  for (const flag of flags) results.set(flag.key, resultOf(flag, source));
  return results;
}

/**
 * The flag as a result from `source`. Built field by field: an object spread with an added property takes V8's
 * slow path (about a microsecond), and this runs for every flag of every answer.
 */
function resultOf(flag: EvaluatedFlag, source: FlagSource): FlagResult {
  const result: FlagResult = { key: flag.key, enabled: flag.enabled, evaluatedAt: flag.evaluatedAt, source };
  if (flag.variant !== undefined) result.variant = flag.variant;
  if (flag.payload !== undefined) result.payload = flag.payload;
  if (flag.reason !== undefined) result.reason = flag.reason;
  return result;
}

/** A map of its own, holding only the results of `keys`. */
function onlyKeys(results: Map<string, FlagResult>, keys: readonly string[]): Map<string, FlagResult> {
  const answer = new Map<string, FlagResult>();
  for (const key of keys) {
    const result = results.get(key);
    if (result) answer.set(key, result);
  }
  return answer;
}

/**
 * What asking PostHog gave: its answer (none when it could not answer; the monitor was told) and the cache write
 * of it.
 */
interface Answer {
  parsed?: ParsedFlags;
  /** Settles when the answer is in the cache (or writing it failed); never rejects. */
  remembered: Promise<void>;
}
