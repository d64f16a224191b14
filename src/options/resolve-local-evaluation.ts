import { FlagsConfigError } from '../config/flags-config-error.js';
import type { FlagDefinitionsProvider } from '../local/sharing/definitions-provider.js';
import { isRecord } from '../util/is-record.js';
import { kindOf } from '../util/kind-of.js';
import type { LocalEvaluationOptions, ResolvedLocalEvaluation } from './flags-options.js';
import { assertKnownNames, integerOption, MAX_TIMER_MS, typedOption } from './option-values.js';

/** Local evaluation's option names. */
const LOCAL_EVALUATION_OPTION_NAMES: readonly (keyof LocalEvaluationOptions)[] = [
  'pollIntervalMs',
  'onlyLocal',
  'holdBootstrapMs',
];

/**
 * Local evaluation's settings, on with a secret key unless `localEvaluation: false`; settings given without a key
 * make a cache-only reader when definitions are shared (`sharedStore`: a Redis cache URL or a `definitionsStore`).
 * @throws {FlagsConfigError} for a project key (`phc_`) given as the secret key, settings without a key nor a shared
 * store, or a poll interval below 1000 ms (other than 0: no timer).
 */
export function resolveLocalEvaluation(
  secretKey: string,
  given: unknown,
  sharedStore: boolean,
): ResolvedLocalEvaluation | false {
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
  if (!secretKey) {
    if (options === undefined) return false;
    if (!sharedStore) {
      throw new FlagsConfigError(
        'localEvaluation needs a secret key: set POSTHOG_SECRET_KEY or pass secretKey (or, for a cache-only ' +
          'reader of definitions another instance publishes, a redis:// cache URL or a definitionsStore)',
      );
    }
  }
  return {
    ...(secretKey ? { secretKey } : {}),
    pollIntervalMs: resolvePollInterval(options?.pollIntervalMs),
    holdBootstrapMs: integerOption('localEvaluation.holdBootstrapMs', options?.holdBootstrapMs, 0, {
      min: 0,
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

/**
 * The poll interval: at least 1000 ms, or `0` (no timer).
 * @throws {FlagsConfigError} for anything else, saying that 0 turns the timer off.
 */
function resolvePollInterval(given: unknown): number {
  const name = 'localEvaluation.pollIntervalMs';
  const interval = integerOption(name, given, 30_000, { min: 0, max: MAX_TIMER_MS, unit: 'milliseconds' });
  if (interval === 0 || interval >= 1000) return interval;
  throw new FlagsConfigError(
    `${name} must be at least 1000 milliseconds, or 0 to turn the timer off (reloadFeatureFlags() loads), got ${interval}`,
  );
}

/** The methods a `definitionsStore` must have (posthog-node's provider's; `shutdown` may be left out). */
const PROVIDER_METHODS = ['getFlagDefinitions', 'shouldFetchFlagDefinitions', 'onFlagDefinitionsReceived'] as const;

/**
 * The `definitionsStore` option, when given.
 * @throws {FlagsConfigError} naming the method it lacks (or `shutdown` when it is not a function).
 */
export function resolveDefinitionsStore(given: unknown): FlagDefinitionsProvider | undefined {
  if (given === undefined) return undefined;
  if (given === null || typeof given !== 'object') {
    throw new FlagsConfigError(
      `definitionsStore must be an object with posthog-node's FlagDefinitionCacheProvider methods, got ${kindOf(given)}`,
    );
  }
  const provider = given as Record<string, unknown>;
  for (const method of PROVIDER_METHODS) {
    if (typeof provider[method] !== 'function') {
      throw new FlagsConfigError(`definitionsStore has no ${method}() method (posthog-node's provider methods)`);
    }
  }
  if (provider.shutdown !== undefined && typeof provider.shutdown !== 'function') {
    throw new FlagsConfigError(`definitionsStore.shutdown must be a method, got ${kindOf(provider.shutdown)}`);
  }
  return given as FlagDefinitionsProvider;
}
