import { FlagsConfigError } from '../config/flags-config-error.js';
import type { CacheConfig } from './cache-url.js';
import type { FlagCache } from './flag-cache.js';
import { MemoryFlagCache } from './memory-flag-cache.js';

/** Builds the backend the cache URL asked for. `ioredis` is loaded only for a Redis URL. */
export async function createFlagCache(config: CacheConfig): Promise<FlagCache> {
  switch (config.backend) {
    case 'memory':
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
