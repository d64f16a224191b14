import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { firstValueFrom, Subject, takeUntil } from 'rxjs';
import { DEFINITIONS_STORE, FLAGS_CONFIG } from '../../flags.constants.js';
import type { DefinitionsStatus } from '../../monitor/flags-events.js';
import { FlagsMonitor } from '../../monitor/flags-monitor.js';
import { LeanExposures } from '../../exposures/lean-exposures.js';
import type { ResolvedFlagsOptions, ResolvedLocalEvaluation } from '../../options/flags-options.js';
import { messageOf } from '../../util/message-of.js';
import { DefinitionsClient, type DefinitionsAnswer } from './definitions-client.js';
import { NO_DEFINITIONS, type Definitions } from '../definitions.js';
import { DefinitionsInForce } from './definitions-in-force.js';
import { DefinitionsLog } from './definitions-log.js';
import { RoundReport, type DefinitionsReload } from './definitions-reload.js';
import { PollClock } from './poll-clock.js';
import { PollFailures } from './poll-failures.js';
import { PollRounds } from './poll-rounds.js';
import { lockTtlMs, pollDelay } from './poll-timing.js';
import type { DefinitionsStore } from '../sharing/definitions-store.js';
import type { SharedDefinitions } from '../shared-definitions.js';
import { readSharedStore, takePollRole } from './shared-store-reads.js';
import { pollIntervalOf } from './store-settings.js';

/**
 * Keeps the flag definitions local evaluation uses. Every instance reads the shared ones at startup (so one that
 * starts while PostHog is down evaluates from them); then, every `pollIntervalMs`, the instance holding the
 * poller lock asks `/flags/definitions` (ETag, `304`) and keeps the shared key true (republished when missing,
 * altered or another project's), and the others read it cheaply. A follower polls PostHog itself (publishing
 * nothing) while the store is unreachable, holds another project's definitions, or no poller has published for
 * 3 poll intervals (see {@link PollClock}). Without a secret key (a cache-only reader) it only reads the shared
 * store. Nothing on the request path waits for it: evaluations read {@link definitions}, replaced whole.
 */
@Injectable()
export class DefinitionsPoller implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly local: ResolvedLocalEvaluation | false;
  private readonly client?: DefinitionsClient;
  private readonly log: DefinitionsLog;
  private readonly lockTtlMs: number;
  private readonly stop$ = new Subject<void>();
  private readonly inForce: DefinitionsInForce;
  /** PostHog's ETag of the definitions in force; kept in the process whatever the shared store does. */
  private etag?: string;
  /** When PostHog was last polled for the definitions in force, by anyone: staleness. */
  private readonly clock: PollClock;
  private isPoller = false;
  private readonly failures: PollFailures;
  private stopped = false;
  /** The rounds: timed polls and reloads, one at a time. */
  private readonly rounds: PollRounds;
  /** What the round under way did so far. */
  private report = new RoundReport();

  constructor(
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
    @Inject(DEFINITIONS_STORE) private readonly store: DefinitionsStore,
    monitor: FlagsMonitor,
    lean: LeanExposures,
  ) {
    this.local = config.localEvaluation;
    if (this.local && this.local.secretKey) this.client = new DefinitionsClient(config, this.local.secretKey);
    const interval = pollIntervalOf(config);
    this.lockTtlMs = lockTtlMs(interval);
    this.clock = new PollClock(interval);
    this.inForce = new DefinitionsInForce(monitor, lean, config.evaluationContexts);
    this.log = new DefinitionsLog(this.store.description, () => this.inForce.describe(), this.local && !this.client);
    this.failures = new PollFailures(monitor, this.log.upstream);
    this.rounds = new PollRounds(
      () => this.round(),
      () => this.nextDelay(),
      (error) => this.roundFailed(error),
    );
  }

  /** The definitions in force; `undefined` when none are loaded (or PostHog's quota dropped them). */
  get definitions(): Definitions | undefined {
    return this.inForce.definitions;
  }

  /** When the definitions in force were loaded (ms since the epoch); `undefined` when none are. */
  get loadedAtMs(): number | undefined {
    return this.inForce.loadedAt?.getTime();
  }

  /** Whether local evaluation is ready: definitions with at least one flag are in force (posthog-node's test). */
  get ready(): boolean {
    return this.inForce.ready;
  }

  /**
   * Resolves `true` once definitions are in force (at once when they are), `false` after `timeoutMs`, when local
   * evaluation is off, or at shutdown. Never rejects.
   */
  waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (!this.local || (this.stopped && !this.inForce.ready)) return Promise.resolve(false);
    return this.inForce.waitUntilReady(timeoutMs);
  }

  /**
   * Loads the definitions now, as a timed round would (the poller polls PostHog, a follower re-reads the shared
   * store), and restarts the timer from now; joins a round under way instead of starting another. Never rejects.
   */
  async reload(): Promise<DefinitionsReload> {
    const flags = this.inForce.flags;
    if (!this.local) return { outcome: 'off', joined: false, flags };
    if (this.stopped) return { outcome: 'stopped', joined: false, flags };
    return this.rounds.now();
  }

  /** Where the definitions came from and how fresh they are. */
  status(): DefinitionsStatus {
    const polledAt = this.clock.lastPolledByAnyone();
    return {
      mode: !this.local ? 'off' : this.client ? 'polling' : 'cache-only',
      source: this.inForce.source,
      flags: this.inForce.flags,
      ...(this.inForce.loadedAt ? { loadedAt: this.inForce.loadedAt } : {}),
      ...(polledAt === undefined ? {} : { polledAt: new Date(polledAt) }),
      ...(this.etag ? { etag: this.etag } : {}),
      ready: this.ready,
      poller: this.isPoller,
      ...this.failures.status(),
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
    if (!this.client) this.log.cacheOnlyReader();
    if (this.store.source) await this.follow();
    void this.rounds.start();
    await this.holdBootstrap(this.local.holdBootstrapMs);
  }

  /** Stops polling (aborting a poll in flight), closes the connection to PostHog and gives the poller's role up. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.rounds.stop();
    this.inForce.close();
    this.stop$.next();
    this.stop$.complete();
    await this.client?.close();
    await this.store.release();
  }

  /** With `holdBootstrapMs`, waits for the definitions that long at most; says so when they are not in by then. */
  private async holdBootstrap(holdMs: number): Promise<void> {
    if (holdMs === 0 || (await this.waitUntilReady(holdMs)) || this.stopped) return;
    this.log.notReadyInTime(holdMs);
  }

  /** One round, with its report. */
  private async round(): Promise<DefinitionsReload> {
    this.report = new RoundReport();
    await this.cycle();
    return this.report.result(this.inForce.flags, this.stopped);
  }

  /** A round that threw: said, and reported `failed`. */
  private roundFailed(error: unknown): DefinitionsReload {
    this.log.roundFailed(error);
    return { outcome: 'failed', joined: false, flags: this.inForce.flags, reason: 'internal' };
  }

  /**
   * One round: the lock holder polls PostHog and keeps the shared key true; the others read it, and poll PostHog
   * themselves when it cannot serve them.
   */
  private async cycle(): Promise<void> {
    if (this.stopped) return;
    if (!this.client) {
      await this.follow();
      this.staleness();
      return;
    }
    const role = await takePollRole(this.store, this.log, this.lockTtlMs);
    this.isPoller = role !== 'follower';
    if (role === 'follower') {
      if (await this.follow()) await this.poll();
    } else {
      await this.poll();
      if (role === 'poller') await this.keepShared();
    }
    this.staleness();
  }

  /** Says when the definitions become stale, and when they are fresh again. */
  private staleness(): void {
    if (this.local) this.log.staleness(this.stale, this.clock.lastPolledByAnyone(), this.local.pollIntervalMs);
  }

  /** The wait before the next timed round; none with `pollIntervalMs: 0` (only startup and reloads load). */
  private nextDelay(): number | undefined {
    if (this.stopped || !this.local || this.local.pollIntervalMs === 0) return undefined;
    return pollDelay(this.local.pollIntervalMs, this.failures.backoffCount);
  }

  /**
   * Reads the shared store and adopts what it serves; whether this instance must poll PostHog itself: the store is
   * unreachable, holds another project's definitions, or nothing usable while none are loaded, or no poller has
   * published for 3 poll intervals (see {@link PollClock}).
   */
  private async follow(): Promise<boolean> {
    const read = await readSharedStore(this.store, this.log, this.report, this.client !== undefined);
    if (read === undefined || read.kind === 'foreign') return true;
    if (read.kind === 'definitions') {
      this.clock.confirmShared(read.polledAt, read.lockHeld);
      if (this.clock.publisherIsLive() || !this.inForce.data) this.adopt(read.shared);
    }
    return !this.inForce.data || !this.clock.publisherIsLive();
  }

  /** Puts shared definitions in force (unless they already are), with their ETag and poll time. */
  private adopt(shared: SharedDefinitions): void {
    if (shared.data === this.inForce.data) {
      this.inForce.confirmed();
      this.report.unchanged('store');
      return;
    }
    this.inForce.install(shared.data, this.store.source ?? 'redis');
    this.report.loaded('store');
    this.etag = shared.stamp?.etag;
    this.clock.adopted(shared.stamp?.polledAt);
  }

  /** One poll of PostHog: new definitions are installed, `304` keeps them, failures are handled. */
  private async poll(): Promise<void> {
    if (this.stopped || !this.client) return;
    let answer: DefinitionsAnswer | undefined;
    try {
      const poll = this.client.fetchDefinitions(this.etag).pipe(takeUntil(this.stop$));
      answer = await firstValueFrom(poll, { defaultValue: undefined });
    } catch (error) {
      this.pollFailed(error);
      return;
    }
    if (!answer) return; // stopped
    this.failures.succeeded();
    this.clock.polled();
    if (answer.status === 304) {
      this.etag = answer.etag ?? this.etag;
      this.inForce.confirmed();
      this.report.unchanged('upstream');
      return;
    }
    this.inForce.install(answer.definitions, 'upstream');
    this.report.loaded('upstream');
    this.etag = answer.etag;
  }

  /**
   * The poller's part at every poll (a `304` or a failed poll included): the shared store holds what is in force
   * here, with its poll time; a failure to publish is said (what failed), and changes nothing here.
   */
  private async keepShared(): Promise<void> {
    const polledAt = this.clock.lastPolledAt;
    if (!this.inForce.data || polledAt === undefined) return;
    try {
      this.log.kept(await this.store.keep(this.inForce.data, { polledAt, etag: this.etag }));
    } catch (error) {
      this.log.publishing.failed(messageOf(error));
    }
  }

  /** A failed poll: counted and said; on a `402` (quota), nothing is evaluated locally until a `200`. */
  private pollFailed(error: unknown): void {
    const reason = this.failures.failed(error);
    this.report.failed('upstream', reason);
    if (reason !== 'http_402') return;
    this.etag = undefined;
    this.clock.polled();
    this.inForce.install(NO_DEFINITIONS, 'upstream');
  }

  /** Stale: local evaluation is on and PostHog was last polled (by anyone) too long ago (see `status()`). */
  get stale(): boolean {
    return this.local !== false && this.clock.isStale();
  }
}
