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
import type { ResolvedFlagsOptions, ResolvedLocalEvaluation } from '../options/flags-options.js';
import { LogEpisode } from '../monitor/log-episode.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import { messageOf } from '../util/message-of.js';
import { DefinitionsClient, type DefinitionsAnswer } from './definitions-client.js';
import { changedFlags } from './definitions-changes.js';
import { indexDefinitions, NO_DEFINITIONS, type Definitions, type FlagDefinitionsData } from './definitions.js';
import { IN_PROCESS_DEFINITIONS, type DefinitionsStore } from './definitions-store.js';

/** The longest wait between polls while PostHog refuses the key or rate-limits (posthog-node's). */
const MAX_BACKOFF_MS = 60_000;

/** Definitions older than this many poll intervals make the health indicator say `degraded`. */
export const STALE_AFTER_INTERVALS = 10;

/**
 * Keeps the flag definitions local evaluation uses. Every instance reads the shared ones at startup (so one that
 * starts while PostHog is down evaluates from them); then, every `pollIntervalMs`, the instance holding the
 * poller lock asks `/flags/definitions` (ETag, `304`) and publishes what changed, and the others read the shared
 * key. Nothing on the request path waits for it: evaluations read {@link definitions}, replaced whole.
 */
@Injectable()
export class DefinitionsPoller implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly local: ResolvedLocalEvaluation | false;
  private readonly client?: DefinitionsClient;
  private readonly store: DefinitionsStore;
  private readonly stop$ = new Subject<void>();
  private current?: Definitions;
  /** The data last put in force (also when it held no flag). */
  private installed?: FlagDefinitionsData;
  private etag?: string;
  private source: DefinitionsStatus['source'] = 'none';
  private loadedAt?: Date;
  private startedAt = new Date();
  private isPoller = false;
  private lastFailure?: DefinitionsStatus['lastFailure'];
  /** Consecutive polls refused for the key or rate-limited: the next waits `interval × 2^n`, 60 s at most. */
  private backoffCount = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private keyRejected = false;
  private quotaReported = false;
  /** `/flags/definitions` failing: a line when it starts, a summary a minute, a line when it answers again. */
  private readonly upstreamTrouble = new LogEpisode(this.logger, {
    started: (why) => `PostHog /flags/definitions unavailable (${why}); evaluating with the definitions loaded`,
    lasting: (failures, why) =>
      `PostHog /flags/definitions still failing: ${failures} more failed polls (last: ${why})`,
    ended: () => 'PostHog /flags/definitions answers again',
  });
  /** The shared definitions (Redis) failing: polled from PostHog directly meanwhile. */
  private readonly storeTrouble = new LogEpisode(this.logger, {
    started: (why) => `shared flag definitions unavailable (${why}); polling PostHog directly until they are back`,
    lasting: (failures, why) => `shared flag definitions still unavailable: ${failures} more errors (last: ${why})`,
    ended: () => 'shared flag definitions are reachable again',
  });

  constructor(
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
    @Inject(FLAG_CACHE) cache: FlagCache,
    private readonly monitor: FlagsMonitor,
  ) {
    this.local = config.localEvaluation;
    if (this.local) this.client = new DefinitionsClient(config, this.local);
    this.store = cache.definitionsStore?.() ?? IN_PROCESS_DEFINITIONS;
  }

  /** The definitions in force; `undefined` when none are loaded (or PostHog's quota dropped them). */
  get definitions(): Definitions | undefined {
    return this.current;
  }

  /** Where the definitions came from and how fresh they are. */
  status(): DefinitionsStatus {
    return {
      source: this.source,
      flags: this.current?.data.flags.length ?? 0,
      ...(this.loadedAt ? { loadedAt: this.loadedAt } : {}),
      ...(this.etag ? { etag: this.etag } : {}),
      poller: this.isPoller,
      ...(this.lastFailure ? { lastFailure: { ...this.lastFailure } } : {}),
      stale: this.isStale(),
    };
  }

  /**
   * Reads the shared definitions (bounded by the cache's timeout; never PostHog), then polls behind startup:
   * the first request finds what the other instances know, and never waits for PostHog.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.local) return;
    this.startedAt = new Date();
    await this.loadShared();
    this.nextRound();
  }

  /** Stops polling (aborting a poll in flight) and gives the poller's role up. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stop$.next();
    this.stop$.complete();
    if (this.isPoller) await this.store.release();
  }

  /** Starts one round; an unexpected error in it is logged, never an unhandled rejection. */
  private readonly nextRound = (): void => {
    this.cycle().catch((error: unknown) => this.logger.error(`flag definitions poll failed: ${messageOf(error)}`));
  };

  /** One round: the lock holder (or an instance the store cannot help) polls PostHog, the others read the key. */
  private async cycle(): Promise<void> {
    if (this.stopped) return;
    try {
      this.isPoller = await this.shouldPoll();
      if (this.isPoller || (!(await this.loadShared()) && !this.current)) await this.poll();
    } finally {
      this.schedule();
    }
  }

  /** Whether this instance polls PostHog: it holds the lock, or the store is unreachable. */
  private async shouldPoll(): Promise<boolean> {
    try {
      const holds = await this.store.shouldPoll();
      this.storeTrouble.succeeded();
      return holds;
    } catch (error) {
      this.storeTrouble.failed(messageOf(error));
      return true;
    }
  }

  private schedule(): void {
    if (this.stopped || !this.local) return;
    this.timer = setTimeout(this.nextRound, pollDelay(this.local.pollIntervalMs, this.backoffCount));
  }

  /** Reads the shared key; whether it held definitions. Keeps what is loaded when it cannot be read. */
  private async loadShared(): Promise<boolean> {
    if (!this.store.source) return false;
    let shared: FlagDefinitionsData | undefined;
    try {
      shared = await this.store.load();
      this.storeTrouble.succeeded();
    } catch (error) {
      this.storeTrouble.failed(messageOf(error));
      return false;
    }
    if (!shared) return false;
    if (shared === this.installed) this.loadedAt = new Date();
    else this.install(shared, 'redis');
    return true;
  }

  /** One poll of PostHog: new definitions are installed (and shared), `304` keeps them, failures are handled. */
  private async poll(): Promise<void> {
    let answer: DefinitionsAnswer | undefined;
    try {
      const poll = this.client!.fetchDefinitions(this.etag).pipe(takeUntil(this.stop$));
      answer = await firstValueFrom(poll, { defaultValue: undefined });
    } catch (error) {
      await this.pollFailed(error);
      return;
    }
    if (!answer) return; // stopped
    this.backoffCount = 0;
    this.keyRejected = false;
    this.quotaReported = false;
    this.upstreamTrouble.succeeded();
    if (answer.status === 304) {
      this.etag = answer.etag ?? this.etag;
      this.loadedAt = new Date();
      return;
    }
    const shared = await this.share(answer.definitions);
    this.install(answer.definitions, 'upstream');
    // A follower must never stay behind: the ETag moves only once the shared key has what it stands for.
    if (shared) this.etag = answer.etag;
  }

  /**
   * Publishes definitions for the other instances; whether the store now holds them: always in memory, never for
   * an instance polling without the lock (the key is the lock holder's to write).
   */
  private async share(definitions: FlagDefinitionsData): Promise<boolean> {
    if (!this.store.source) return true;
    if (!this.isPoller) return false;
    try {
      await this.store.publish(definitions);
      this.storeTrouble.succeeded();
      return true;
    } catch (error) {
      this.storeTrouble.failed(messageOf(error));
      return false;
    }
  }

  private async pollFailed(error: unknown): Promise<void> {
    const reason = error instanceof UpstreamError ? error.reason : 'network';
    this.lastFailure = { at: new Date(), reason };
    this.monitor.definitionsFailed(reason);
    if (reason === 'http_402') {
      await this.quotaLimited();
    } else if (reason === 'http_401' || reason === 'http_403' || reason === 'http_429') {
      this.backoffCount++;
      if (reason !== 'http_429') this.reportKeyRejected(reason);
    } else {
      this.upstreamTrouble.failed(reason);
    }
  }

  /** `402`: PostHog's flag quota is used up. Nothing is evaluated locally until a `200`; followers are told. */
  private async quotaLimited(): Promise<void> {
    if (!this.quotaReported) {
      this.quotaReported = true;
      this.logger.warn(
        'PostHog /flags/definitions: feature flag quota exceeded (HTTP 402); local evaluation stops until it ' +
          'recovers, flags are asked of /flags',
      );
    }
    this.etag = undefined;
    await this.share(NO_DEFINITIONS);
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
    this.current = data.flags.length > 0 ? indexDefinitions(data) : undefined;
    this.source = this.current ? source : 'none';
    this.loadedAt = new Date();
    this.monitor.definitionsLoaded(source, data.flags.length, flagsChanged);
  }

  private isStale(): boolean {
    if (!this.local) return false;
    const since = (this.loadedAt ?? this.startedAt).getTime();
    return Date.now() - since > STALE_AFTER_INTERVALS * this.local.pollIntervalMs;
  }
}

/**
 * The wait before the next poll: the interval, or after `refusals` polls in a row refused for the key or
 * rate-limited, `interval × 2^refusals`, at most 60 s (posthog-node's backoff), but never less than the interval.
 */
export function pollDelay(interval: number, refusals: number): number {
  return refusals === 0 ? interval : Math.max(interval, Math.min(MAX_BACKOFF_MS, interval * 2 ** refusals));
}
