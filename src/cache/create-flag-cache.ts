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
        throw new Error(
          `nestjs-posthog-flags: ${config.displayUrl} needs the optional peer dependency ioredis ` +
            `(npm install ioredis): ${(error as Error).message}`,
        );
      });
      return RedisFlagCache.open(config);
    }
  }
}
