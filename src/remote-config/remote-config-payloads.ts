import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import {
  defer,
  firstValueFrom,
  identity,
  pipe,
  Subject,
  takeUntil,
  throwIfEmpty,
  type MonoTypeOperatorFunction,
} from 'rxjs';
import type { FlagCache } from '../cache/flag-cache.js';
import { decodeRemoteConfigEntry, encodeRemoteConfigEntry } from '../cache/remote-config-entry.js';
import { FlagsConfigError } from '../config/flags-config-error.js';
import { FLAG_CACHE, FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import { FlagsMonitor } from '../monitor/flags-monitor.js';
import { LogEpisode } from '../util/log-episode.js';
import { MAX_QUEUED_CALLS_PER_SLOT, type ResolvedFlagsOptions } from '../options/flags-options.js';
import { CircuitBreaker, withCircuitBreaker } from '../pipeline/circuit-breaker.js';
import { ConcurrencyLimiter, withConcurrencyLimit } from '../pipeline/concurrency-limit.js';
import { retryWithBackoff } from '../pipeline/retry-with-backoff.js';
import { isRetryableUpstreamError, judgeFailure, UpstreamError } from '../pipeline/upstream-error.js';
import { jsonText } from '../util/json-text.js';
import {
  REMOTE_CONFIG_CONNECTIONS,
  REMOTE_CONFIG_ENDPOINT,
  RemoteConfigClient,
  type RemoteConfigAnswer,
} from './remote-config-client.js';
import { assertRemoteConfigKey } from './remote-config-key.js';

/** PostHog's published backoff: 300 ms before the first retry, doubling after. */
const RETRY_BASE_DELAY_MS = 300;

/** The failure of every request after shutdown; made once. */
const SHUTDOWN = new UpstreamError('shutdown', 'the application is shutting down', REMOTE_CONFIG_ENDPOINT);

/**
 * Flags' remote config payloads (`FlagsService.getRemoteConfigPayload`): asked of PostHog with the secret key,
 * each answer kept in the fallback cache, and the last good one served from there when PostHog fails.
 *
 * Requests go through the module's HTTP client and PostHog's retry policy, in at most 4 connections (128 more
 * waiting), concurrent calls for one key sharing one request, behind a circuit breaker of their own (the `/flags`
 * one's settings, not its state: the endpoint is PostHog's API, not its flags service, and fails on its own). A
 * payload is JSON-copied for each caller: no one sees another's changes to it.
 */
@Injectable()
export class RemoteConfigPayloads implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(LIBRARY_NAME);
  /** Absent offline or without a secret key. */
  private readonly client?: RemoteConfigClient;
  /** The payload's JSON text (`undefined`: none known) each key's request under way will give. */
  private readonly inFlight = new Map<string, Promise<string | undefined>>();
  private readonly shutdown$ = new Subject<void>();
  private closed = false;
  private readonly steps: MonoTypeOperatorFunction<RemoteConfigAnswer>;
  /** The longest cache entry written or read: twice the longest body, plus the key and the time. */
  private readonly maxEntryLength: number;
  private readonly failures: LogEpisode;

  constructor(
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    @Inject(FLAG_CACHE) private readonly cache: FlagCache,
    private readonly monitor: FlagsMonitor,
  ) {
    if (!config.offline && config.secretKey) this.client = new RemoteConfigClient(config, config.secretKey);
    this.maxEntryLength = 2 * config.maxResponseBytes + 1024;
    const breaker = config.circuitBreaker && new CircuitBreaker(config.circuitBreaker, undefined, judgeFailure);
    const limiter = new ConcurrencyLimiter(
      REMOTE_CONFIG_CONNECTIONS,
      REMOTE_CONFIG_CONNECTIONS * MAX_QUEUED_CALLS_PER_SLOT,
    );
    this.steps = pipe(
      retryWithBackoff({
        retries: config.retries,
        baseDelayMs: RETRY_BASE_DELAY_MS,
        isRetryable: isRetryableUpstreamError,
      }),
      withConcurrencyLimit(limiter),
      takeUntil(this.shutdown$),
      breaker ? withCircuitBreaker(breaker) : identity,
      throwIfEmpty(() => SHUTDOWN),
    );
    this.failures = new LogEpisode(this.logger, {
      started: (why) =>
        `PostHog ${REMOTE_CONFIG_ENDPOINT} failed (${why}): remote config payloads are served from the fallback ` +
        'cache where it holds them' +
        (why === 'http_401' || why === 'http_403' ? '; check the secret key (secretKey or POSTHOG_SECRET_KEY)' : ''),
      lasting: (count, why) => `PostHog ${REMOTE_CONFIG_ENDPOINT}: ${count} more failures (last: ${why})`,
      ended: () => `PostHog ${REMOTE_CONFIG_ENDPOINT} answers again`,
    });
  }

  /**
   * The remote config payload of flag `key` (see `FlagsService.getRemoteConfigPayload`): `undefined` offline, for a
   * flag without one, or when PostHog fails and the fallback cache holds none.
   * @throws {TypeError} for a malformed key. {@link FlagsConfigError} without a secret key.
   */
  async payload(key: unknown): Promise<unknown> {
    assertRemoteConfigKey(key);
    if (this.config.offline) return undefined;
    if (!this.client) {
      throw new FlagsConfigError(
        'getRemoteConfigPayload needs a secret key: set POSTHOG_SECRET_KEY or pass secretKey to FlagsModule ' +
          '(a project secret key, phs_..., or a personal API key with feature_flag:read)',
      );
    }
    if (key === '.' || key === '..') return undefined; // a dot segment in the path; never a flag key
    let shared = this.inFlight.get(key);
    if (!shared) {
      shared = this.payloadText(this.client, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, shared);
    }
    const text = await shared;
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** Ends every request in flight (its callers get the cached payload) and sends none after that. */
  onModuleDestroy(): void {
    this.closed = true;
    this.shutdown$.next();
    this.shutdown$.complete();
  }

  /** Closes the connections. */
  async onApplicationShutdown(): Promise<void> {
    await this.client?.close();
  }

  /** PostHog's answer for `key`, kept; when it fails, the last one kept. As JSON text, `undefined` for none. */
  private async payloadText(client: RemoteConfigClient, key: string): Promise<string | undefined> {
    let answer: RemoteConfigAnswer;
    try {
      if (this.closed) throw SHUTDOWN;
      answer = await firstValueFrom(defer(() => client.request(key)).pipe(this.steps));
    } catch (error) {
      this.failed(error);
      return this.lastGood(key);
    }
    this.failures.succeeded();
    if (!answer.found) {
      void this.forgetPayload(key);
      return undefined;
    }
    this.keep(key, encodeRemoteConfigEntry(key, { payload: answer.payload, savedAt: Date.now() }, this.maxEntryLength));
    return jsonText(answer.payload);
  }

  /**
   * After a `404`: overwrites the payload kept for `key`, if one is, with an entry of none. A key without one takes
   * no entry: keys from outside that name no flag never push real payloads out of the cache.
   */
  private async forgetPayload(key: string): Promise<void> {
    const savedAt = Date.now();
    if ((await this.lastGood(key)) !== undefined) {
      this.keep(key, encodeRemoteConfigEntry(key, { savedAt }, this.maxEntryLength));
    }
  }

  /** Writes the entry behind the answer: the caller does not wait; a failure is told to the monitor. */
  private keep(key: string, stored: string | undefined): void {
    if (stored === undefined) return;
    this.cache.writeRemoteConfig(key, stored).then(
      () => this.monitor.cacheSucceeded(),
      (error: unknown) => this.monitor.cacheFailed(this.cache.backend, error),
    );
  }

  /** The payload of the last answer kept for `key` within the cache's `ttl`, as JSON text; never rejects. */
  private async lastGood(key: string): Promise<string | undefined> {
    let stored: string | undefined;
    try {
      stored = await this.cache.readRemoteConfig(key);
    } catch (error) {
      this.monitor.cacheFailed(this.cache.backend, error);
      return undefined;
    }
    const entry = decodeRemoteConfigEntry(stored, key, this.config.cache.ttlSeconds, this.maxEntryLength);
    return entry && 'payload' in entry ? jsonText(entry.payload) : undefined;
  }

  /** A failed request, in the log: an episode (a line when it starts, a summary a minute at most, a line when over). */
  private failed(error: unknown): void {
    const reason = error instanceof UpstreamError ? error.reason : 'network';
    if (reason === 'shutdown') return;
    this.failures.failed(reason);
  }
}
