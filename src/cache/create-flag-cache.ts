import { FlagsConfigError } from '../config/flags-config-error.js';
import type { CacheConfig } from './cache-config.js';
import type { FlagCache } from './flag-cache.js';
import { MemoryFlagCache } from './memory-flag-cache.js';
import { SnapshotFlagCache } from './snapshot-flag-cache.js';

/**
 * Builds the backend the cache URL asked for. `ioredis` is loaded only for a Redis URL. `fingerprint` (the project's,
 * see `projectFingerprint`) tells a snapshot file of this project from another's.
 */
export async function createFlagCache(config: CacheConfig, fingerprint = ''): Promise<FlagCache> {
  switch (config.backend) {
    case 'memory':
      if (config.snapshot) return SnapshotFlagCache.open({ ...config, snapshot: config.snapshot }, fingerprint);
      return new MemoryFlagCache(config);
    case 'redis': {
      const { RedisFlagCache } = await import('./redis-flag-cache.js').catch((error: unknown) => {
        throw new FlagsConfigError(
          `${config.displayUrl} needs the optional peer dependency ioredis (npm install ioredis): ${(error as Error).message}`,
          { cause: error },
        );
      });
      return RedisFlagCache.open(config);
    }
  }
}
