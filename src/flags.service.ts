import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { FlagCache } from './cache/flag-cache.js';
import type { FlagEvaluations } from './evaluation/flag-evaluations.js';
import { parseFlagContext } from './evaluation/flag-context.js';
import type { SnapshotOptions } from './evaluation/snapshot-factory.js';
import { UnsendableProperties } from './evaluation/unsendable-properties.js';
import { ExposureQueue } from './exposures/exposure-queue.js';
import { FLAG_CACHE, FLAGS_CONFIG, LIBRARY_NAME } from './flags.constants.js';
import { flagValue, type FlagContext, type FlagResult, type FlagValue, type PostHogBootstrap } from './flags.types.js';
import { DefinitionsPoller } from './local/polling/definitions-poller.js';
import type { DefinitionsReload } from './local/polling/definitions-reload.js';
import type { FlagsEvent, FlagsStatus } from './monitor/flags-events.js';
import { FlagsMonitor } from './monitor/flags-monitor.js';
import { startupLine } from './monitor/startup-line.js';
import type { ResolvedFlagsOptions } from './options/flags-options.js';
import { FlagsOverrides } from './overrides/flags-overrides.js';
import { RemoteConfigPayloads } from './remote-config/remote-config-payloads.js';
import { ContextSnapshots } from './request/context-snapshots.js';
import { kindOf } from './util/kind-of.js';
import { setOwn } from './util/own.js';
import {
  assertEvaluateFlagsOptions,
  assertFlagKey,
  assertFlagKeys,
  type EvaluateFlagsOptions,
} from './evaluation/evaluate-flags-options.js';

/**
 * Evaluates PostHog feature flags: {@link evaluateFlags} gives a {@link FlagEvaluations} snapshot of one
 * evaluation (posthog-node's `evaluateFlags`); `isEnabled`, `getFlag`, `getFlagPayload`... read one, with the
 * snapshot's names. Inside a request (HTTP, GraphQL) or a WebSocket or RPC message, a call without a context uses
 * its own (`contextFactory`, else the transport's user), and every call for the same context shares the
 * request's one evaluation with the `@FeatureFlag` guard and `@Flags()`: one answer per flag per request (see
 * `ContextSnapshots`).
 *
 * Answers from local evaluation when the flag definitions decide, from the cache within the `fresh` window, else
 * asks PostHog; when it cannot answer, serves each flag's last known result from the fallback cache. Never rejects
 * because PostHog or the cache failed: what is not known is absent from the answer.
 */
@Injectable()
export class FlagsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(LIBRARY_NAME);
  /**
   * Every evaluation, upstream failure, circuit change and cache error, as typed {@link FlagsEvent}s; the
   * distinct id is included only with the option `eventsIncludeDistinctId`.
   */
  readonly events$: Observable<FlagsEvent>;

  constructor(
    private readonly evaluations: ContextSnapshots,
    @Inject(FLAG_CACHE) private readonly cache: FlagCache,
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly monitor: FlagsMonitor,
    private readonly overrides: FlagsOverrides,
    private readonly exposures: ExposureQueue,
    private readonly definitions: DefinitionsPoller,
    private readonly unsendable: UnsendableProperties,
    private readonly remoteConfig: RemoteConfigPayloads,
  ) {
    this.events$ = monitor.events$;
  }

  /**
   * Says, once at startup, where flags come from (PostHog host, mode, fallback cache: {@link startupLine}), and
   * what no one should forget: overrides in force, or running offline.
   */
  onApplicationBootstrap(): void {
    this.logger.log(startupLine(this.config));
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
   * Whether local evaluation is ready: flag definitions with at least one flag are in force (loaded from PostHog or
   * the shared store). `false` while local evaluation is off.
   */
  isLocalEvaluationReady(): boolean {
    return this.definitions.ready;
  }

  /**
   * Resolves `true` once local evaluation is ready (at once when it is), `false` after `timeoutMs` (default 30 s,
   * as posthog-node's), while local evaluation is off, or when the application shuts down first. Never rejects.
   */
  waitForLocalEvaluationReady(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<boolean> {
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) timeoutMs = DEFAULT_READY_TIMEOUT_MS;
    return this.definitions.waitUntilReady(timeoutMs);
  }

  /**
   * Loads the flag definitions now (a webhook on a flag change, a deploy hook): the instance that polls asks
   * PostHog, one that follows a shared store re-reads it. A reload while a load is under way joins it (`joined`).
   * Resolves when done with what happened; never rejects.
   */
  reloadFeatureFlags(): Promise<DefinitionsReload> {
    return this.definitions.reload();
  }

  /**
   * One evaluation of the user's flags, as a {@link FlagEvaluations} snapshot (posthog-node's `evaluateFlags`):
   * read it with `isEnabled` / `getFlag` (each sends the user's `$feature_flag_called` on the first read of a
   * value), `getFlagPayload` (silent), slice it with `onlyAccessed()` / `only(keys)`, spread `eventProperties()`
   * into a captured event. Without a context, inside a request or message: its own, the request's evaluation
   * (of every flag, unless `flagKeys` says). An empty distinct id gives an empty snapshot that sends nothing.
   * @throws {TypeError} without a context outside a request, or for malformed options or context.
   */
  async evaluateFlags(context?: FlagContext | string, options: EvaluateFlagsOptions = {}): Promise<FlagEvaluations> {
    assertEvaluateFlagsOptions(options);
    if (context === '' || (typeof context === 'object' && context?.distinctId === '')) {
      return this.evaluations.forContext({ distinctId: '' }, options);
    }
    return this.snapshot(context, options);
  }

  /**
   * Whether `key` is on for the user; `false` when nothing is known (a key over 400 characters, or not
   * well-formed, names no flag: never asked of PostHog, no exposure). A string context is a distinct id; without
   * one, the request's. Sends the user's exposure (`$feature_flag_called`) unless `{ sendFeatureFlagEvents: false }`.
   */
  async isEnabled(key: string, context?: FlagContext | string, options?: ExposureOptions): Promise<boolean> {
    return (await this.getFlagResult(key, context, options))?.enabled ?? false;
  }

  /** The flag's variant, else whether it is on; `undefined` when nothing is known. Sends the exposure as `isEnabled`. */
  async getFlag(
    key: string,
    context?: FlagContext | string,
    options?: ExposureOptions,
  ): Promise<FlagValue | undefined> {
    const result = await this.getFlagResult(key, context, options);
    return result && flagValue(result);
  }

  /** The flag's payload, parsed from JSON; `undefined` when it has none or nothing is known. Sends nothing. */
  async getFlagPayload<T = unknown>(key: string, context?: FlagContext | string): Promise<T | undefined> {
    assertFlagKey(key);
    return (await this.snapshot(context, { flagKeys: [key] })).getFlagPayload<T>(key);
  }

  /** The whole result for one flag, with its `source`; `undefined` when nothing is known. Sends the exposure. */
  async getFlagResult(
    key: string,
    context?: FlagContext | string,
    options: ExposureOptions = {},
  ): Promise<FlagResult | undefined> {
    assertFlagKey(key);
    const snapshot = await this.snapshot(context, { flagKeys: [key] });
    return snapshot.getFlagResult(key, { sendFeatureFlagEvents: options.sendFeatureFlagEvents });
  }

  /** Every flag's value for the user (on fallback: every flag cached for that user). Sends nothing. */
  async getAllFlags(context?: FlagContext | string): Promise<Record<string, FlagValue>> {
    const values: Record<string, FlagValue> = {};
    for (const [key, result] of (await this.snapshot(context)).toMap()) setOwn(values, key, flagValue(result));
    return values;
  }

  /**
   * The given flag keys (or every flag) for the context, in one evaluation, by key: only what is known. Sends
   * nothing. With `reuseUntil`, this evaluation stays joinable by the same context until that settles, for at
   * most 1 s after it was answered.
   * @throws {TypeError} for an empty distinct id, malformed groups or properties, `keys` that is not an array of
   * non-empty strings, or a `reuseUntil` that is not a promise.
   */
  async getFlagResults(
    context?: FlagContext | string,
    keys?: readonly string[],
    options: { reuseUntil?: PromiseLike<unknown> } = {},
  ): Promise<Map<string, FlagResult>> {
    if (keys !== undefined) assertFlagKeys('FlagsService.getFlagResults', keys);
    const { reuseUntil } = options ?? {};
    if (reuseUntil !== undefined && typeof (reuseUntil as PromiseLike<unknown>)?.then !== 'function') {
      throw new TypeError(`FlagsService.getFlagResults: reuseUntil must be a promise, got ${kindOf(reuseUntil)}`);
    }
    const snapshot = await this.snapshot(context, { flagKeys: keys, reuseUntil: reuseUntil && (() => reuseUntil) });
    return snapshot.toMap();
  }

  /**
   * The user's flags in posthog-js's `bootstrap` shape, from one evaluation of every flag (the request's, inside a
   * request), for a server-rendered page to hand to the browser. Sends nothing.
   * @throws {TypeError} as {@link getFlagResults}.
   */
  async bootstrap(context?: FlagContext | string): Promise<PostHogBootstrap> {
    return (await this.snapshot(context)).bootstrap();
  }

  /**
   * The remote config payload of flag `key` (posthog-node's `getRemoteConfigPayload`), the same for every user:
   * asked of PostHog with the secret key, parsed when PostHog sends it as a JSON string (a string that is not JSON
   * is kept). When PostHog fails, the last payload it gave within the cache's `ttl`, from the fallback cache.
   * `undefined` offline, for a flag without one, or when none is known. Sends nothing.
   * @throws {FlagsConfigError} without a secret key (`secretKey` or `POSTHOG_SECRET_KEY`).
   * @throws {TypeError} for a key that is not a non-empty string of at most 400 characters, well-formed.
   */
  async getRemoteConfigPayload<T = unknown>(key: string): Promise<T | undefined> {
    return (await this.remoteConfig.payload(key)) as T | undefined;
  }

  /** The snapshot for `context` (parsed here), else for the request's context. */
  private snapshot(context: FlagContext | string | undefined, options?: SnapshotOptions): Promise<FlagEvaluations> {
    const snapshot =
      context === undefined
        ? this.evaluations.forRequest(options)
        : this.evaluations.forContext(parseFlagContext(context, this.unsendable), options);
    return Promise.resolve(snapshot);
  }
}

/** How long {@link FlagsService.waitForLocalEvaluationReady} waits by default (posthog-node's 30 s). */
const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** Per-call options of the calls that send exposures. */
export interface ExposureOptions {
  /** `false`: send no `$feature_flag_called` event for this call. Default: the module's `sendFeatureFlagEvents`. */
  sendFeatureFlagEvents?: boolean;
}
