import { Inject, Injectable, Logger } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import type { FlagCache } from './cache/flag-cache.js';
import { FLAG_CACHE, LIBRARY_NAME } from './flags.constants.js';
import { flagValue, type EvaluatedFlag, type FlagContext, type FlagResult, type FlagSource, type FlagValue } from './flags.types.js';
import { toFlagContext } from './flag-context.js';
import { requestFlagsStorage } from './request-flags.js';
import type { ParsedFlags } from './upstream/flags-response.js';
import { FlagsUpstream } from './upstream/flags-upstream.js';
import { UpstreamError } from './upstream/upstream-error.js';

/**
 * Evaluates PostHog feature flags. Asks PostHog first; when it cannot answer, serves each flag's last known
 * result from the fallback cache. Never rejects because PostHog or the cache failed: what is not known is
 * absent from the answer.
 */
@Injectable()
export class FlagsService {
  private readonly logger = new Logger(LIBRARY_NAME);
  private servingFallback = false;
  private cacheFailing = false;

  constructor(
    private readonly upstream: FlagsUpstream,
    @Inject(FLAG_CACHE) private readonly cache: FlagCache,
  ) {}

  /** Whether `key` is on for the user; `false` when nothing is known. A string context is a distinct id. */
  async isEnabled(key: string, context: FlagContext | string): Promise<boolean> {
    return (await this.getFlagResult(key, context))?.enabled ?? false;
  }

  /** The flag's variant, else whether it is on; `undefined` when nothing is known. */
  async getFlag(key: string, context: FlagContext | string): Promise<FlagValue | undefined> {
    const result = await this.getFlagResult(key, context);
    return result && flagValue(result);
  }

  /** The flag's payload, parsed from JSON; `undefined` when it has none or nothing is known. */
  async getPayload<T = unknown>(key: string, context: FlagContext | string): Promise<T | undefined> {
    return (await this.getFlagResult(key, context))?.payload as T | undefined;
  }

  /** The whole result for one flag, with its `source`; `undefined` when nothing is known. */
  async getFlagResult(key: string, context: FlagContext | string): Promise<FlagResult | undefined> {
    return (await this.evaluate(context, [key])).get(key);
  }

  /** Every flag's value for the user (on fallback: every flag cached for that user). */
  async getAllFlags(context: FlagContext | string): Promise<Record<string, FlagValue>> {
    const results = await this.evaluate(context);
    return Object.fromEntries([...results.values()].map((result) => [result.key, flagValue(result)]));
  }

  /**
   * Evaluates the given flag keys (or every flag) for the context in one upstream call, answering from the
   * fallback cache what PostHog could not. The map holds only what is known. Inside a request whose
   * `@FeatureFlag` guard already evaluated this context, answers from that evaluation without a call.
   * @throws {TypeError} for an empty distinct id or flag key.
   */
  async evaluate(context: FlagContext | string, keys?: readonly string[]): Promise<Map<string, FlagResult>> {
    const subject = toFlagContext(context);
    keys?.forEach(assertFlagKey);
    const known = requestFlagsStorage.getStore()?.get(subject);
    if (known) return keys ? new Map([...known].filter(([key]) => keys.includes(key))) : new Map(known);
    return this.evaluateUpstream(subject, keys);
  }

  /** One upstream evaluation, with fallbacks for what PostHog could not answer. */
  private async evaluateUpstream(subject: FlagContext, keys?: readonly string[]): Promise<Map<string, FlagResult>> {
    let parsed: ParsedFlags;
    try {
      parsed = await firstValueFrom(this.upstream.evaluate(subject, keys));
    } catch (error) {
      this.noteUpstreamFailure(error);
      return this.fromFallback(subject.distinctId, keys, () => true);
    }
    this.noteUpstreamSuccess();
    this.remember(subject.distinctId, [...parsed.flags.values()]);
    const results = withSource(
      [...parsed.flags.values()].filter((flag) => !keys || keys.includes(flag.key)),
      'remote',
    );
    if (!parsed.incomplete && parsed.failed.size === 0) return results;
    const unresolved = (key: string) => !results.has(key) && (parsed.incomplete || parsed.failed.has(key));
    for (const [key, result] of await this.fromFallback(subject.distinctId, keys, unresolved)) results.set(key, result);
    return results;
  }

  /** The cached results for the keys (all when undefined) that `wanted` accepts, marked `fallback`. */
  private async fromFallback(
    distinctId: string,
    keys: readonly string[] | undefined,
    wanted: (key: string) => boolean,
  ): Promise<Map<string, FlagResult>> {
    if (keys?.length === 0) return new Map();
    try {
      const cached = await this.cache.read(distinctId, keys);
      this.noteCacheSuccess();
      return withSource(cached.filter((flag) => wanted(flag.key)), 'fallback');
    } catch (error) {
      this.noteCacheFailure(error);
      return new Map();
    }
  }

  /** Writes fresh results to the cache behind the answer: the caller does not wait, and errors are only logged. */
  private remember(distinctId: string, flags: EvaluatedFlag[]): void {
    if (flags.length === 0) return;
    this.cache.write(distinctId, flags).then(
      () => this.noteCacheSuccess(),
      (error: unknown) => this.noteCacheFailure(error),
    );
  }

  private noteUpstreamFailure(error: unknown): void {
    const reason = error instanceof UpstreamError ? error.reason : 'network';
    if (this.servingFallback || reason === 'shutdown') return;
    this.servingFallback = true;
    this.logger.warn(`PostHog /flags unavailable (${reason}); serving last known flags from the fallback cache`);
  }

  private noteUpstreamSuccess(): void {
    if (!this.servingFallback) return;
    this.servingFallback = false;
    this.logger.log('PostHog /flags answers again; serving live flags');
  }

  private noteCacheFailure(error: unknown): void {
    if (this.cacheFailing) return;
    this.cacheFailing = true;
    this.logger.warn(`fallback cache (${this.cache.backend}) failed: ${describeError(error)}`);
  }

  private noteCacheSuccess(): void {
    if (!this.cacheFailing) return;
    this.cacheFailing = false;
    this.logger.log(`fallback cache (${this.cache.backend}) works again`);
  }
}

function assertFlagKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw new TypeError('FlagsService: key must be a non-empty string');
}

/** The flags as results from `source`, by key. */
function withSource(flags: EvaluatedFlag[], source: FlagSource): Map<string, FlagResult> {
  return new Map(flags.map((flag) => [flag.key, { ...flag, source }]));
}

/** An error's message, for logs. */
function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
