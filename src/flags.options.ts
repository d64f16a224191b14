import type { ExecutionContext } from '@nestjs/common';
import { parseCacheUrl, type CacheConfig } from './cache/cache-url.js';
import { FlagsConfigError } from './config/flags-config-error.js';
import { assertSendableKey } from './config/header-safe.js';
import { readInteger, type IntegerBounds } from './config/read-integer.js';
import { maskCacheUrl, parseUrl } from './config/url.js';
import { parseOverrides, type FlagOverrides } from './overrides/flags-overrides.js';
import { CIRCUIT_BREAKER_DEFAULTS, type CircuitBreakerSettings } from './pipeline/circuit-breaker.js';
import { isRecord } from './util/is-record.js';
import { kindOf } from './util/kind-of.js';
import type { FlagContext } from './flags.types.js';
import type { FlagsServiceBinding } from './flags-service-binding.js';

/**
 * Tells the `@FeatureFlag` guard whom a request is for: a context, a distinct id, or `undefined` for an
 * anonymous request (its flags count as unknown).
 */
export type FlagContextFactory = (
  context: ExecutionContext,
) => FlagContext | string | undefined | Promise<FlagContext | string | undefined>;

/**
 * An integer option: a number, or a string of digits, as `ConfigService.get<string>()` returns it. Any other string
 * fails at startup with a `FlagsConfigError` naming the option and what it got.
 */
export type IntegerOption = number | string;

/**
 * Options of `FlagsModule.forRoot` (and what a `forRootAsync` factory returns); every one is optional and falls
 * back to the environment or a default. Numbers may be given as digit strings (as `ConfigService` returns them);
 * an unknown option fails at startup naming the nearest known one. `isGlobal` (default `true`) goes beside them
 * in `forRoot`, and beside `useFactory` in `forRootAsync`.
 */
export interface FlagsModuleOptions {
  /**
   * PostHog project API key (`phc_...`); missing everywhere fails startup, unless `overrides` are given (then the
   * module runs offline: flags not overridden are unknown).
   * @default process.env.POSTHOG_API_KEY
   */
  apiKey?: string;
  /**
   * PostHog instance.
   * @default process.env.POSTHOG_HOST ?? 'https://us.i.posthog.com'
   */
  host?: string;
  /**
   * Fallback cache URL, e.g. `memory://local?ttl=3600&size=10000`.
   * @default process.env.FLAGS_CACHE_URL ?? 'memory://local'
   */
  cacheUrl?: string;
  /**
   * Milliseconds one upstream attempt may take (a digit string is accepted).
   * @default 3000
   */
  timeoutMs?: IntegerOption;
  /**
   * Extra attempts after a retryable failure (0 disables, at most 10).
   * @default 1
   */
  retries?: IntegerOption;
  /**
   * The largest `/flags` body read, in decoded bytes (after gzip); a larger one is a failure (`too_large`) and
   * the call falls back. Default 1 MiB.
   */
  maxResponseBytes?: IntegerOption;
  /**
   * Upstream calls in flight at most. A call over the cap answers from the fallback cache at once when the user
   * has a last known value, else waits for a free slot in a queue of {@link MAX_QUEUED_CALLS_PER_SLOT} × this
   * many calls; past that it is unknown (`overloaded`). Default 32.
   */
  maxConcurrentRequests?: IntegerOption;
  /**
   * Whether `isEnabled`, `getFlag`, `getFlagResult` and the `@FeatureFlag` guard send `$feature_flag_called`
   * exposure events, as PostHog's SDKs do, so that experiments see who was exposed (one per user, flag and
   * response). A call opts out with `{ sendEvent: false }`.
   * @default true
   */
  sendFeatureFlagEvents?: boolean;
  /** How exposure events are batched and bounded. */
  eventQueue?: EventQueueOptions;
  /**
   * Flag values applied on top of every answer, for every user (`source: 'override'`): for local development, or
   * to force a flag. Logged as a warning at startup, naming the keys. From the environment:
   * `POSTHOG_FLAG_OVERRIDES=new-checkout=true,checkout=test`.
   * @default process.env.POSTHOG_FLAG_OVERRIDES
   */
  overrides?: FlagOverrides;
  /**
   * Milliseconds a user whose every flag asked has a last known value waits for PostHog before being answered
   * from the fallback cache (`source: 'fallback'`); the call goes on behind the answer and refreshes the cache.
   * Users with nothing cached wait for PostHog. `0` turns it off.
   * @default 500
   */
  fallbackAfterMs?: IntegerOption;
  /**
   * The circuit breaker: after `failureThreshold` consecutive failed calls (default 5) evaluations go straight
   * to the fallback cache for `resetTimeoutMs` (default 10 000), then one probe decides. `false` disables it.
   */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Whom the `@FeatureFlag` guard evaluates for. Default: `request.user.distinctId ?? .id ?? .sub` (HTTP only). */
  contextFactory?: FlagContextFactory;
  /**
   * What a denied `@FeatureFlag` request gets, unless its decorator says otherwise.
   * @default the 404 Nest answers for a route that does not exist (`Cannot GET /path`)
   */
  exception?: Error;
  /** Whether `flag_evaluated` events carry the distinct id. Default false (it is personal data). */
  eventsIncludeDistinctId?: boolean;
  /**
   * A project secret key (`phs_...`) or a personal API key with `feature_flag:read`: turns local evaluation on
   * (flag definitions polled and evaluated in-process). Never a project key (`phc_...`). Never printed.
   * @default process.env.POSTHOG_SECRET_KEY
   */
  secretKey?: string;
  /** How local evaluation runs when a `secretKey` is set; `false` turns it off even then. */
  localEvaluation?: LocalEvaluationOptions | false;
  /**
   * A `PostHogFlagsProvider` (from `nestjs-posthog-flags/openfeature`), bound to this application's `FlagsService`
   * once the application has started: OpenFeature evaluations through it resolve with this module. Give the same
   * instance to OpenFeature (`OpenFeatureModule.forRoot({ defaultProvider })` or `OpenFeature.setProvider`).
   */
  openFeature?: FlagsServiceBinding;
}

/** Settings of the circuit breaker (see {@link FlagsModuleOptions.circuitBreaker}). */
export interface CircuitBreakerOptions {
  /**
   * Consecutive failed calls that open the circuit.
   * @default 5
   */
  failureThreshold?: IntegerOption;
  /**
   * Milliseconds the circuit stays open before one probe call goes out.
   * @default 10000
   */
  resetTimeoutMs?: IntegerOption;
}

/** How flag definitions are polled and used. */
export interface LocalEvaluationOptions {
  /**
   * Milliseconds between two polls of `/flags/definitions` (or reads of the shared Redis key); at least 1000.
   * @default 30000
   */
  pollIntervalMs?: IntegerOption;
  /**
   * Answer from the definitions only: a flag they cannot decide is unknown (its requirement's default) instead of
   * asked of PostHog's `/flags`.
   * @default false
   */
  onlyLocal?: boolean;
}

/** How exposure events are batched and bounded. */
export interface EventQueueOptions {
  /**
   * Events that make a batch be sent at once.
   * @default 20
   */
  flushAt?: IntegerOption;
  /**
   * Milliseconds between sends of what is queued.
   * @default 10000
   */
  flushIntervalMs?: IntegerOption;
  /**
   * Events kept at most while PostHog's capture endpoint is down; past it, the oldest are dropped (counted).
   * @default 10000
   */
  maxQueueSize?: IntegerOption;
  /**
   * Milliseconds one `/batch/` request may take before it is abandoned (and its events sent again later).
   * @default 10000
   */
  timeoutMs?: IntegerOption;
}

/** The configuration the module runs with, validated at startup. */
export interface ResolvedFlagsOptions {
  /** Empty when running offline. */
  apiKey: string;
  /** No API key, or the testing module: no call to PostHog, ever; only overridden flags are known. */
  offline: boolean;
  overrides: FlagOverrides;
  sendFeatureFlagEvents: boolean;
  eventQueue: ResolvedEventQueue;
  /** Where the overrides came from, for the startup warning; undefined when none were configured. */
  overridesFrom?: 'option overrides' | 'POSTHOG_FLAG_OVERRIDES';
  /** Base URL without a trailing slash. */
  host: string;
  /** The cache URL as given (may hold a password: mask it before printing). */
  cacheUrl: string;
  cache: CacheConfig;
  timeoutMs: number;
  retries: number;
  maxResponseBytes: number;
  maxConcurrentRequests: number;
  fallbackAfterMs: number;
  circuitBreaker: CircuitBreakerSettings | false;
  contextFactory?: FlagContextFactory;
  exception?: Error;
  eventsIncludeDistinctId: boolean;
  /** Local evaluation's settings with the secret key; `false` when it is off. */
  localEvaluation: ResolvedLocalEvaluation | false;
  /** The OpenFeature provider to bind to the service at startup, when one was given. */
  openFeature?: FlagsServiceBinding;
}

/** Local evaluation as the module runs it. */
export interface ResolvedLocalEvaluation {
  /** The secret (or personal API) key sent as a bearer token to `/flags/definitions`; never printed. */
  secretKey: string;
  pollIntervalMs: number;
  onlyLocal: boolean;
}

/** The exposure queue as the module runs it. */
export interface ResolvedEventQueue {
  flushAt: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  timeoutMs: number;
}

/** The PostHog instance used when neither `host` nor `POSTHOG_HOST` is set. */
export const DEFAULT_POSTHOG_HOST = 'https://us.i.posthog.com';

/** The cache used when neither `cacheUrl` nor `FLAGS_CACHE_URL` is set. */
export const DEFAULT_CACHE_URL = 'memory://local';

/** How many calls may wait for a slot, per slot of `maxConcurrentRequests`. */
export const MAX_QUEUED_CALLS_PER_SLOT = 32;

/** The longest delay a Node timer takes (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  'eventQueue',
  'circuitBreaker',
  'contextFactory',
  'exception',
  'eventsIncludeDistinctId',
  'secretKey',
  'localEvaluation',
  'openFeature',
];

/** Local evaluation's option names. */
const LOCAL_EVALUATION_OPTION_NAMES: readonly (keyof LocalEvaluationOptions)[] = ['pollIntervalMs', 'onlyLocal'];

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
  return {
    apiKey,
    offline: !apiKey,
    overrides,
    ...(overridesFrom ? { overridesFrom } : {}),
    host: resolveHost(stringOption('host', options.host) || env.POSTHOG_HOST || DEFAULT_POSTHOG_HOST),
    cacheUrl,
    cache: parseCacheUrl(cacheUrl),
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
      'an Error (an exception instance)',
      (value) => value instanceof Error,
    ),
    sendFeatureFlagEvents:
      typedOption(
        'sendFeatureFlagEvents',
        options.sendFeatureFlagEvents,
        'a boolean',
        (value) => typeof value === 'boolean',
      ) ?? true,
    eventQueue: resolveEventQueue(options.eventQueue),
    eventsIncludeDistinctId:
      typedOption(
        'eventsIncludeDistinctId',
        options.eventsIncludeDistinctId,
        'a boolean',
        (value) => typeof value === 'boolean',
      ) ?? false,
    localEvaluation: resolveLocalEvaluation(
      stringOption('secretKey', options.secretKey) || env.POSTHOG_SECRET_KEY || '',
      apiKey ? options.localEvaluation : false,
    ),
    openFeature: typedOption(
      'openFeature',
      options.openFeature,
      'a PostHogFlagsProvider (new PostHogFlagsProvider() from nestjs-posthog-flags/openfeature)',
      (value) => typeof (value as Partial<FlagsServiceBinding> | null)?.bindFlagsService === 'function',
    ),
  };
}

/**
 * Local evaluation's settings, on with a secret key unless `localEvaluation: false`.
 * @throws {FlagsConfigError} for a project key (`phc_`) given as the secret key, settings without a key, or a poll
 * interval below 1000 ms.
 */
function resolveLocalEvaluation(secretKey: string, given: unknown): ResolvedLocalEvaluation | false {
  if (given === false) return false;
  if (given !== undefined && !isRecord(given)) {
    throw new FlagsConfigError(`localEvaluation must be an object or false, got ${kindOf(given)}`);
  }
  const options = given as LocalEvaluationOptions | undefined;
  assertKnownNames('localEvaluation option', options ?? {}, LOCAL_EVALUATION_OPTION_NAMES);
  if (secretKey.startsWith('phc_')) {
    throw new FlagsConfigError(
      'the secret key (secretKey or POSTHOG_SECRET_KEY) is a project API key (phc_...), which cannot read flag ' +
        'definitions: use a project secret key (phs_...) or a personal API key with feature_flag:read',
    );
  }
  assertSendableKey('the secret key (secretKey or POSTHOG_SECRET_KEY)', secretKey);
  if (!secretKey) {
    if (options === undefined) return false;
    throw new FlagsConfigError('localEvaluation needs a secret key: set POSTHOG_SECRET_KEY or pass secretKey');
  }
  return {
    secretKey,
    pollIntervalMs: integerOption('localEvaluation.pollIntervalMs', options?.pollIntervalMs, 30_000, {
      min: 1000,
      max: MAX_TIMER_MS,
      unit: 'milliseconds',
    }),
    onlyLocal:
      typedOption<boolean>(
        'localEvaluation.onlyLocal',
        options?.onlyLocal,
        'a boolean',
        (value) => typeof value === 'boolean',
      ) ?? false,
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
 * @throws {FlagsConfigError} for another scheme, or a `user:password@` in it (the password masked).
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
  if (url.username || url.password) {
    throw new FlagsConfigError(
      `host "${maskCacheUrl(host)}" holds a user name or password: PostHog takes none in the URL, remove them`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/** An integer option (a number or a digit string) within its bounds, or its default when not given. */
function integerOption(name: string, value: unknown, fallback: number, bounds: IntegerBounds): number {
  if (value === undefined) return fallback;
  try {
    return readInteger(value, bounds);
  } catch (error) {
    throw new FlagsConfigError(`${name} ${(error as Error).message}`);
  }
}

/** A string option, or undefined; never echoes the value (the API key is one). */
function stringOption(name: string, value: string | undefined): string | undefined {
  return typedOption(name, value, 'a string', (candidate) => typeof candidate === 'string');
}

/** The option when it passes `isValid`, undefined when not given. */
function typedOption<T>(
  name: string,
  value: T | undefined,
  expected: string,
  isValid: (value: unknown) => boolean,
): T | undefined {
  if (value === undefined || isValid(value)) return value;
  throw new FlagsConfigError(`${name} must be ${expected}, got ${kindOf(value)}`);
}

/** @throws {FlagsConfigError} for a name not in `known`, naming the nearest known one. */
function assertKnownNames(what: string, given: object, known: readonly string[]): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue;
    if (name === 'isGlobal') {
      throw new FlagsConfigError('isGlobal goes beside useFactory in forRootAsync, not in the options it returns');
    }
    throw new FlagsConfigError(
      `unknown ${what} "${name}"; did you mean "${nearest(name, known)}"? Known: ${known.join(', ')}`,
    );
  }
}

/** The candidate closest to `name` (edit distance, ignoring case). */
function nearest(name: string, candidates: readonly string[]): string {
  let best = candidates[0]!;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
