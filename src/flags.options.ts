import type { ExecutionContext } from '@nestjs/common';
import { parseCacheUrl, type CacheConfig } from './cache/cache-url.js';
import type { CircuitBreakerOptions } from './pipeline/circuit-breaker.js';
import type { FlagContext } from './flags.types.js';

/**
 * Tells the `@FeatureFlag` guard whom a request is for: a context, a distinct id, or `undefined` for an
 * anonymous request (its flags count as unknown).
 */
export type FlagContextFactory = (
  context: ExecutionContext,
) => FlagContext | string | undefined | Promise<FlagContext | string | undefined>;

/** Options of `FlagsModule.forRoot`; every one is optional and falls back to the environment or a default. */
export interface FlagsModuleOptions {
  /** PostHog project API key (`phc_...`). Default: env `POSTHOG_API_KEY`; missing everywhere fails startup. */
  apiKey?: string;
  /** PostHog instance. Default: env `POSTHOG_HOST`, else `https://us.i.posthog.com`. */
  host?: string;
  /** Fallback cache URL, e.g. `memory://local?ttl=3600&size=10000`. Default: env `FLAGS_CACHE_URL`, else `memory://local`. */
  cacheUrl?: string;
  /** Milliseconds one upstream attempt may take. Default 3000. */
  timeoutMs?: number;
  /** Extra attempts after a retryable failure (0 disables, at most 10). Default 1. */
  retries?: number;
  /**
   * The largest `/flags` body read, in decoded bytes (after gzip); a larger one is a failure (`too_large`) and
   * the call falls back. Default 1 MiB.
   */
  maxResponseBytes?: number;
  /**
   * Upstream calls in flight at most. A call over the cap answers from the fallback cache at once when the user
   * has a last known value, else waits for a free slot in a queue of {@link MAX_QUEUED_CALLS_PER_SLOT} × this
   * many calls; past that it is unknown (`overloaded`). Default 32.
   */
  maxConcurrentRequests?: number;
  /**
   * The circuit breaker: after `failureThreshold` consecutive failed calls (default 5) evaluations go straight
   * to the fallback cache for `resetTimeoutMs` (default 10 000), then one probe decides. `false` disables it.
   */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Whether the module is global. Default true. (`forRootAsync` takes it beside `useFactory`.) */
  isGlobal?: boolean;
  /** Whom the `@FeatureFlag` guard evaluates for. Default: `request.user.distinctId ?? .id ?? .sub` (HTTP only). */
  contextFactory?: FlagContextFactory;
  /** What a denied `@FeatureFlag` request gets, unless its decorator says otherwise. Default `NotFoundException`. */
  exception?: Error;
  /** Whether `flag_evaluated` events carry the distinct id. Default false (it is personal data). */
  eventsIncludeDistinctId?: boolean;
}

/** Options of `FlagsModule.forRootAsync`: options built by a factory with injected dependencies. */
export interface FlagsModuleAsyncOptions {
  /** Modules whose providers the factory injects. */
  imports?: any[];
  /** Tokens injected into `useFactory`, in order. */
  inject?: any[];
  /** Builds the options; may be async. */
  useFactory: (...args: any[]) => FlagsModuleOptions | Promise<FlagsModuleOptions>;
  /** Whether the module is global. Default true. */
  isGlobal?: boolean;
}

/** The configuration the module runs with, validated at startup. */
export interface ResolvedFlagsOptions {
  apiKey: string;
  /** Base URL without a trailing slash. */
  host: string;
  /** The cache URL as given (may hold a password: mask it before printing). */
  cacheUrl: string;
  cache: CacheConfig;
  timeoutMs: number;
  retries: number;
  maxResponseBytes: number;
  maxConcurrentRequests: number;
  circuitBreaker: Required<CircuitBreakerOptions> | false;
  contextFactory?: FlagContextFactory;
  exception?: Error;
  eventsIncludeDistinctId: boolean;
}

/** The PostHog instance used when neither `host` nor `POSTHOG_HOST` is set. */
export const DEFAULT_POSTHOG_HOST = 'https://us.i.posthog.com';

/** The cache used when neither `cacheUrl` nor `FLAGS_CACHE_URL` is set. */
export const DEFAULT_CACHE_URL = 'memory://local';

/** How many calls may wait for a slot, per slot of `maxConcurrentRequests`. */
export const MAX_QUEUED_CALLS_PER_SLOT = 32;

/** The largest `retries` accepted: PostHog's policy keeps the retry count bounded. */
const MAX_RETRIES = 10;

/**
 * Fills the options from the environment and defaults, and validates them.
 * @throws {Error} naming the missing or bad setting (never its secret value).
 */
export function resolveFlagsOptions(
  options: FlagsModuleOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedFlagsOptions {
  const apiKey = options.apiKey || env.POSTHOG_API_KEY;
  if (!apiKey) {
    throw new Error('nestjs-posthog-flags: no PostHog API key; set POSTHOG_API_KEY or pass apiKey to FlagsModule');
  }
  const cacheUrl = options.cacheUrl || env.FLAGS_CACHE_URL || DEFAULT_CACHE_URL;
  return {
    apiKey,
    host: resolveHost(options.host || env.POSTHOG_HOST || DEFAULT_POSTHOG_HOST),
    cacheUrl,
    cache: parseCacheUrl(cacheUrl),
    timeoutMs: integerOption('timeoutMs', options.timeoutMs, 3000, 1, Number.MAX_SAFE_INTEGER),
    retries: integerOption('retries', options.retries, 1, 0, MAX_RETRIES),
    maxResponseBytes: integerOption('maxResponseBytes', options.maxResponseBytes, 1024 * 1024, 1024, 2 ** 30),
    maxConcurrentRequests: integerOption('maxConcurrentRequests', options.maxConcurrentRequests, 32, 1, 10_000),
    circuitBreaker: resolveCircuitBreaker(options.circuitBreaker),
    contextFactory: options.contextFactory,
    exception: options.exception,
    eventsIncludeDistinctId: options.eventsIncludeDistinctId ?? false,
  };
}

/** The breaker's settings with defaults, or `false` when disabled. */
function resolveCircuitBreaker(options: CircuitBreakerOptions | false | undefined): Required<CircuitBreakerOptions> | false {
  if (options === false) return false;
  return {
    failureThreshold: integerOption('circuitBreaker.failureThreshold', options?.failureThreshold, 5, 1, 1000),
    resetTimeoutMs: integerOption('circuitBreaker.resetTimeoutMs', options?.resetTimeoutMs, 10_000, 1, 86_400_000),
  };
}

/** The host as an http(s) base URL without a trailing slash. */
function resolveHost(host: string): string {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new Error(`nestjs-posthog-flags: host "${host}" is not a URL (expected e.g. ${DEFAULT_POSTHOG_HOST})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`nestjs-posthog-flags: host must be an http:// or https:// URL, got "${url.protocol}"`);
  }
  return url.href.replace(/\/+$/, '');
}

/** An integer option within [min, max], or its default when not given. */
function integerOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`nestjs-posthog-flags: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
