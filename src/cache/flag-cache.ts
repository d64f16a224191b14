import type { EvaluatedFlag } from '../flags.types.js';

/**
 * Where the last known flag results live. The only storage seam the service knows: the cache URL picks the
 * implementation. Implementations never throw from `read` for bad stored data (a corrupt entry is a miss).
 */
export interface FlagCache {
  /** Which backend this is, for status and logs. */
  readonly backend: string;
  /**
   * The entries for `distinctId` still young enough to serve as fallbacks: for the given flag keys, or for
   * every flag key known for that user when `keys` is undefined.
   */
  read(distinctId: string, keys?: readonly string[]): Promise<EvaluatedFlag[]>;
  /** Remembers the results of a successful evaluation for `distinctId`, each under its flag key. */
  write(distinctId: string, flags: readonly EvaluatedFlag[]): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** Whether an entry evaluated at `evaluatedAt` may still be served, given a `ttlSeconds` window. */
export function isWithinTtl(evaluatedAt: Date, ttlSeconds: number, now = Date.now()): boolean {
  return now - evaluatedAt.getTime() < ttlSeconds * 1000;
}
