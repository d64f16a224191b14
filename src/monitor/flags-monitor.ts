import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import type { DefinitionsLoadedEvent, FlagsCounts, FlagsEvent, FlagsStatus } from './flags-events.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { flagValue, type FlagResult } from '../flags.types.js';
import { LogEpisode } from '../util/log-episode.js';
import { LocalResults } from '../local/engine/local-results.js';
import { messageOf } from '../util/message-of.js';
import type { CircuitState } from '../pipeline/circuit-breaker.js';
import { isKeyRejected, UpstreamError, type UpstreamFailureReason } from '../pipeline/upstream-error.js';

/**
 * What the module has been through: counts, last success and failure, the events stream, and the log lines of
 * each kind of trouble as episodes ({@link LogEpisode}: a few lines a minute at most, never one per request).
 */
@Injectable()
export class FlagsMonitor implements OnModuleDestroy {
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly subject = new Subject<FlagsEvent>();
  /** The events, for metrics or PostHog's `$feature_flag_called`. */
  readonly events$: Observable<FlagsEvent> = this.subject.asObservable();
  private readonly counts: FlagsCounts = {
    local: 0,
    remote: 0,
    cache: 0,
    fallback: 0,
    override: 0,
    unknown: 0,
    upstreamFailures: 0,
  };
  private lastSuccessAt?: Date;
  private lastFailure?: { at: Date; reason: UpstreamFailureReason };
  private circuit: CircuitState = 'closed';
  /** The fallback and unknown counts at the last line about PostHog failing: what was answered since is told. */
  private answeredMark = { fallback: 0, unknown: 0 };
  /** PostHog failing: its lines, each saying what was answered meanwhile (never what was not). */
  private readonly upstreamTrouble = new LogEpisode(this.logger, {
    started: (reason) => {
      this.answeredSinceLine();
      return (
        `PostHog /flags unavailable (${reason}); flags are answered from the fallback cache where it holds a ` +
        "user's last known values, and are unknown otherwise"
      );
    },
    lasting: (failures, reason) =>
      `PostHog /flags still failing: ${failures} more failed or refused calls since the last line (last: ${reason}); ` +
      `meanwhile ${this.answeredSinceLine()}`,
    ended: () => `PostHog /flags answers again; serving live flags (since the last line ${this.answeredSinceLine()})`,
  });
  /** The fallback cache failing: its lines. */
  private readonly cacheTrouble = new LogEpisode(this.logger, {
    started: (message) => `fallback cache failed: ${message}`,
    lasting: (failures, message) =>
      `fallback cache still failing: ${failures} more errors since the last line (last: ${message})`,
    ended: () => 'fallback cache works again',
  });

  constructor(@Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions) {}

  /** Counts one answer by its source (made once: a loop over a map's values allocates an iterator per evaluation). */
  private readonly countAnswer = (result: FlagResult): void => {
    this.counts[result.source]++;
  };

  /**
   * Counts (and, when someone listens, emits: the answered keys first) the answers to the keys an evaluation asked
   * (each once): each key by its result's source, unknown without one. Only the keys asked count: `results` may
   * hold more (a route's snapshot keeps local evaluation's remembered answer whole).
   */
  evaluatedKeys(results: ReadonlyMap<string, FlagResult>, keys: readonly string[], distinctId: string): void {
    // Indexed: a for-of loop allocates an iterator per evaluation on the guard's path.
    for (let index = 0; index < keys.length; index++) {
      const result = results.get(keys[index]!);
      if (result) this.counts[result.source]++;
      else this.counts.unknown++;
    }
    if (!this.subject.observed) return;
    const at = new Date();
    for (const key of keys) if (results.has(key)) this.emitAnswer(key, results.get(key), distinctId, at);
    for (const key of keys) if (!results.has(key)) this.emitAnswer(key, undefined, distinctId, at);
  }

  /**
   * Counts (and, when someone listens, emits) the answers of an evaluation of every flag. `unanswered`: the flags
   * known to exist that were asked further and not answered, each unknown. `partial`: the answer may lack flags no
   * one named; when it holds no flag at all, the evaluation counts one unknown (which flags it lacks is not known,
   * so no event names one).
   */
  evaluatedEvery(
    results: ReadonlyMap<string, FlagResult>,
    unanswered: readonly string[] | undefined,
    distinctId: string,
    partial = false,
  ): void {
    // Local evaluation's answer to every flag: all 'local', counted without building a result.
    if (results instanceof LocalResults) this.counts.local += results.size;
    else results.forEach(this.countAnswer);
    if (unanswered) {
      for (let index = 0; index < unanswered.length; index++) {
        if (!results.has(unanswered[index]!)) this.counts.unknown++;
      }
    }
    if (partial && results.size === 0) this.counts.unknown++;
    if (!this.subject.observed) return;
    const at = new Date();
    for (const result of results.values()) this.emitAnswer(result.key, result, distinctId, at);
    for (const key of unanswered ?? []) if (!results.has(key)) this.emitAnswer(key, undefined, distinctId, at);
  }

  /** A `flag_evaluated` event for `key`'s answer (`unknown` without a result). */
  private emitAnswer(key: string, result: FlagResult | undefined, distinctId: string, at: Date): void {
    const who = this.config.eventsIncludeDistinctId ? { distinctId } : {};
    if (!result) this.emit({ type: 'flag_evaluated', key, source: 'unknown', ...who, at });
    else this.emit({ type: 'flag_evaluated', key, source: result.source, value: flagValue(result), ...who, at });
  }

  /** An upstream call succeeded. */
  upstreamSucceeded(): void {
    this.lastSuccessAt = new Date();
    this.upstreamTrouble.succeeded();
  }

  /** An upstream call failed (after its retries), or was refused by the open circuit. */
  upstreamFailed(error: unknown): void {
    const reason = error instanceof UpstreamError ? error.reason : 'network';
    if (reason === 'shutdown') return;
    if (reason !== 'circuit_open') {
      const at = new Date();
      this.counts.upstreamFailures++;
      this.lastFailure = { at, reason };
      this.emit({ type: 'upstream_failed', reason, at });
    }
    this.upstreamTrouble.failed(reason);
  }

  /**
   * The circuit breaker's listener. The probe runs on its own (its caller is answered from the fallback), so its
   * outcome is learnt here: leaving `half-open` for `closed` is its success, for `open` with a cause its failure.
   */
  circuitChanged(state: CircuitState, previous: CircuitState, cause?: unknown): void {
    this.circuit = state;
    if (state === 'closed') {
      this.emit({ type: 'circuit_closed', at: new Date() });
      if (previous === 'half-open') this.upstreamSucceeded();
      return;
    }
    if (state !== 'open' || previous === 'open') return;
    this.circuitOpened(previous, cause);
    if (previous === 'half-open' && cause !== undefined) this.upstreamFailed(cause);
  }

  private circuitOpened(previous: CircuitState, cause: unknown): void {
    const reason = cause instanceof UpstreamError ? cause.reason : undefined;
    this.emit({ type: 'circuit_opened', reason, at: new Date() });
    if (isKeyRejected(cause)) {
      this.upstreamTrouble.once('key rejected', () =>
        this.logger.error(
          `PostHog rejected the API key (${reason}); check POSTHOG_API_KEY. Meanwhile flags are answered from the ` +
            "fallback cache where it holds a user's last known values, and are unknown otherwise",
        ),
      );
    } else if (previous === 'closed' && this.config.circuitBreaker) {
      const { failureThreshold, resetTimeoutMs } = this.config.circuitBreaker;
      this.upstreamTrouble.once('circuit opened', () =>
        this.logger.warn(
          `circuit breaker opened after ${failureThreshold} consecutive failures: ` +
            `no calls to PostHog for ${resetTimeoutMs} ms at a time`,
        ),
      );
    }
  }

  /** A batch of exposure events could not be delivered (an `upstream_failed` event of the `batch` endpoint). */
  exposuresFailed(reason: UpstreamFailureReason): void {
    this.emit({ type: 'upstream_failed', endpoint: 'batch', reason, at: new Date() });
  }

  /** A cache read or write succeeded. */
  cacheSucceeded(): void {
    this.cacheTrouble.succeeded();
  }

  /** A cache read or write failed. */
  cacheFailed(backend: string, error: unknown): void {
    const message = messageOf(error);
    this.emit({ type: 'cache_error', backend, message, at: new Date() });
    this.cacheTrouble.failed(`${backend}: ${message}`);
  }

  /** Flag definitions were loaded: emits `definitions_loaded`. */
  definitionsLoaded(source: DefinitionsLoadedEvent['source'], flags: number, flagsChanged: string[]): void {
    this.emit({ type: 'definitions_loaded', source, flags, flagsChanged, at: new Date() });
  }

  /** A definitions poll failed: emits `definitions_failed`. */
  definitionsFailed(reason: UpstreamFailureReason): void {
    this.emit({ type: 'definitions_failed', reason, at: new Date() });
  }

  /** What was answered without PostHog since the last line about it, e.g. `3 flags from the fallback cache, 2 unknown`. */
  private answeredSinceLine(): string {
    const fallback = this.counts.fallback - this.answeredMark.fallback;
    const unknown = this.counts.unknown - this.answeredMark.unknown;
    this.answeredMark = { fallback: this.counts.fallback, unknown: this.counts.unknown };
    return `${fallback} ${fallback === 1 ? 'flag' : 'flags'} answered from the fallback cache, ${unknown} unknown`;
  }

  /** The status, given the cache's state. */
  status(cache: FlagsStatus['cache']): Omit<FlagsStatus, 'exposures' | 'definitions'> {
    const failingNow = this.lastFailure && (!this.lastSuccessAt || this.lastFailure.at >= this.lastSuccessAt);
    return {
      upstream: this.circuit === 'open' ? 'down' : failingNow ? 'degraded' : 'ok',
      circuit: this.circuit,
      cache,
      ...(this.lastSuccessAt ? { lastSuccessAt: this.lastSuccessAt } : {}),
      ...(this.lastFailure ? { lastFailure: { ...this.lastFailure } } : {}),
      counts: { ...this.counts },
    };
  }

  onModuleDestroy(): void {
    this.subject.complete();
  }

  private emit(event: FlagsEvent): void {
    if (this.subject.observed) this.subject.next(event);
  }
}
