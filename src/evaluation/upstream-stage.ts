import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import type { CachedFlags } from '../cache/flag-cache.js';
import { FLAGS_CONFIG } from '../flags.constants.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { Coalescer } from '../pipeline/coalesce.js';
import { isCompleteAnswer, type ParsedFlags } from '../upstream/flags-response.js';
import { FlagsUpstream } from '../upstream/flags-upstream.js';
import { UpstreamError, type UpstreamFailureReason } from '../pipeline/upstream-error.js';
import { LeanExposures } from '../exposures/lean-exposures.js';
import { answerErrors, failureErrors, type FlagErrors } from '../exposures/flag-errors.js';
import { CacheAccess } from './cache-access.js';
import { FlagReads } from './flag-reads.js';
import type { Evaluation } from './evaluation.js';
import { resultOf, withSource, withStoredSource, type MaybePromise, type ReadResults } from './flag-results.js';
import { answerOf, type StageAnswer } from './stage-answer.js';

/**
 * What asking PostHog gave: its answer (none when it could not answer; the monitor was told) and the cache write
 * of it.
 */
interface Answer {
  parsed?: ParsedFlags;
  /** Why PostHog could not answer, when it could not. */
  failure?: UpstreamFailureReason;
  /** Settles when the answer is in the cache (or writing it failed); never rejects. */
  remembered: Promise<void>;
}

/**
 * The last stage: PostHog's answer (`remote`, written to the cache behind it), completed with the user's last known
 * results (`fallback`) for what PostHog could not answer, did not answer within `fallbackAfterMs`, or could not be
 * asked (offline, every upstream slot taken). Never rejects.
 */
@Injectable()
export class UpstreamStage implements BeforeApplicationShutdown {
  /** Upstream calls in flight, by context and keys, whether a caller waits on them or they refresh the cache. */
  private readonly asking = new Coalescer<Answer>();
  /**
   * Refreshes behind the answer, by context and keys. Each lasts until its answer is in the cache: a read in
   * between would still find the old entries, and must not start another.
   */
  private readonly refreshing = new Coalescer<void>();
  /**
   * Refreshes found due, by context and keys, started together on the event loop's next turn: after the answers
   * that found them due, which do not wait for the calls to be made.
   */
  private readonly dueRefreshes = new Map<string, Evaluation>();
  /**
   * Each read's last known results as `fallback` results, made once, and its last answer: the memory cache hands out
   * the same read until its entries change, so an outage's requests of a user share one map of them and, asking the
   * same keys (a route's) for the same reason, one answer (both read-only), instead of making them per request.
   */
  private readonly fallbackAnswers = new WeakMap<CachedFlags, FallbackAnswer>();
  private dueRefreshesTimer?: NodeJS.Immediate;
  private closed = false;
  private readonly fallbackAfterMs: number;

  constructor(
    private readonly upstream: FlagsUpstream,
    private readonly cache: CacheAccess,
    private readonly reads: FlagReads,
    private readonly monitor: FlagsMonitor,
    private readonly lean: LeanExposures,
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
  ) {
    this.fallbackAfterMs = config.fallbackAfterMs;
  }

  /**
   * PostHog's answer, completed from the fallback cache with what PostHog could not answer; the cache is read
   * only then, and only when `cached` is not given. While every upstream slot is taken, a user whose every flag
   * asked has a last known value is answered from the cache at once instead of waiting for a slot. While the call
   * would fail at once (the circuit open), it is not built: the answer is the cache's, as for a call that failed.
   * Offline or refused, the answer is synchronous when the cache's read is (the memory cache's).
   */
  evaluate(evaluation: Evaluation, cached?: CachedFlags): MaybePromise<StageAnswer> {
    if (this.config.offline) return this.fromCache(evaluation, cached);
    const refusal = this.refusalOf(evaluation);
    if (!refusal) return this.asked(evaluation, cached);
    this.monitor.upstreamFailed(refusal);
    return this.fromCache(evaluation, cached, failureErrors(refusal.reason));
  }

  /**
   * The failure a call for the evaluation would meet at once, when it would be the evaluation's answer: not while
   * every slot is taken (a known user is answered from the cache then, as ever) nor while a call for the same
   * question is in flight (which the evaluation joins: a refresh, or a call that outlived its first caller).
   */
  private refusalOf(evaluation: Evaluation): UpstreamError | undefined {
    const refusal = this.upstream.refusal;
    if (!refusal || this.upstream.saturated) return undefined;
    if (!this.asking.idle && this.asking.get(evaluation.key)) return undefined;
    return refusal;
  }

  /** {@link evaluate}, asking PostHog. */
  private async asked(evaluation: Evaluation, cached: CachedFlags | undefined): Promise<StageAnswer> {
    const everyFlag = evaluation.keys === undefined;
    if (this.upstream.saturated) {
      cached = await this.lastKnown(evaluation, cached);
      if (this.isKnown(evaluation, cached)) return this.fallback(evaluation, cached);
    }
    const call = this.callPostHog(evaluation);
    const early = this.fallbackAfterMs > 0 ? await this.knownIfSlow(call, evaluation, cached) : undefined;
    if (early) return this.fallback(evaluation, early);
    const { parsed, failure } = await call;
    if (parsed && isCompleteAnswer(parsed)) {
      return answerOf(withSource(parsed.flags.values(), 'remote', parsed.requestId));
    }
    const known = await this.lastKnown(evaluation, cached);
    if (!parsed) return this.fallback(evaluation, known, failureErrors(failure));
    const results = withSource(parsed.flags.values(), 'remote', parsed.requestId);
    for (const flag of known.flags) {
      if (!results.has(flag.key) && (parsed.incomplete || parsed.failed.has(flag.key))) {
        results.set(flag.key, resultOf(flag, 'fallback'));
      }
    }
    // An incomplete answer may lack flags the cache never saw: the cache's `complete` (every key it knows of) cannot
    // say otherwise, and it already holds what this answer named.
    const doubtful = doubtfulKeys(parsed, evaluation.keys);
    return answerOf(results, doubtful, everyFlag && parsed.incomplete, answerErrors(parsed.incomplete));
  }

  /**
   * Refreshes the cache behind the answer with one upstream call, started on the event loop's next turn (the answer
   * does not wait for it to be made); joins a refresh whose answer is not in the cache yet.
   */
  refreshBehind(evaluation: Evaluation): void {
    if (this.closed || this.refreshing.get(evaluation.key)) return;
    this.dueRefreshes.set(evaluation.key, evaluation);
    this.dueRefreshesTimer ??= setImmediate(() => this.startDueRefreshes());
  }

  /** Drops the refreshes not started yet: the application is shutting down, and no call goes out after that. */
  beforeApplicationShutdown(): void {
    this.closed = true;
    clearImmediate(this.dueRefreshesTimer);
    this.dueRefreshes.clear();
  }

  private startDueRefreshes(): void {
    this.dueRefreshesTimer = undefined;
    for (const [key, evaluation] of this.dueRefreshes) {
      void this.refreshing.run(key, async () => (await this.callPostHog(evaluation)).remembered);
    }
    this.dueRefreshes.clear();
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
    return this.isKnown(evaluation, known) ? known : undefined;
  }

  /**
   * Whether the user's last known results answer the evaluation without PostHog: an entry for every key asked, or
   * for every flag the user's requests read among those asked (every flag asked, or a route's keys: see
   * `FlagReads`, which says what the cache keeps for them).
   */
  private isKnown(evaluation: Evaluation, known: CachedFlags): boolean {
    if (known.complete) return true;
    const { keys, context } = evaluation;
    return keys === undefined
      ? this.reads.holdsWhatIsRead(context.distinctId, known.flags)
      : this.reads.holdsReadOf(context.distinctId, keys, known.flags);
  }

  /**
   * The last known results as the answer: `partial` when they are not every flag (the others are unknown); the
   * keys asked they lack, unanswered; `errors`, what their exposures say (why PostHog did not answer).
   */
  private fallback({ keys }: Evaluation, known: CachedFlags, errors?: FlagErrors): StageAnswer {
    let read = this.fallbackAnswers.get(known);
    if (!read) this.fallbackAnswers.set(known, (read = { results: withStoredSource(known.flags, 'fallback') }));
    if (read.answer && read.keys === keys && read.errors === errors) return read.answer;
    read.keys = keys;
    read.errors = errors;
    return (read.answer = answerOf(read.results, keys, keys === undefined && !known.complete, errors));
  }

  /** {@link fallback} once the last known results are read: at once when the cache's read is synchronous. */
  private fromCache(
    evaluation: Evaluation,
    cached: CachedFlags | undefined,
    errors?: FlagErrors,
  ): MaybePromise<StageAnswer> {
    const known = this.lastKnown(evaluation, cached);
    return known instanceof Promise
      ? known.then((read) => this.fallback(evaluation, read, errors))
      : this.fallback(evaluation, known, errors);
  }

  /** The user's last known results for the evaluation's keys: `cached` when this evaluation read them already. */
  private lastKnown(evaluation: Evaluation, cached: CachedFlags | undefined): MaybePromise<CachedFlags> {
    return cached ?? this.cache.read(evaluation.context.distinctId, evaluation.keys);
  }

  /**
   * PostHog's answer, written to the cache behind it. One call per context and keys at a time: asking while one is
   * in flight joins it. Never rejects.
   */
  private callPostHog(evaluation: Evaluation): Promise<Answer> {
    return this.asking.run(evaluation.key, async () => {
      const { context, keys, disableGeoip } = evaluation;
      let parsed: ParsedFlags;
      try {
        parsed = await firstValueFrom(this.upstream.evaluate(context, keys, disableGeoip));
      } catch (error) {
        this.monitor.upstreamFailed(error);
        const failure = error instanceof UpstreamError ? error.reason : undefined;
        // A quota-limited answer says nothing of lean exposures: off, as posthog-node.
        if (failure === 'quota_limited') this.lean.set(false);
        return { remembered: Promise.resolve(), failure };
      }
      this.monitor.upstreamSucceeded();
      this.lean.set(parsed.minimalFlagCalledEvents);
      return { parsed, remembered: this.remember(evaluation, parsed) };
    });
  }

  /**
   * Writes PostHog's answer to the cache behind it: the flags the user reads (every one with `keep=all`), the
   * answer's keys as the known ones (every flag of the project when the answer is whole).
   */
  private remember({ context, keys, fingerprint }: Evaluation, parsed: ParsedFlags): Promise<void> {
    const whole = keys === undefined && isCompleteAnswer(parsed);
    const flags = [...parsed.flags.values()];
    const kept = this.reads.kept(context.distinctId, flags);
    const answered = kept.length === flags.length ? undefined : flags.map((flag) => flag.key);
    return this.cache.write(context.distinctId, kept, whole, fingerprint, answered);
  }
}

/**
 * One read's last known results as `fallback` results, and the last answer made of them: for `keys` (the same list,
 * not only the same keys) and `errors` (the same object: one per failure, see `failureErrors`).
 */
interface FallbackAnswer {
  results: ReadResults;
  answer?: StageAnswer;
  keys?: readonly string[];
  errors?: FlagErrors;
}

/**
 * The keys PostHog's answer leaves in doubt: of the keys asked, every one when the answer is incomplete, else those it
 * failed to compute; when every flag was asked, those it named and failed to compute.
 */
function doubtfulKeys(parsed: ParsedFlags, asked: readonly string[] | undefined): readonly string[] {
  if (!asked) return [...parsed.failed];
  return parsed.incomplete ? asked : asked.filter((key) => parsed.failed.has(key));
}
