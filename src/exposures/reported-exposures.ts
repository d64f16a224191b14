import { LRUCache } from 'lru-cache';
import type { FlagContext, FlagValue } from '../flags.types.js';

/** How many distinct ids' sent exposures are remembered (posthog-node's number); the least recent go first. */
export const REMEMBERED_DISTINCT_IDS = 50_000;

/**
 * How many flags (each with its groups) are remembered per distinct id; the least recently read go first (a
 * forgotten flag's next read is sent again). Keys come from outside (a route like `GET /features/:key`): without a
 * bound, one id reading ever new keys would grow without end.
 */
export const REMEMBERED_FLAGS_PER_ID = 1000;

/**
 * The exposures already sent, per distinct id: by flag key (and groups), the responses sent. Bounded twice: the
 * {@link REMEMBERED_DISTINCT_IDS} most recent ids, and for each the {@link REMEMBERED_FLAGS_PER_ID} most recently
 * read flags. The queue remembers no key over 400 characters (see `canNameFlag`), so an entry's size is bounded too.
 */
export class ReportedExposures {
  private readonly byId = new LRUCache<string, Map<string, Set<FlagValue | undefined>>>({
    max: REMEMBERED_DISTINCT_IDS,
  });

  /** Whether this response was already sent for the user (and groups); remembers it when not. */
  wasReported(context: FlagContext, key: string, response: FlagValue | undefined): boolean {
    let byFlag = this.byId.get(context.distinctId);
    if (!byFlag) this.byId.set(context.distinctId, (byFlag = new Map()));
    const flag = context.groups ? `${key}\u0000${JSON.stringify(Object.entries(context.groups).sort())}` : key;
    let responses = byFlag.get(flag);
    if (responses) {
      // Read again: now the most recent (a Map iterates in insertion order, the least recent first).
      byFlag.delete(flag);
    } else {
      responses = new Set();
      if (byFlag.size >= REMEMBERED_FLAGS_PER_ID) byFlag.delete(byFlag.keys().next().value!);
    }
    byFlag.set(flag, responses);
    if (responses.has(response)) return true;
    responses.add(response);
    return false;
  }
}
