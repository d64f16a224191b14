import { parseCacheUrl } from '../cache/cache-url.js';
import { FlagsConfigError } from '../config/flags-config-error.js';
import { assertSendableKey } from '../config/header-safe.js';
import { maskCacheUrl, parseUrl } from '../config/url.js';
import { parseOverrides, type FlagOverrides } from '../overrides/flags-overrides.js';
import { CIRCUIT_BREAKER_DEFAULTS, type CircuitBreakerSettings } from '../pipeline/circuit-breaker.js';
import { isRecord } from '../util/is-record.js';
import { kindOf } from '../util/kind-of.js';
import type { FlagsServiceBinding } from './flags-service-binding.js';
import {
  DEFAULT_CACHE_URL,
  DEFAULT_POSTHOG_HOST,
  type CircuitBreakerOptions,
  type EventQueueOptions,
  type FlagsModuleOptions,
  type ResolvedFlagsOptions,
  type ResolvedEventQueue,
} from './flags-options.js';
import { assertKnownNames, integerOption, MAX_TIMER_MS, stringOption, typedOption } from './option-values.js';
import { resolveDefinitionsStore, resolveLocalEvaluation } from './resolve-local-evaluation.js';
import { resolveEvaluationContexts } from './evaluation-contexts-option.js';

/** The largest `retries` accepted: PostHog's policy keeps the retry count bounded. */
const MAX_RETRIES = 10;

/** Every option's name, for the check of unknown ones. */
const OPTION_NAMES: readonly (keyof FlagsModuleOptions)[] = [
  'apiKey',
  'host',
  'cacheUrl',
  'timeoutMs',
  'retries',
  'maxResponseBytes',
  'maxConcurrentRequests',
  'fallbackAfterMs',
  'overrides',
  'sendFeatureFlagEvents',
  'disableGeoip',
  'evaluationContexts',
  'evaluationEnvironments',
  'eventQueue',
  'circuitBreaker',
  'contextFactory',
  'exception',
  'eventsIncludeDistinctId',
  'secretKey',
  'localEvaluation',
  'definitionsStore',
  'openFeature',
];

/** The exposure queue's option names. */
const EVENT_QUEUE_OPTION_NAMES: readonly (keyof EventQueueOptions)[] = [
  'flushAt',
  'flushIntervalMs',
  'maxQueueSize',
  'timeoutMs',
];

/** The circuit breaker's option names. */
const CIRCUIT_BREAKER_OPTION_NAMES: readonly (keyof CircuitBreakerOptions)[] = ['failureThreshold', 'resetTimeoutMs'];

/**
 * Fills the options from the environment and defaults, and validates them.
 * @throws {FlagsConfigError} naming the missing, unknown or bad setting and what it got (never a secret value).
 */
export function resolveFlagsOptions(
  options: FlagsModuleOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedFlagsOptions {
  if (!isRecord(options as unknown))
    throw new FlagsConfigError(`the options must be an object, got ${kindOf(options)}`);
  assertKnownNames('option', options, OPTION_NAMES);
  const { overrides, overridesFrom } = resolveOverrides(options.overrides, env.POSTHOG_FLAG_OVERRIDES);
  const apiKey = stringOption('apiKey', options.apiKey) || env.POSTHOG_API_KEY || '';
  assertSendableKey('the API key (apiKey or POSTHOG_API_KEY)', apiKey);
  if (!apiKey && !overridesFrom) {
    throw new FlagsConfigError(
      'no PostHog API key; set POSTHOG_API_KEY or pass apiKey to FlagsModule (or give overrides to run offline)',
    );
  }
  const cacheUrl = stringOption('cacheUrl', options.cacheUrl) || env.FLAGS_CACHE_URL || DEFAULT_CACHE_URL;
  const secretKey = stringOption('secretKey', options.secretKey) || env.POSTHOG_SECRET_KEY || '';
  assertSendableKey('the secret key (secretKey or POSTHOG_SECRET_KEY)', secretKey);
  const cache = parseCacheUrl(cacheUrl);
  const definitionsStore = resolveDefinitionsStore(options.definitionsStore);
  return {
    apiKey,
    offline: !apiKey,
    overrides,
    ...(overridesFrom ? { overridesFrom } : {}),
    host: resolveHost(stringOption('host', options.host) || env.POSTHOG_HOST || DEFAULT_POSTHOG_HOST),
    cacheUrl,
    cache,
    timeoutMs: integerOption('timeoutMs', options.timeoutMs, 3000, { min: 1, max: MAX_TIMER_MS, unit: 'milliseconds' }),
    retries: integerOption('retries', options.retries, 1, { min: 0, max: MAX_RETRIES, unit: 'attempts' }),
    maxResponseBytes: integerOption('maxResponseBytes', options.maxResponseBytes, 1024 * 1024, {
      min: 1024,
      max: 2 ** 30,
      unit: 'bytes',
    }),
    maxConcurrentRequests: integerOption('maxConcurrentRequests', options.maxConcurrentRequests, 32, {
      min: 1,
      max: 10_000,
      unit: 'calls',
    }),
    fallbackAfterMs: integerOption('fallbackAfterMs', options.fallbackAfterMs, 500, {
      min: 0,
      max: MAX_TIMER_MS,
      unit: 'milliseconds',
    }),
    circuitBreaker: resolveCircuitBreaker(options.circuitBreaker),
    contextFactory: typedOption(
      'contextFactory',
      options.contextFactory,
      'a function',
      (value) => typeof value === 'function',
    ),
    exception: typedOption(
      'exception',
      options.exception,
      'an Error (an exception instance) or a function of the execution context',
      (value) => value instanceof Error || typeof value === 'function',
    ),
    sendFeatureFlagEvents:
      typedOption(
        'sendFeatureFlagEvents',
        options.sendFeatureFlagEvents,
        'a boolean',
        (value) => typeof value === 'boolean',
      ) ?? true,
    disableGeoip:
      typedOption('disableGeoip', options.disableGeoip, 'a boolean', (value) => typeof value === 'boolean') ?? true,
    evaluationContexts: resolveEvaluationContexts(options),
    eventQueue: resolveEventQueue(options.eventQueue),
    eventsIncludeDistinctId:
      typedOption(
        'eventsIncludeDistinctId',
        options.eventsIncludeDistinctId,
        'a boolean',
        (value) => typeof value === 'boolean',
      ) ?? false,
    secretKey,
    localEvaluation: resolveLocalEvaluation(
      secretKey,
      apiKey ? options.localEvaluation : false,
      cache.backend === 'redis' || definitionsStore !== undefined,
    ),
    ...(definitionsStore ? { definitionsStore } : {}),
    openFeature: typedOption(
      'openFeature',
      options.openFeature,
      'a PostHogFlagsProvider (new PostHogFlagsProvider() from nestjs-posthog-flags/openfeature)',
      (value) => typeof (value as Partial<FlagsServiceBinding> | null)?.bindFlagsService === 'function',
    ),
  };
}

/** The overrides of the option, else of the environment's text; where they came from when there are any. */
function resolveOverrides(
  option: unknown,
  text: string | undefined,
): Pick<ResolvedFlagsOptions, 'overrides' | 'overridesFrom'> {
  if (option !== undefined) {
    if (!isRecord(option))
      throw new FlagsConfigError(`overrides must be an object of flag values, got ${kindOf(option)}`);
    return Object.keys(option).length > 0
      ? { overrides: option as FlagOverrides, overridesFrom: 'option overrides' }
      : { overrides: {} };
  }
  if (!text) return { overrides: {} };
  try {
    return { overrides: parseOverrides(text), overridesFrom: 'POSTHOG_FLAG_OVERRIDES' };
  } catch (error) {
    throw new FlagsConfigError(`POSTHOG_FLAG_OVERRIDES: ${(error as Error).message}`, { cause: error });
  }
}

/** The exposure queue's settings with defaults. */
function resolveEventQueue(options: unknown): ResolvedEventQueue {
  if (options !== undefined && !isRecord(options)) {
    throw new FlagsConfigError(`eventQueue must be an object, got ${kindOf(options)}`);
  }
  assertKnownNames('eventQueue option', options ?? {}, EVENT_QUEUE_OPTION_NAMES);
  return {
    flushAt: integerOption('eventQueue.flushAt', options?.flushAt, 20, { min: 1, max: 1000, unit: 'events' }),
    flushIntervalMs: integerOption('eventQueue.flushIntervalMs', options?.flushIntervalMs, 10_000, {
      min: 10,
      max: MAX_TIMER_MS,
      unit: 'milliseconds',
    }),
    maxQueueSize: integerOption('eventQueue.maxQueueSize', options?.maxQueueSize, 10_000, {
      min: 1,
      max: 1_000_000,
      unit: 'events',
    }),
    timeoutMs: integerOption('eventQueue.timeoutMs', options?.timeoutMs, 10_000, {
      min: 1,
      max: MAX_TIMER_MS,
      unit: 'milliseconds',
    }),
  };
}

/** The breaker's settings with defaults, or `false` when disabled. */
function resolveCircuitBreaker(options: unknown): CircuitBreakerSettings | false {
  if (options === false) return false;
  if (options !== undefined && !isRecord(options)) {
    throw new FlagsConfigError(`circuitBreaker must be an object or false, got ${kindOf(options)}`);
  }
  assertKnownNames('circuitBreaker option', options ?? {}, CIRCUIT_BREAKER_OPTION_NAMES);
  const { failureThreshold, resetTimeoutMs } = CIRCUIT_BREAKER_DEFAULTS;
  return {
    failureThreshold: integerOption('circuitBreaker.failureThreshold', options?.failureThreshold, failureThreshold, {
      min: 1,
      max: 1000,
      unit: 'failures',
    }),
    resetTimeoutMs: integerOption('circuitBreaker.resetTimeoutMs', options?.resetTimeoutMs, resetTimeoutMs, {
      min: 1,
      max: 86_400_000,
      unit: 'milliseconds',
    }),
  };
}

/**
 * The host as an http(s) base URL without a trailing slash.
 * @throws {FlagsConfigError} for another scheme, a query string or fragment (the endpoints' paths are added to the
 * host's path: it would be dropped; neither is quoted, it may hold a token), or a `user:password@` in it (the
 * password masked).
 */
function resolveHost(host: string): string {
  const url = parseUrl(
    host,
    (problem) => new FlagsConfigError(`host "${maskCacheUrl(host)}": ${problem}`),
    `e.g. ${DEFAULT_POSTHOG_HOST}`,
  );
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FlagsConfigError(`host must be an http:// or https:// URL, got "${url.protocol}"`);
  }
  if (/[?#]/.test(host)) {
    throw new FlagsConfigError(
      `host "${url.origin}${url.pathname}" is followed by a query string or fragment ("?" or "#"), which no ` +
        'request would carry: remove it',
    );
  }
  if (url.username || url.password) {
    throw new FlagsConfigError(
      `host "${maskCacheUrl(host)}" holds a user name or password: PostHog takes none in the URL, remove them`,
    );
  }
  return url.href.replace(/\/+$/, '');
}
