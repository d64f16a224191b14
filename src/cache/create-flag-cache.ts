import type { CacheConfig } from './cache-url.js';
import type { FlagCache } from './flag-cache.js';
import { MemoryFlagCache } from './memory-flag-cache.js';

/** Builds the backend the cache URL asked for. */
export async function createFlagCache(config: CacheConfig): Promise<FlagCache> {
  switch (config.backend) {
    case 'memory':
      return new MemoryFlagCache(config);
  }
}
