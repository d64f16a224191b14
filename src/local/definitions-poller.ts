import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { firstValueFrom, Subject, takeUntil } from 'rxjs';
import type { FlagCache } from '../cache/flag-cache.js';
import { FLAG_CACHE, FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import type { DefinitionsStatus } from '../monitor/flags-events.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import { LeanExposures } from '../exposures/lean-exposures.js';
import type { ResolvedFlagsOptions, ResolvedLocalEvaluation } from '../options/flags-options.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import { messageOf } from '../util/message-of.js';
import { DefinitionsClient, type DefinitionsAnswer } from './definitions-client.js';
import { changedFlags } from './definitions-changes.js';
import { indexDefinitions, NO_DEFINITIONS, type Definitions, type FlagDefinitionsData } from './definitions.js';
import { DefinitionsLog } from './definitions-log.js';
import { PollClock } from './poll-clock.js';
import { lockTtlMs, pollDelay } from './poll-timing.js';
import { IN_PROCESS_DEFINITIONS, type DefinitionsStore, type SharedRead } from './definitions-store.js';
import { projectFingerprint, type SharedDefinitions } from './shared-definitions.js';

/** This many failed polls in a row make the definitions `failing` (and the health indicator say `degraded`). */
export const FAILING_AFTER_POLLS = 3;

/**
 * Keeps the flag definitions local evaluation uses. Every instance reads the shared ones at startup (so one that
 * starts while PostHog is down evaluates from them); then, every `pollIntervalMs`, the instance holding the
 * poller lock asks `/flags/definitions` (ETag, `304`) and keeps the shared key true (republished when missing,
 * altered or another project's), and the others read it cheaply. A follower polls PostHog itself (publishing
 * nothing) while the store is unreachable, holds another project's definitions, or no poller has published for
 * 3 poll intervals (see {@link PollClock}). Nothing on the request path waits for it: evaluations read
 * {@link definitions}, replaced whole.
 */
@Injectable()
export class DefinitionsPoller implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly local: ResolvedLocalEvaluation | false;
  private readonly evaluationContexts: readonly string[];
  private readonly client?: DefinitionsClient;
  private readonly store: DefinitionsStore;
  private readonly log: DefinitionsLog;
  private readonly lockTtlMs: number;
  private readonly stop$ = new Subject<void>();
  private current?: Definitions;
  /** The data last put in force (also when it held no flag). */
  private installed?: FlagDefinitionsData;
  /** PostHog's ETag of {@link installed}; kept in the process whatever the shared store does. */
  private etag?: string;
  /** When PostHog was last polled for {@link installed}, by anyone: staleness. */
  private readonly clock: PollClock;
  private source: DefinitionsStatus['source'] = 'none';
  private loadedAt?: Date;
  private isPoller = false;
  private lastFailure?: DefinitionsStatus['lastFailure'];
  private failedPolls = 0;
  /** Consecutive polls refused for the key or rate-limited: the next waits `interval × 2^n`, 60 s at most. */
  private backoffCount = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private keyRejected = false;
  private quotaReported = false;

  constructor(
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
    @Inject(FLAG_CACHE) cache: FlagCache,
    private readonly monitor: FlagsMonitor,
    private readonly lean: LeanExposures,
  ) {
    this.local = config.localEvaluation;
    this.evaluationContexts = config.evaluationContexts;
    if (this.local) this.client = new DefinitionsClient(config, this.local);
    const interval = this.local ? this.local.pollIntervalMs : 30_000;
    this.lockTtlMs = lockTtlMs(interval);
    this.clock = new PollClock(interval);
    const settings = { fingerprint: projectFingerprint(config.apiKey), lockTtlMs: this.lockTtlMs };
    this.store = cache.definitionsStore?.(settings) ?? IN_PROCESS_DEFINITIONS;
    this.log = new DefinitionsLog(this.store.description, () =>
      this.current
        ? `evaluating with the ${this.current.data.flags.length} flag definitions loaded at ${this.loadedAt?.toISOString()}`
        : 'no definitions are loaded: flags are not evaluated locally until some load',
    );
  }

  /** The definitions in force; `undefined` when none are loaded (or PostHog's quota dropped them). */
  get definitions(): Definitions | undefined {
    return this.current;
  }

  /** When the definitions in force were loaded (ms since the epoch); `undefined` when none are. */
  get loadedAtMs(): number | undefined {
    return this.loadedAt?.getTime();
  }

  /** Where the definitions came from and how fresh they are. */
  status(): DefinitionsStatus {
    const polledAt = this.clock.lastPolledByAnyone();
    return {
      source: this.source,
      flags: this.current?.data.flags.length ?? 0,
      ...(this.loadedAt ? { loadedAt: this.loadedAt } : {}),
      ...(polledAt === undefined ? {} : { polledAt: new Date(polledAt) }),
      ...(this.etag ? { etag: this.etag } : {}),
      poller: this.isPoller,
      ...(this.lastFailure ? { lastFailure: { ...this.lastFailure } } : {}),
      failedPolls: this.failedPolls,
      failing: this.failedPolls >= FAILING_AFTER_POLLS,
      stale: this.stale,
    };
  }

  /**
   * Reads the shared definitions (bounded by the cache's timeout; never PostHog), then polls behind startup:
   * the first request finds what the other instances know, and never waits for PostHog.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.local) return;
    this.clock.started();
    if (this.store.source) await this.follow();
    this.nextRound();
  }

  /** Stops polling (aborting a poll in flight), closes the connection to PostHog and gives the poller's role up. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stop$.next();
    this.stop$.complete();
    await this.client?.close();
    if (this.isPoller) await this.store.release();
  }

  /** Starts one round; an unexpected error in it is logged, never an unhandled rejection. */
  private readonly nextRound = (): void => {
    this.cycle().catch((error: unknown) => this.logger.error(`flag definitions poll failed: ${messageOf(error)}`));
  };

  /**
   * One round: the lock holder polls PostHog and keeps the shared key true; the others read it, and poll PostHog
   * themselves when it cannot serve them.
   */
  private async cycle(): Promise<void> {
    if (this.stopped) return;
    try {
      const role = await this.role();
      this.isPoller = role !== 'follower';
      if (role === 'follower') {
        if (await this.follow()) await this.poll();
      } else {
        await this.poll();
        if (role === 'poller') await this.keepShared();
      }
      if (this.local) this.log.staleness(this.stale, this.clock.lastPolledByAnyone(), this.local.pollIntervalMs);
    } finally {
      this.schedule();
    }
  }

  /** `poller`: this instance holds the lock; `alone`: the store is unreachable (it polls without it). */
  private async role(): Promise<'poller' | 'follower' | 'alone'> {
    try {
      const role = await this.store.shouldPoll();
      this.log.unreachable.succeeded();
      if (role === 'follower, lock given a ttl') this.log.lockWithoutTtl(this.lockTtlMs);
      if (role === 'poller, lock replaced') this.log.lockOfAnotherType();
      return role === 'follower' || role === 'follower, lock given a ttl' ? 'follower' : 'poller';
    } catch (error) {
      this.log.unreachable.failed(messageOf(error));
      return 'alone';
    }
  }

  private schedule(): void {
    if (this.stopped || !this.local) return;
    this.timer = setTimeout(this.nextRound, pollDelay(this.local.pollIntervalMs, this.backoffCount));
  }

  /**
   * Reads the shared store and adopts what it serves; whether this instance must poll PostHog itself: the store is
   * unreachable, holds another project's definitions, or nothing usable while none are loaded, or no poller has
   * published for 3 poll intervals (see {@link PollClock}).
   */
  private async follow(): Promise<boolean> {
    let read: SharedRead;
    try {
      read = await this.store.load();
      this.log.unreachable.succeeded();
    } catch (error) {
      this.log.unreachable.failed(messageOf(error));
      return true;
    }
    if (read.kind === 'foreign') {
      this.log.unusable.failed(
        `they belong to another project (give each project its own prefix or service); polling PostHog directly`,
      );
      return true;
    }
    if (read.kind === 'unusable') this.log.unusable.failed(`${read.problem}; keeping the definitions loaded`);
    if (read.kind === 'definitions') {
      this.log.unusable.succeeded();
      this.clock.confirmShared(read.polledAt, read.lockHeld);
      if (this.clock.publisherIsLive() || !this.installed) this.adopt(read.shared);
    }
    return !this.installed || !this.clock.publisherIsLive();
  }

  /** Puts shared definitions in force (unless they already are), with their ETag and poll time. */
  private adopt(shared: SharedDefinitions): void {
    if (shared.data === this.installed) {
      this.loadedAt = new Date();
      return;
    }
    this.install(shared.data, 'redis');
    this.etag = shared.stamp?.etag;
    this.clock.adopted(shared.stamp?.polledAt);
  }

  /** One poll of PostHog: new definitions are installed, `304` keeps them, failures are handled. */
  private async poll(): Promise<void> {
    if (this.stopped) return;
    let answer: DefinitionsAnswer | undefined;
    try {
      const poll = this.client!.fetchDefinitions(this.etag).pipe(takeUntil(this.stop$));
      answer = await firstValueFrom(poll, { defaultValue: undefined });
    } catch (error) {
      await this.pollFailed(error);
      return;
    }
    if (!answer) return; // stopped
    this.failedPolls = 0;
    this.backoffCount = 0;
    this.keyRejected = false;
    this.quotaReported = false;
    this.log.upstream.succeeded();
    this.clock.polled();
    if (answer.status === 304) {
      this.etag = answer.etag ?? this.etag;
      this.loadedAt = new Date();
      return;
    }
    this.install(answer.definitions, 'upstream');
    this.etag = answer.etag;
  }

  /**
   * The poller's part at every poll (a `304` or a failed poll included): the shared store holds what is in force
   * here, with its poll time; a failure to publish is said (what failed), and changes nothing here.
   */
  private async keepShared(): Promise<void> {
    const polledAt = this.clock.lastPolledAt;
    if (!this.installed || polledAt === undefined) return;
    try {
      this.log.kept(await this.store.keep(this.installed, { polledAt, etag: this.etag }));
    } catch (error) {
      this.log.publishing.failed(messageOf(error));
    }
  }

  private async pollFailed(error: unknown): Promise<void> {
    const reason = error instanceof UpstreamError ? error.reason : 'network';
    this.lastFailure = { at: new Date(), reason };
    this.failedPolls++;
    this.monitor.definitionsFailed(reason);
    if (reason === 'http_402') {
      this.quotaLimited();
    } else if (reason === 'http_401' || reason === 'http_403' || reason === 'http_429') {
      this.backoffCount++;
      if (reason !== 'http_429') this.reportKeyRejected(reason);
    } else {
      this.log.upstream.failed(reason);
    }
  }

  /** `402`: PostHog's flag quota is used up. Nothing is evaluated locally until a `200`; followers are told. */
  private quotaLimited(): void {
    if (!this.quotaReported) {
      this.quotaReported = true;
      this.logger.warn(
        'PostHog /flags/definitions: feature flag quota exceeded (HTTP 402); local evaluation stops until it ' +
          'recovers, flags are asked of /flags',
      );
    }
    this.etag = undefined;
    this.clock.polled();
    this.install(NO_DEFINITIONS, 'upstream');
  }

  private reportKeyRejected(reason: string): void {
    if (this.keyRejected) return;
    this.keyRejected = true;
    this.logger.error(
      `PostHog /flags/definitions refused the secret key (${reason}): check POSTHOG_SECRET_KEY (a project secret ` +
        'key phs_... or a personal API key with feature_flag:read); keeping the definitions loaded',
    );
  }

  /** Puts definitions in force at once, whole: an evaluation sees the old set or the new one, never a mix. */
  private install(data: FlagDefinitionsData, source: 'upstream' | 'redis'): void {
    const flagsChanged = changedFlags(this.installed, data);
    this.installed = data;
    const indexed = indexDefinitions(data, this.evaluationContexts);
    // None kept for the evaluation contexts: every flag is asked of PostHog, as posthog-node does.
    this.current = indexed.byKey.size > 0 ? indexed : undefined;
    this.source = data.flags.length > 0 ? source : 'none';
    this.loadedAt = new Date();
    this.lean.set(data.minimal_flag_called_events === true);
    this.monitor.definitionsLoaded(source, data.flags.length, flagsChanged);
  }

  /** Stale: local evaluation is on and PostHog was last polled (by anyone) too long ago (see `status()`). */
  get stale(): boolean {
    return this.local !== false && this.clock.isStale();
  }
}
