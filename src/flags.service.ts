import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { FlagCache } from './cache/flag-cache.js';
import { contextKey, parseFlagContext } from './evaluation/flag-context.js';
import { FlagsEvaluator } from './evaluation/flags-evaluator.js';
import { ExposureQueue } from './exposures/exposure-queue.js';
import { FLAG_CACHE, FLAGS_CONFIG, LIBRARY_NAME } from './flags.constants.js';
import { flagValue, type FlagContext, type FlagResult, type FlagValue, type PostHogBootstrap } from './flags.types.js';
import { DefinitionsPoller } from './local/definitions-poller.js';
import type { FlagsEvent, FlagsStatus } from './monitor/flags-events.js';
import { FlagsMonitor } from './monitor/flags-monitor.js';
import type { ResolvedFlagsOptions } from './options/flags-options.js';
import { FlagsOverrides } from './overrides/flags-overrides.js';
import { kindOf } from './util/kind-of.js';

/**
 * Evaluates PostHog feature flags. Answers from the cache within the `fresh` window (refreshing it behind the
 * answer for up to another window), else asks PostHog; when it cannot answer, serves each flag's last known result
 * from the fallback cache. Never rejects because PostHog or the cache failed: what is not known is absent from the
 * answer.
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
    private readonly evaluator: FlagsEvaluator,
    @Inject(FLAG_CACHE) private readonly cache: FlagCache,
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly monitor: FlagsMonitor,
    private readonly overrides: FlagsOverrides,
    private readonly exposures: ExposureQueue,
    private readonly definitions: DefinitionsPoller,
  ) {
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
    const holdUntil = reuseUntil && (() => reuseUntil);
    return (await this.evaluator.evaluate(flagContext, contextKey(flagContext), keys, { holdUntil })).results;
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
}

/** Per-call options of the calls that send exposures. */
export interface ExposureOptions {
  /** `false`: send no `$feature_flag_called` event for this call. Default: the module's `sendFeatureFlagEvents`. */
  sendEvent?: boolean;
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
