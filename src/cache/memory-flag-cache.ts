import { LRUCache } from 'lru-cache';
import type { EvaluatedFlag } from '../flags.types.js';
import type { MemoryCacheConfig } from './cache-url.js';
import { cachedFlags, type CachedFlags, type FlagCache } from './flag-cache.js';

/**
 * The `memory://` backend: per-process, holding the flags of the `size` most recently used distinct ids.
 */
export class MemoryFlagCache implements FlagCache {
  readonly backend = 'memory';
  readonly connected = true;
  private readonly users: LRUCache<string, Map<string, EvaluatedFlag>>;
  /** Every flag key of the last whole evaluation, plus any seen since; replaced, never changed in place. */
  private knownKeys: readonly string[] = [];

  constructor(private readonly config: MemoryCacheConfig) {
    this.users = new LRUCache({ max: config.size });
  }

  async read(distinctId: string, keys?: readonly string[]): Promise<CachedFlags> {
    const wanted = keys ?? this.knownKeys;
    const flags = this.users.get(distinctId);
    return cachedFlags(wanted, wanted.map((key) => flags?.get(key)), this.config.ttlSeconds);
  }

  async write(distinctId: string, flags: readonly EvaluatedFlag[], whole: boolean): Promise<void> {
    const known = this.users.get(distinctId) ?? new Map<string, EvaluatedFlag>();
    for (const flag of flags) known.set(flag.key, flag);
    this.users.set(distinctId, known);
    const keys = flags.map((flag) => flag.key);
    this.knownKeys = whole ? keys : [...new Set([...this.knownKeys, ...keys])];
  }

  async close(): Promise<void> {
    this.users.clear();
  }
}
