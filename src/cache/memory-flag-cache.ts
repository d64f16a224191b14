import { LRUCache } from 'lru-cache';
import type { EvaluatedFlag } from '../flags.types.js';
import type { MemoryCacheConfig } from './cache-url.js';
import { isWithinTtl, type FlagCache } from './flag-cache.js';

/**
 * The `memory://` backend: per-process, holding the flags of the `size` most recently used distinct ids.
 */
export class MemoryFlagCache implements FlagCache {
  readonly backend = 'memory';
  private readonly users: LRUCache<string, Map<string, EvaluatedFlag>>;

  constructor(private readonly config: MemoryCacheConfig) {
    this.users = new LRUCache({ max: config.size });
  }

  async read(distinctId: string, keys?: readonly string[]): Promise<EvaluatedFlag[]> {
    const flags = this.users.get(distinctId);
    if (!flags) return [];
    const entries = keys ? keys.map((key) => flags.get(key)) : [...flags.values()];
    return entries.filter(
      (entry): entry is EvaluatedFlag => entry !== undefined && isWithinTtl(entry.evaluatedAt, this.config.ttlSeconds),
    );
  }

  async write(distinctId: string, flags: readonly EvaluatedFlag[]): Promise<void> {
    const known = this.users.get(distinctId) ?? new Map<string, EvaluatedFlag>();
    for (const flag of flags) known.set(flag.key, flag);
    this.users.set(distinctId, known);
  }

  async close(): Promise<void> {
    this.users.clear();
  }
}
