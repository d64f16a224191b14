export { FlagsModule } from './flags.module.js';
export { FlagsService, type ExposureOptions } from './flags.service.js';
export type { EvaluateFlagsOptions } from './evaluation/evaluate-flags-options.js';
export { FlagEvaluations } from './evaluation/flag-evaluations.js';
export type { FlagReadOptions, IsEnabledOptions } from './evaluation/flag-read-options.js';
export type { UnresolvedReason } from './local/engine/unresolved-reason.js';
export type { DefinitionsReload, ReloadOutcome } from './local/polling/definitions-reload.js';
export type { FlagDefinitionsProvider, FlagDefinitionsProviderData } from './local/sharing/definitions-provider.js';
export type { ExposureStatus } from './monitor/exposure-status.js';
export {
  DEFAULT_CACHE_URL,
  DEFAULT_POSTHOG_HOST,
  type CircuitBreakerOptions,
  type EventQueueOptions,
  type IntegerOption,
  type FlagContextFactory,
  type FlagsModuleOptions,
  type LocalEvaluationOptions,
} from './options/flags-options.js';
export type {
  FlagsModuleAsyncOptions,
  FlagsModuleRootOptions,
  FlagsOptionsFactory,
} from './flags.module-definition.js';
export type { FlagsServiceBinding } from './options/flags-service-binding.js';
export type { FlagOverride, FlagOverrides, FlagOverrideValue } from './overrides/flags-overrides.js';
export {
  flagValue,
  type EvaluatedFlag,
  type FlagContext,
  type FlagResult,
  type FlagSource,
  type FlagValue,
  type PostHogBootstrap,
} from './flags.types.js';
export { CacheUrlError } from './cache/cache-url.js';
export { FlagsConfigError } from './config/flags-config-error.js';
export { maskCacheUrl } from './config/url.js';
export { UpstreamError, type UpstreamFailureReason } from './pipeline/upstream-error.js';
export { FeatureFlag } from './guard/feature-flag.decorator.js';
export type { FeatureFlagOptions } from './guard/flag-requirement.js';
export type { FlagDenial } from './options/exception-option.js';
export { FeatureFlagGuard } from './guard/feature-flag.guard.js';
export { Flags } from './guard/flags.decorator.js';
export type {
  CacheErrorEvent,
  CircuitChangedEvent,
  CircuitState,
  DefinitionsFailedEvent,
  DefinitionsLoadedEvent,
  DefinitionsStatus,
  FlagEvaluatedEvent,
  FlagsCounts,
  FlagsEvent,
  FlagsStatus,
  UpstreamFailedEvent,
} from './monitor/flags-events.js';
