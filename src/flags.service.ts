import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { firstValueFrom, type Observable } from 'rxjs';
import type { CachedFlags, FlagCache } from './cache/flag-cache.js';
import { freshness } from './evaluation/fresh-window.js';
import { contextFingerprint, contextKey, parseFlagContext } from './evaluation/flag-context.js';
import { kindOf } from './util/kind-of.js';
import { FLAG_CACHE, FLAGS_CONFIG, LIBRARY_NAME } from './flags.constants.js';
import type { FlagsEvent, FlagsStatus } from './monitor/flags-events.js';
import { FlagsMonitor } from './monitor/flags-monitor.js';
import type { ResolvedFlagsOptions } from './options/flags-options.js';
import {
  flagValue,
  type EvaluatedFlag,
  type FlagContext,
  type FlagResult,
  type FlagSource,
  type FlagValue,
  type PostHogBootstrap,
} from './flags.types.js';
import { FlagsOverrides } from './overrides/flags-overrides.js';
import { ExposureQueue } from './exposures/exposure-queue.js';
import { DefinitionsPoller } from './local/definitions-poller.js';
import { LocalAnswers } from './local/local-answers.js';
import { Coalescer } from './pipeline/coalesce.js';
import { isCompleteAnswer, type ParsedFlags } from './upstream/flags-response.js';
import { FlagsUpstream } from './upstream/flags-upstream.js';

/*
 * The data path, top to bottom of this file:
 *
 *   evaluate(context, keys)              validate (the guard: evaluateEveryFlag, synchronous when it can be)
 *   └ evaluateLocalFirst                 the flag definitions decide what they can ('local'), synchronously,
 *     │                                  remembered per context (LocalAnswers); only the keys they leave
 *     │                                  undecided go on (none with onlyLocal)
 *     └ evaluateShared                   join an evaluation in flight for the same context (inFlight)
 *       └ evaluateNow                    fresh window: a cache read for the same context answers 'cache'
 *           └ evaluateUpstream           slots all taken and the user known: 'fallback' at once
 *               ├ knownIfSlow            no answer within fallbackAfterMs and the user known: 'fallback'
 *               └ callPostHog            one call per context and keys (asking): FlagsUpstream's rxjs pipeline
 *                   ├ answered           'remote', written to the cache behind the answer (remember)
 *                   └ failed             the cache's last known results, 'fallback'; nothing known: absent
 */

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
export class FlagsService implements BeforeApplicationShutdown, OnApplicationBootstrap {
  private readonly logger = new Logger(LIBRARY_NAME);
  /** Evaluations in flight (or held for reuse), by context and keys: they share one cache read and one answer. */
  private readonly inFlight = new Coalescer<Map<string, FlagResult>>(MAX_REUSE_MS);
  /** Upstream calls in flight, by context and keys, whether a caller waits on them or they refresh the cache. */
  private readonly asking = new Coalescer<Answer>();
  /**
   * Refreshes behind the answer, by context and keys. Each lasts until its answer is in the cache: a read in
   * between would still find the old entries, and must not start another.
   */
  private readonly refreshing = new Coalescer<void>();
  /** Local evaluation's answers to every flag, by context, for the definitions loaded. */
  private readonly localAnswers = new LocalAnswers();
  private readonly freshSeconds: number;
  private readonly fallbackAfterMs: number;
  /** Local evaluation's `onlyLocal`: what the definitions leave undecided is unknown, not asked of PostHog. */
  private readonly onlyLocal: boolean;
  /** Evaluations started and not settled yet; shutdown waits for them (they answer from the cache). */
  private evaluationsInFlight = 0;
  private whenIdle?: () => void;
  /**
   * Every evaluation, upstream failure, circuit change and cache error, as typed {@link FlagsEvent}s; the
   * distinct id is included only with the option `eventsIncludeDistinctId`.
   */
  readonly events$: Observable<FlagsEvent>;

  constructor(
    private readonly upstream: FlagsUpstream,
    @Inject(FLAG_CACHE) private readonly cache: FlagCache,
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly monitor: FlagsMonitor,
    private readonly overrides: FlagsOverrides,
    private readonly exposures: ExposureQueue,
    private readonly definitions: DefinitionsPoller,
  ) {
    this.freshSeconds = config.cache.freshSeconds;
    this.fallbackAfterMs = config.fallbackAfterMs;
    this.onlyLocal = config.localEvaluation !== false && config.localEvaluation.onlyLocal;
    this.events$ = monitor.events$;
  }

  /** Says, once at startup, what no one should forget: overrides in force, or running offline. */
  onApplicationBootstrap(): void {
    const { overridesFrom, offline } = this.config;
    if (!overridesFrom) return;
    this.logger.warn(
      `flags overridden for every user by ${overridesFrom}: ${this.overrides.keys.join(', ')}; ` +
        'remove them before production',
    );
    if (offline) this.logger.warn('no PostHog API key: running offline; flags that are not overridden are unknown');
  }

  /** Whether PostHog is answering, the circuit's state, the cache's, and where answers came from. */
  status(): FlagsStatus {
    const cache = { backend: this.cache.backend, connected: this.cache.connected };
    return {
      ...this.monitor.status(cache),
      exposures: this.exposures.status(),
      definitions: this.definitions.status(),
    };
  }

  /**
   * Whether `key` is on for the user; `false` when nothing is known. A string context is a distinct id. Sends the
   * user's exposure (`$feature_flag_called`) unless `{ sendEvent: false }`.
   */
  async isEnabled(key: string, context: FlagContext | string, options?: ExposureOptions): Promise<boolean> {
    return (await this.getFlagResult(key, context, options))?.enabled ?? false;
  }

  /** The flag's variant, else whether it is on; `undefined` when nothing is known. Sends the exposure as `isEnabled`. */
  async getFlag(key: string, context: FlagContext | string, options?: ExposureOptions): Promise<FlagValue | undefined> {
    const result = await this.getFlagResult(key, context, options);
    return result && flagValue(result);
  }

  /** The flag's payload, parsed from JSON; `undefined` when it has none or nothing is known. */
  async getPayload<T = unknown>(key: string, context: FlagContext | string): Promise<T | undefined> {
    return (await this.getFlagResult(key, context, { sendEvent: false }))?.payload as T | undefined;
  }

  /** The whole result for one flag, with its `source`; `undefined` when nothing is known. */
  async getFlagResult(
    key: string,
    context: FlagContext | string,
    options: ExposureOptions = {},
  ): Promise<FlagResult | undefined> {
    const flagContext = parseFlagContext(context);
    assertFlagKey(key);
    const result = (await this.evaluateParsed(flagContext, [key])).get(key);
    if (result && options.sendEvent !== false) this.exposures.exposed(flagContext, result);
    return result;
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
   * @throws {TypeError} for an empty distinct id, malformed groups or properties, `keys` that is not an array of
   * non-empty strings, or a `reuseUntil` that is not a promise.
   */
  async evaluate(
    context: FlagContext | string,
    keys?: readonly string[],
    options: { reuseUntil?: PromiseLike<unknown> } = {},
  ): Promise<Map<string, FlagResult>> {
    const flagContext = parseFlagContext(context);
    assertEvaluateArguments(keys, options);
    return this.evaluateParsed(flagContext, keys, options.reuseUntil);
  }

  /** {@link evaluate} for a context and keys already validated. */
  private async evaluateParsed(
    flagContext: FlagContext,
    keys?: readonly string[],
    reuseUntil?: PromiseLike<unknown>,
  ): Promise<Map<string, FlagResult>> {
    let answer: Map<string, FlagResult>;
    if (this.overrides.coversAll(flagContext, keys)) {
      answer = new Map();
    } else {
      const hold = reuseUntil && (() => reuseUntil);
      const results = await this.evaluateLocalFirst(flagContext, contextKey(flagContext), keys, hold);
      answer = keys ? onlyKeys(results, keys) : new Map(results);
    }
    this.overrides.applyTo(answer, flagContext, keys);
    this.monitor.evaluated(answer, keys, flagContext.distinctId);
    return answer;
  }

  /**
   * The user's flags in posthog-js's `bootstrap` shape, from one evaluation of every flag (the guard's, when it
   * is still held for this request), for a server-rendered page to hand to the browser.
   * @throws {TypeError} as {@link evaluate}.
   */
  async bootstrap(context: FlagContext | string): Promise<PostHogBootstrap> {
    const flagContext = parseFlagContext(context);
    const results = await this.evaluateParsed(flagContext);
    const featureFlags: Record<string, FlagValue> = {};
    const featureFlagPayloads: Record<string, unknown> = {};
    for (const result of results.values()) {
      featureFlags[result.key] = flagValue(result);
      if (result.payload !== undefined) featureFlagPayloads[result.key] = result.payload;
    }
    return { distinctID: flagContext.distinctId, featureFlags, featureFlagPayloads };
  }

  /**
   * Every flag for a context already parsed, as the `@FeatureFlag` guard asks: at once, without a promise, when the
   * cache can answer synchronously (a `fresh` hit in the memory cache), else as {@link evaluate} does, held until
   * `holdUntil()` settles (called only then). The map is the caller's own.
   * @internal
   */
  evaluateEveryFlag(
    context: FlagContext,
    contextId: string,
    exposed: readonly string[],
    holdUntil?: () => PromiseLike<unknown>,
  ): Map<string, FlagResult> | Promise<Map<string, FlagResult>> {
    const results = this.evaluateLocalFirst(context, contextId, undefined, holdUntil);
    if (!(results instanceof Promise)) return this.answered(results, context, exposed);
    return results.then((shared) => this.answered(new Map(shared), context, exposed));
  }

  /** The caller's own map of every flag, overrides applied, counted, the `exposed` keys' exposures sent. */
  private answered(
    results: Map<string, FlagResult>,
    context: FlagContext,
    exposed: readonly string[],
  ): Map<string, FlagResult> {
    this.overrides.applyTo(results, context, undefined);
    this.monitor.evaluated(results, undefined, context.distinctId);
    for (const key of exposed) {
      const result = results.get(key);
      if (result) this.exposures.exposed(context, result);
    }
    return results;
  }

  /**
   * Settles once every evaluation in flight has settled: the upstream pipeline ended their calls when the
   * application began to shut down, so they are answering from the cache, which must stay open until they have.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.evaluationsInFlight > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
  }

  /**
   * The keys (every flag when undefined) evaluated from the flag definitions where they decide, synchronously (a
   * context's answer to every flag is remembered until the definitions change: {@link LocalAnswers}); the
   * undecided ones (or all, without definitions) as {@link evaluateShared} does, under the evaluation's own key so
   * that callers of the same context and keys share them. With `onlyLocal` the undecided ones stay unknown.
   */
  private evaluateLocalFirst(
    context: FlagContext,
    contextId: string,
    keys: readonly string[] | undefined,
    holdUntil?: () => PromiseLike<unknown>,
  ): Map<string, FlagResult> | Promise<Map<string, FlagResult>> {
    const definitions = this.definitions.definitions;
    if (!definitions) {
      this.localAnswers.forget();
      return this.evaluateShared(evaluationOf(context, contextId, keys), holdUntil);
    }
    const { results, undecided } = this.localAnswers.answer(definitions, contextId, context, keys, now);
    if (undecided.length === 0 || this.onlyLocal) return results;
    const rest = this.evaluateShared(evaluationOf(context, contextId, keys, undecided), holdUntil);
    return rest instanceof Promise ? rest.then((remote) => addAll(results, remote)) : addAll(results, rest);
  }

  /**
   * The evaluation in flight for the same context and keys (or every flag), else a new one: answered at once when
   * the cache answers synchronously, else shared with every caller until it settles, and after that until
   * `holdUntil()` settles (for at most 1 s).
   */
  private evaluateShared(
    evaluation: Evaluation,
    holdUntil?: () => PromiseLike<unknown>,
  ): Map<string, FlagResult> | Promise<Map<string, FlagResult>> {
    const running = this.inFlight.get(everyFlagKey(evaluation.contextId)) ?? this.inFlight.get(evaluation.key);
    if (running) return running;
    const now = this.evaluateNow(evaluation);
    if (!(now instanceof Promise)) return now;
    return this.inFlight.run(evaluation.key, () => this.tracked(now), holdUntil?.());
  }

  /** The evaluation, counted among those in flight until it settles (shutdown waits for them). */
  private async tracked(evaluation: Promise<Map<string, FlagResult>>): Promise<Map<string, FlagResult>> {
    this.evaluationsInFlight++;
    try {
      return await evaluation;
    } finally {
      if (--this.evaluationsInFlight === 0) this.whenIdle?.();
    }
  }

  /**
   * The cache-first window, else PostHog. Past the window (from the user's refresh point up to twice its length)
   * the cache still answers while one upstream call refreshes it behind the answer. Synchronous when the cache is.
   */
  private evaluateNow(evaluation: Evaluation): Map<string, FlagResult> | Promise<Map<string, FlagResult>> {
    if (this.freshSeconds === 0) return this.evaluateUpstream(evaluation);
    const cached = this.readCache(evaluation.context.distinctId, evaluation.keys);
    return cached instanceof Promise
      ? cached.then((read) => this.answerFromCache(evaluation, read))
      : this.answerFromCache(evaluation, cached);
  }

  /** The cached results when young enough for the context, else PostHog's answer (see {@link evaluateNow}). */
  private answerFromCache(
    evaluation: Evaluation,
    cached: CachedFlags,
  ): Map<string, FlagResult> | Promise<Map<string, FlagResult>> {
    const age = freshness(cached, this.freshSeconds, evaluation.context.distinctId, evaluation.fingerprint);
    if (age === 'stale') this.refreshBehind(evaluation);
    if (age === 'expired') return this.evaluateUpstream(evaluation, cached);
    return withSource(cached.flags, 'cache');
  }

  /**
   * PostHog's answer, completed from the fallback cache with what PostHog could not answer; the cache is read
   * only then, and only when `cached` is not given. While every upstream slot is taken, a user whose every flag
   * asked has a last known value is answered from the cache at once instead of waiting for a slot.
   */
  private async evaluateUpstream(evaluation: Evaluation, cached?: CachedFlags): Promise<Map<string, FlagResult>> {
    if (this.config.offline) return withSource((await this.lastKnown(evaluation, cached)).flags, 'fallback');
    if (this.upstream.saturated) {
      cached = await this.lastKnown(evaluation, cached);
      if (cached.complete) return withSource(cached.flags, 'fallback');
    }
    const call = this.callPostHog(evaluation);
    const early = this.fallbackAfterMs > 0 ? await this.knownIfSlow(call, evaluation, cached) : undefined;
    if (early) return withSource(early.flags, 'fallback');
    const { parsed } = await call;
    if (parsed && isCompleteAnswer(parsed)) return withSource(parsed.flags.values(), 'remote', parsed.requestId);
    const fallbacks = (await this.lastKnown(evaluation, cached)).flags;
    if (!parsed) return withSource(fallbacks, 'fallback');
    const results = withSource(parsed.flags.values(), 'remote', parsed.requestId);
    for (const flag of fallbacks) {
      if (!results.has(flag.key) && (parsed.incomplete || parsed.failed.has(flag.key))) {
        results.set(flag.key, resultOf(flag, 'fallback'));
      }
    }
    return results;
  }

  /**
   * The user's last known results when PostHog has not answered within `fallbackAfterMs` and the cache holds every
   * key asked; `undefined` when PostHog answered first or the cache cannot answer (the caller waits for PostHog,
   * the only way it gets an answer). The call goes on either way, and refreshes the cache when it answers.
   */
  private async knownIfSlow(
    call: Promise<Answer>,
    evaluation: Evaluation,
    cached: CachedFlags | undefined,
  ): Promise<CachedFlags | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<true>((resolve) => (timer = setTimeout(resolve, this.fallbackAfterMs, true)));
    const isSlow = await Promise.race([call.then(() => false), slow]);
    clearTimeout(timer);
    if (!isSlow) return undefined;
    const known = await this.lastKnown(evaluation, cached);
    return known.complete ? known : undefined;
  }

  /** The user's last known results for the evaluation's keys: `cached` when this evaluation read them already. */
  private lastKnown(evaluation: Evaluation, cached: CachedFlags | undefined): CachedFlags | Promise<CachedFlags> {
    return cached ?? this.readCache(evaluation.context.distinctId, evaluation.keys);
  }

  /**
   * Refreshes the cache behind the answer with one upstream call; joins a refresh whose answer is not in the cache
   * yet.
   */
  private refreshBehind(evaluation: Evaluation): void {
    void this.refreshing.run(evaluation.key, async () => (await this.callPostHog(evaluation)).remembered);
  }

  /**
   * PostHog's answer, written to the cache behind it. One call per context and keys at a time: asking while one is
   * in flight joins it. Never rejects.
   */
  private callPostHog(evaluation: Evaluation): Promise<Answer> {
    return this.asking.run(evaluation.key, async () => {
      const { context, keys } = evaluation;
      let parsed: ParsedFlags;
      try {
        parsed = await firstValueFrom(this.upstream.evaluate(context, keys));
      } catch (error) {
        this.monitor.upstreamFailed(error);
        return { remembered: Promise.resolve() };
      }
      this.monitor.upstreamSucceeded();
      const whole = keys === undefined && isCompleteAnswer(parsed);
      const flags = [...parsed.flags.values()];
      return { parsed, remembered: this.remember(context.distinctId, flags, whole, evaluation.fingerprint) };
    });
  }

  /**
   * What the cache holds for the keys (all when undefined); nothing when the cache fails. Synchronous when the cache
   * answers synchronously (memory).
   */
  private readCache(distinctId: string, keys: readonly string[] | undefined): CachedFlags | Promise<CachedFlags> {
    if (keys?.length === 0) return NOTHING_CACHED;
    let read: CachedFlags | Promise<CachedFlags>;
    try {
      read = this.cache.read(distinctId, keys);
    } catch (error) {
      return this.cacheReadFailed(error);
    }
    if (read instanceof Promise) return read.then(this.cacheReadSucceeded, this.cacheReadFailed);
    return this.cacheReadSucceeded(read);
  }

  private readonly cacheReadSucceeded = (read: CachedFlags): CachedFlags => {
    this.monitor.cacheSucceeded();
    return read;
  };

  private readonly cacheReadFailed = (error: unknown): CachedFlags => {
    this.monitor.cacheFailed(this.cache.backend, error);
    return NOTHING_CACHED;
  };

  /**
   * Writes fresh results to the cache behind the answer: the caller does not wait, and errors are only logged.
   * Settles when the write is done or has failed; never rejects.
   */
  private async remember(distinctId: string, flags: EvaluatedFlag[], whole: boolean, context: string): Promise<void> {
    if (flags.length === 0) return;
    await this.cache.write(distinctId, flags, whole, context).then(
      () => this.monitor.cacheSucceeded(),
      (error: unknown) => this.monitor.cacheFailed(this.cache.backend, error),
    );
  }
}

/** Per-call options of the calls that send exposures. */
export interface ExposureOptions {
  /** `false`: send no `$feature_flag_called` event for this call. Default: the module's `sendFeatureFlagEvents`. */
  sendEvent?: boolean;
}

/** What a cache that failed, or was asked for no key, holds. */
const NOTHING_CACHED: CachedFlags = Object.freeze({ flags: [], complete: false }) as CachedFlags;

/** The clock of local evaluations. */
function now(): Date {
  return new Date();
}

/** The key every-flag evaluations of a context are shared under. */
function everyFlagKey(contextId: string): string {
  return `${contextId}\n*`;
}

/**
 * The evaluation of `keys` (every flag when undefined) for a parsed context, shared under that question's key;
 * `remoteKeys`: only these are asked of PostHog and the cache (the ones local evaluation left undecided).
 */
function evaluationOf(
  context: FlagContext,
  contextId: string,
  keys?: readonly string[],
  remoteKeys: readonly string[] | undefined = keys,
): Evaluation {
  const key = keys ? `${contextId}\n${JSON.stringify(keys)}` : everyFlagKey(contextId);
  return { key, context, contextId, fingerprint: contextFingerprint(context, contextId), keys: remoteKeys };
}

/** `results` with every entry of `more` added. */
function addAll(results: Map<string, FlagResult>, more: Map<string, FlagResult>): Map<string, FlagResult> {
  for (const [key, result] of more) results.set(key, result);
  return results;
}

/** One evaluation's question: for whom, which keys (every flag when undefined), and the key it is shared under. */
interface Evaluation {
  /** Shared by every evaluation of the same context and keys (coalescing, refreshes). */
  key: string;
  context: FlagContext;
  /** The context's {@link contextKey}. */
  contextId: string;
  /** What cached results remember of the context ({@link contextFingerprint}): `''` for a bare distinct id. */
  fingerprint: string;
  /** The keys asked of PostHog and the cache (every flag when undefined): the question's, less what was local. */
  keys?: readonly string[];
}

/** @throws {TypeError} for keys that are not an array of non-empty strings, or a `reuseUntil` that is no promise. */
function assertEvaluateArguments(keys: unknown, options: { reuseUntil?: unknown }): void {
  if (keys !== undefined) {
    if (!Array.isArray(keys)) {
      throw new TypeError(`FlagsService.evaluate: keys must be an array of flag keys, got ${kindOf(keys)}`);
    }
    keys.forEach(assertFlagKey);
  }
  const { reuseUntil } = options ?? {};
  if (reuseUntil !== undefined && typeof (reuseUntil as PromiseLike<unknown>)?.then !== 'function') {
    throw new TypeError(`FlagsService.evaluate: reuseUntil must be a promise, got ${kindOf(reuseUntil)}`);
  }
}

function assertFlagKey(key: unknown): void {
  if (typeof key !== 'string' || key === '') throw new TypeError('FlagsService: key must be a non-empty string');
}

/** The flags as results from `source`, by key. */
function withSource(flags: Iterable<EvaluatedFlag>, source: FlagSource, requestId?: string): Map<string, FlagResult> {
  const results = new Map<string, FlagResult>();
  for (const flag of flags) results.set(flag.key, resultOf(flag, source, requestId));
  return results;
}

/**
 * The flag as a result from `source`. Built field by field: an object spread with an added property takes V8's
 * slow path (about a microsecond), and this runs for every flag of every answer.
 */
function resultOf(flag: EvaluatedFlag, source: FlagSource, requestId?: string): FlagResult {
  const result: FlagResult = { key: flag.key, enabled: flag.enabled, evaluatedAt: flag.evaluatedAt, source };
  if (flag.variant !== undefined) result.variant = flag.variant;
  if (flag.payload !== undefined) result.payload = flag.payload;
  if (flag.reason !== undefined) result.reason = flag.reason;
  if (flag.id !== undefined) result.id = flag.id;
  if (flag.version !== undefined) result.version = flag.version;
  if (requestId !== undefined) result.requestId = requestId;
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
