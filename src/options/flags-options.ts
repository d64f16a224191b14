import type { ExecutionContext } from '@nestjs/common';
import type { CacheConfig } from '../cache/cache-config.js';
import type { FlagOverrides } from '../overrides/flags-overrides.js';
import type { CircuitBreakerSettings } from '../pipeline/circuit-breaker.js';
import type { FlagContext } from '../flags.types.js';
import type { FlagDenial } from './exception-option.js';
import type { FlagsServiceBinding } from './flags-service-binding.js';
import type { FlagDefinitionsProvider } from '../local/sharing/definitions-provider.js';

/**
 * Tells the module whom a request (or WebSocket message, or GraphQL operation) is for, given the real execution
 * context of the call it serves: a context, or a distinct id; `undefined` (or `null`) to use the transport's user
 * (`request.user`, the GraphQL context's `req.user`, the socket's `data.user`; anonymous when there is none).
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
   * response). A call or a `@FeatureFlag` opts out with its own `sendFeatureFlagEvents: false`.
   * @default true
   */
  sendFeatureFlagEvents?: boolean;
  /**
   * Whether PostHog leaves out the GeoIP properties it would derive from the caller's IP address: `/flags` bodies
   * carry `geoip_disable` and exposure events `$geoip_disable: true`, as posthog-node's. The IP address PostHog
   * sees is this server's, not the user's. `evaluateFlags(context, { disableGeoip })` overrides it for one call.
   * @default true
   */
  disableGeoip?: boolean;
  /**
   * PostHog's evaluation contexts (formerly environments) this service evaluates in, as posthog-node's
   * `evaluationContexts`: sent as `evaluation_contexts` in every `/flags` body (PostHog then leaves out the flags
   * limited to other contexts), and under local evaluation a flag whose contexts name none of these is left out of
   * the definitions (a flag depending on it reads it as off). At most 100 non-empty strings of 200 characters.
   * @default [] (every flag)
   */
  evaluationContexts?: readonly string[];
  /** @deprecated the older name of {@link evaluationContexts} (posthog-node's `evaluationEnvironments`). */
  evaluationEnvironments?: readonly string[];
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
  /**
   * Whom the `@FeatureFlag` guard, `@Flags()` and context-less calls evaluate for. Default: the transport's user's
   * `distinctId ?? id ?? sub`: `request.user` (HTTP), the resolver context's `req.user` (GraphQL), `client.data.user`
   * (WebSockets); RPC has none.
   */
  contextFactory?: FlagContextFactory;
  /**
   * What a denied `@FeatureFlag` call gets, unless its decorator says otherwise: an exception, or a function of the
   * execution context that builds one per denial (`undefined`: the default).
   * @default over HTTP the 404 Nest answers for a route that does not exist (`Cannot GET /path`); in GraphQL a
   * `FORBIDDEN` error; on WebSockets a `WsException` (`Forbidden resource`)
   */
  exception?: FlagDenial;
  /** Whether `flag_evaluated` events carry the distinct id. Default false (it is personal data). */
  eventsIncludeDistinctId?: boolean;
  /**
   * A project secret key (`phs_...`) or a personal API key with `feature_flag:read`: turns local evaluation on
   * (flag definitions polled and evaluated in-process), and is what `FlagsService.getRemoteConfigPayload` sends.
   * Never a project key (`phc_...`). Never printed. Without it, `localEvaluation` given with a shared store (a
   * `redis://` cache URL or a `definitionsStore`) makes a cache-only reader: it evaluates from the definitions
   * another instance publishes and never calls PostHog's definitions endpoint.
   * @default process.env.POSTHOG_SECRET_KEY
   */
  secretKey?: string;
  /** How local evaluation runs when a `secretKey` is set; `false` turns it off even then. */
  localEvaluation?: LocalEvaluationOptions | false;
  /**
   * Your own store of flag definitions, shared between instances instead of the cache URL's (a database, S3, a
   * file): an object with posthog-node's `FlagDefinitionCacheProvider` methods (`getFlagDefinitions`,
   * `shouldFetchFlagDefinitions`, `onFlagDefinitionsReceived`, `shutdown`), which a provider written for
   * posthog-node has. Each call is bounded by `timeoutMs`. Without a secret key, instances only read it.
   */
  definitionsStore?: FlagDefinitionsProvider;
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
   * Milliseconds between two polls of `/flags/definitions` (or reads of the shared Redis key); at least 1000, or
   * `0`: no timer, the definitions load at startup and on `FlagsService.reloadFeatureFlags()` only.
   * @default 30000
   */
  pollIntervalMs?: IntegerOption;
  /**
   * Milliseconds application bootstrap (`app.init()`, `app.listen()`) waits for the definitions to load; past it
   * the application starts without them (one warning). `0`: bootstrap does not wait.
   * @default 0
   */
  holdBootstrapMs?: IntegerOption;
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
  disableGeoip: boolean;
  /** The evaluation contexts (empty: none configured, every flag). */
  evaluationContexts: readonly string[];
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
  exception?: FlagDenial;
  eventsIncludeDistinctId: boolean;
  /**
   * The secret key (`secretKey` or `POSTHOG_SECRET_KEY`), `''` when none: the bearer token of remote config
   * requests, whether local evaluation is on or not. Never printed.
   */
  secretKey: string;
  /** Local evaluation's settings with the secret key; `false` when it is off. */
  localEvaluation: ResolvedLocalEvaluation | false;
  /** The `definitionsStore` option, when given. */
  definitionsStore?: FlagDefinitionsProvider;
  /** The OpenFeature provider to bind to the service at startup, when one was given. */
  openFeature?: FlagsServiceBinding;
}

/** Local evaluation as the module runs it. */
export interface ResolvedLocalEvaluation {
  /**
   * The secret (or personal API) key sent as a bearer token to `/flags/definitions`; never printed. Absent: a
   * cache-only reader, which reads the shared store and never calls the definitions endpoint.
   */
  secretKey?: string;
  /** `0`: no timer (startup and reloads only). */
  pollIntervalMs: number;
  onlyLocal: boolean;
  /** How long bootstrap waits for the definitions; `0`: it does not. */
  holdBootstrapMs: number;
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
