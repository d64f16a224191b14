export { FlagsModule } from './flags.module.js';
export { FlagsService } from './flags.service.js';
export {
  DEFAULT_CACHE_URL,
  DEFAULT_POSTHOG_HOST,
  type FlagsModuleAsyncOptions,
  type FlagsModuleOptions,
} from './flags.options.js';
export { flagValue, type EvaluatedFlag, type FlagContext, type FlagResult, type FlagSource, type FlagValue } from './flags.types.js';
export { CacheUrlError, maskCacheUrl } from './cache/cache-url.js';
export type { FlagCache } from './cache/flag-cache.js';
export { UpstreamError, type UpstreamFailureReason } from './upstream/upstream-error.js';
