import { Inject, Injectable, Logger } from '@nestjs/common';
import { ExposureQueue } from '../exposures/exposure-queue.js';
import { LeanExposures } from '../exposures/lean-exposures.js';
import type { FlagCalled } from '../exposures/flag-called.js';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import type { FlagContext, FlagResult } from '../flags.types.js';
import { DefinitionsPoller } from '../local/polling/definitions-poller.js';
import { evaluatedInBrowser } from '../local/engine/evaluation-runtime.js';
import type { UnresolvedReason } from '../local/engine/unresolved-reason.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { setOwn } from '../util/own.js';
import { otherGeoipId } from './evaluation.js';
import { createSnapshot, joinSnapshots, narrowSnapshot, type FlagEvaluations } from './flag-evaluations.js';
import type { SnapshotHost } from './snapshot-host.js';
import type { MaybePromise } from './flag-results.js';
import { nameableKeys } from '../util/flag-key.js';
import { FlagReads } from './flag-reads.js';
import { OverridesStage } from './overrides-stage.js';
import type { StageAnswer } from './stage-answer.js';

/** What one snapshot evaluates. */
export interface SnapshotOptions {
  /** Only these flags (every flag when undefined). */
  flagKeys?: readonly string[];
  /** Only what the flag definitions decide: nothing is asked of PostHog or the cache. Default: the module's. */
  onlyLocal?: boolean;
  /** Keeps the evaluation joinable by the same context until this settles (for at most 1 s after it answered). */
  reuseUntil?: () => PromiseLike<unknown>;
  /** Whether the snapshot's reads send their events when a read does not say. Default: the module's. */
  sendFeatureFlagEvents?: boolean;
  /** `geoip_disable` of what is asked of PostHog, and `$geoip_disable` of the reads' events. Default: the module's. */
  disableGeoip?: boolean;
}

/** The options of a snapshot asked nothing but the defaults: every flag, events as the module says (frozen). */
const DEFAULT_OPTIONS: SnapshotOptions = Object.freeze({});

/**
 * Makes {@link FlagEvaluations} snapshots: one evaluation of the context (through {@link OverridesStage}), the
 * reads' exposures sent through the {@link ExposureQueue}.
 */
@Injectable()
export class SnapshotFactory implements SnapshotHost {
  private readonly logger = new Logger(LIBRARY_NAME);
  readonly sendsEvents: boolean;
  readonly geoipDisabled: boolean;
  /** What each answer leaves unresolved, as a snapshot keeps it (see {@link stillUnresolved}). */
  private readonly unresolvedOf = new WeakMap<StageAnswer, Readonly<Record<string, UnresolvedReason>>>();

  constructor(
    private readonly evaluator: OverridesStage,
    private readonly exposures: ExposureQueue,
    private readonly definitions: DefinitionsPoller,
    private readonly lean: LeanExposures,
    private readonly reads: FlagReads,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
  ) {
    this.sendsEvents = config.sendFeatureFlagEvents;
    this.geoipDisabled = config.disableGeoip;
  }

  /**
   * The snapshot of `context` (already parsed; `contextId` its `contextKey`): at once when the evaluation answered
   * at once. An empty distinct id gives an empty snapshot, evaluating nothing; keys that cannot name a flag
   * ({@link nameableKeys}) are left out of `flagKeys`. An evaluation whose `disableGeoip`
   * is not the module's goes by an id of its own ({@link otherGeoipId}). `orMore` (a request's snapshot of its
   * route's keys, which asks for any other key it is read for): the snapshot may hold more flags than `flagKeys`,
   * when the answer at hand does (see `OverridesStage`).
   */
  evaluate(
    context: FlagContext,
    contextId: string,
    options: SnapshotOptions = DEFAULT_OPTIONS,
    orMore = false,
  ): MaybePromise<FlagEvaluations> {
    const flagKeys = options.flagKeys && nameableKeys(options.flagKeys);
    if (context.distinctId === '' || flagKeys?.length === 0) return this.empty(context, options);
    const ownGeoip = options.disableGeoip !== undefined && options.disableGeoip !== this.geoipDisabled;
    const id = ownGeoip ? otherGeoipId(contextId) : contextId;
    const answer = this.evaluator.evaluate(context, id, flagKeys, options, orMore);
    return answer instanceof Promise
      ? this.snapshotOnceAnswered(context, answer, options)
      : this.snapshotOf(context, answer, options);
  }

  /** A snapshot of no flag for `context`: every read is unknown, and sends nothing when the distinct id is empty. */
  empty(context: FlagContext, options: SnapshotOptions = DEFAULT_OPTIONS): FlagEvaluations {
    return createSnapshot({
      host: this,
      context,
      results: new Map(),
      sendsEvents: options.sendFeatureFlagEvents,
      geoipDisabled: options.disableGeoip,
    });
  }

  /**
   * The flags of `snapshot` among `flagKeys` (all when undefined), as a snapshot that shares its reads (what one
   * reads counts as read in both), its reads' events on or off by `sendFeatureFlagEvents` when given.
   */
  narrowed(snapshot: FlagEvaluations, options: SnapshotOptions): FlagEvaluations {
    const { flagKeys, sendFeatureFlagEvents } = options;
    if (!flagKeys && sendFeatureFlagEvents === undefined) return snapshot;
    return narrowSnapshot(snapshot, flagKeys, sendFeatureFlagEvents);
  }

  /**
   * One snapshot of two answers of the same context: `first`'s for the keys it was asked (`keys`), `later`'s for
   * the rest, once both are there.
   */
  joined(
    first: MaybePromise<FlagEvaluations>,
    keys: ReadonlySet<string>,
    later: MaybePromise<FlagEvaluations>,
  ): MaybePromise<FlagEvaluations> {
    if (!(first instanceof Promise) && !(later instanceof Promise)) return joinSnapshots(first, keys, later);
    return Promise.all([first, later]).then(([earlier, more]) => joinSnapshots(earlier, keys, more));
  }

  /** @inheritdoc */
  definitionsLoadedAt(): number | undefined {
    return this.definitions.loadedAtMs;
  }

  /** @inheritdoc */
  definitionsStale(): boolean {
    return this.definitions.stale;
  }

  /** @inheritdoc */
  leanExposures(): boolean {
    return this.lean.enabled;
  }

  /** @inheritdoc */
  serverOnly(key: string): boolean {
    return !evaluatedInBrowser(this.definitions.definitions?.byKey.get(key));
  }

  /** @inheritdoc */
  exposed(context: FlagContext, called: FlagCalled): void {
    this.exposures.exposed(context, called);
  }

  /** @inheritdoc */
  exposureSent(context: FlagContext, result: FlagResult): boolean {
    return this.exposures.exposureSent(context, result);
  }

  /** @inheritdoc */
  warn(message: string): void {
    this.logger.warn(message);
  }

  /** @inheritdoc */
  flagRead(context: FlagContext, key: string, results: ReadonlyMap<string, FlagResult>, geoipDisabled: boolean): void {
    this.reads.flagRead(context, key, results, geoipDisabled);
  }

  /** @inheritdoc */
  everyFlagRead(
    context: FlagContext,
    results: ReadonlyMap<string, FlagResult>,
    every: boolean,
    geoipDisabled: boolean,
  ): void {
    this.reads.everyFlagRead(context, results, every, geoipDisabled);
  }

  /** {@link snapshotOf} once answered (a continuation of its own: see `FeatureFlagGuard`). */
  private snapshotOnceAnswered(
    context: FlagContext,
    answer: Promise<StageAnswer>,
    options: SnapshotOptions,
  ): Promise<FlagEvaluations> {
    return answer.then((answered) => this.snapshotOf(context, answered, options));
  }

  /**
   * {@link stillUnresolved} of a shared answer, made once (frozen): a remembered local answer that leaves flags to
   * PostHog is handed to every request of its context.
   */
  private stillUnresolved(answer: StageAnswer): Readonly<Record<string, UnresolvedReason>> | undefined {
    if (answer.unresolved.size === 0 && !answer.unanswered?.length) return undefined;
    let still = this.unresolvedOf.get(answer);
    if (!still) this.unresolvedOf.set(answer, (still = Object.freeze(stillUnresolved(answer))));
    return still;
  }

  private snapshotOf(context: FlagContext, answer: StageAnswer, options: SnapshotOptions): FlagEvaluations {
    return createSnapshot({
      host: this,
      context,
      results: answer.results,
      unresolved: this.stillUnresolved(answer),
      partial: answer.partial,
      errors: answer.errors,
      every: options.flagKeys === undefined,
      sendsEvents: options.sendFeatureFlagEvents,
      geoipDisabled: options.disableGeoip,
    });
  }
}

/**
 * Why each flag asked has no result: local evaluation's reason where it left the flag undecided, else
 * `unavailable` where neither PostHog nor the fallback cache could answer a key asked.
 */
function stillUnresolved({ results, unresolved, unanswered }: StageAnswer): Record<string, UnresolvedReason> {
  const still: Record<string, UnresolvedReason> = {};
  for (const [key, reason] of unresolved) if (!results.has(key)) setOwn(still, key, reason);
  for (const key of unanswered ?? []) {
    if (!results.has(key) && !unresolved.has(key)) setOwn(still, key, 'unavailable');
  }
  return still;
}
