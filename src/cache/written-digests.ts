import { LRUCache } from 'lru-cache';
import type { EvaluatedFlag } from '../flags.types.js';
import { resultDigest } from './write-rule.js';

/** What this instance last wrote for one distinct id. */
interface UserDigests {
  /** Each written entry's {@link resultDigest}, by flag key. */
  digests: Map<string, number>;
  /** When the oldest of those entries is due again (ms since the epoch, the entries' own clock). */
  refreshAt: number;
}

/** How many distinct ids are remembered at most. */
export const MAX_DIGEST_USERS = 50_000;

/** How many entries' digests are remembered at most, over every distinct id. */
export const MAX_DIGESTS = 500_000;

/**
 * What this instance last wrote to a shared store, per distinct id and flag, as compact digests: a result equal to
 * the one written, younger than the refresh age, is not written again. Bounded (least recently written users
 * forgotten first); forgetting is always safe: what is forgotten is written again.
 */
export class WrittenDigests {
  private readonly users: LRUCache<string, UserDigests>;

  constructor(
    private readonly refreshAfterMs: number,
    limits: { maxUsers: number; maxDigests: number } = { maxUsers: MAX_DIGEST_USERS, maxDigests: MAX_DIGESTS },
  ) {
    this.users = new LRUCache({
      max: limits.maxUsers,
      maxSize: limits.maxDigests,
      sizeCalculation: (user) => Math.max(1, user.digests.size),
    });
  }

  /**
   * The flags to write for `distinctId` (evaluated for `context`): those whose result differs from the one written,
   * and every one when the user's oldest written entry is due (older than the refresh age by the results' time).
   * They count as written from now on: call {@link forget} when writing them fails.
   */
  changed(distinctId: string, flags: readonly EvaluatedFlag[], context: string): EvaluatedFlag[] {
    const user = this.users.get(distinctId) ?? { digests: new Map<string, number>(), refreshAt: Infinity };
    const sizeBefore = user.digests.size;
    if (newestOf(flags) >= user.refreshAt) {
      user.digests.clear();
      user.refreshAt = Infinity;
    }
    const changed: EvaluatedFlag[] = [];
    for (const flag of flags) {
      const digest = resultDigest(flag, context);
      if (user.digests.get(flag.key) === digest) continue;
      user.digests.set(flag.key, digest);
      user.refreshAt = Math.min(user.refreshAt, flag.evaluatedAt.getTime() + this.refreshAfterMs);
      changed.push(flag);
    }
    // A new record: the cache counts a value's size when it is set, and only when it is another value.
    if (changed.length > 0 || user.digests.size !== sizeBefore) this.users.set(distinctId, { ...user });
    return changed;
  }

  /** Whether an entry of the flag is believed written for `distinctId`. */
  believesWritten(distinctId: string, key: string): boolean {
    return this.users.peek(distinctId)?.digests.has(key) ?? false;
  }

  /** Forgets what was written for `distinctId`: its next results are written. */
  forget(distinctId: string): void {
    this.users.delete(distinctId);
  }

  /** Forgets everything (the store may have lost it: a reconnection, a restart, a failover). */
  forgetAll(): void {
    this.users.clear();
  }
}

/** The newest evaluation time of the flags (ms since the epoch); -Infinity for none. */
function newestOf(flags: readonly EvaluatedFlag[]): number {
  let newest = -Infinity;
  for (const flag of flags) newest = Math.max(newest, flag.evaluatedAt.getTime());
  return newest;
}
