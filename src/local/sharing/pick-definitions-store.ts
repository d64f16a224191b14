import type { FlagCache } from '../../cache/flag-cache.js';
import { IN_PROCESS_DEFINITIONS, type DefinitionsStore, type DefinitionsStoreSettings } from './definitions-store.js';
import type { FlagDefinitionsProvider } from './definitions-provider.js';
import { ProviderDefinitionsStore } from './provider-definitions-store.js';
import { RedisDefinitionsStore } from './redis-definitions-store.js';
import { SnapshotDefinitionsStore } from './snapshot-definitions-store.js';

/**
 * Where the definitions are shared: the `definitionsStore` option when given (instead of the cache's), else where
 * the cache URL keeps them (the Redis key on `redis://`, the snapshot file of `memory://…?snapshot=`), else the
 * process. The module's `DEFINITIONS_STORE` provider calls it once.
 */
export function pickDefinitionsStore(
  config: { definitionsStore?: FlagDefinitionsProvider; timeoutMs: number },
  cache: Pick<FlagCache, 'definitionsHome'>,
  settings: DefinitionsStoreSettings,
): DefinitionsStore {
  if (config.definitionsStore) return new ProviderDefinitionsStore(config.definitionsStore, settings, config.timeoutMs);
  const home = cache.definitionsHome;
  if (home?.kind === 'redis') return new RedisDefinitionsStore(home.connection, home, settings);
  if (home?.kind === 'snapshot') return new SnapshotDefinitionsStore(home.snapshot, home.path, home.restored);
  return IN_PROCESS_DEFINITIONS;
}
