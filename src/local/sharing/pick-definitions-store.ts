import type { FlagCache } from '../../cache/flag-cache.js';
import type { ResolvedFlagsOptions } from '../../options/flags-options.js';
import { IN_PROCESS_DEFINITIONS, type DefinitionsStore, type DefinitionsStoreSettings } from './definitions-store.js';
import { ProviderDefinitionsStore } from './provider-definitions-store.js';

/**
 * Where the definitions are shared: the `definitionsStore` option when given (instead of the cache's), else the
 * cache URL's store (the Redis key on `redis://`), else the process.
 */
export function pickDefinitionsStore(
  config: Pick<ResolvedFlagsOptions, 'definitionsStore' | 'timeoutMs'>,
  cache: FlagCache,
  settings: DefinitionsStoreSettings,
): DefinitionsStore {
  if (config.definitionsStore) return new ProviderDefinitionsStore(config.definitionsStore, settings, config.timeoutMs);
  return cache.definitionsStore?.(settings) ?? IN_PROCESS_DEFINITIONS;
}
