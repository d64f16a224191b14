import type { FlagResult } from '../flags.types.js';
import { MapView } from '../util/map-view.js';

/**
 * The results of two answers for one context in one request: `first`'s for the keys it was asked (`firstKeys`,
 * known or not), `later`'s for every other key. A view: nothing is copied or built (local evaluation's results
 * are built when read).
 */
export class JoinedResults extends MapView<string, FlagResult> {
  constructor(
    private readonly first: ReadonlyMap<string, FlagResult>,
    private readonly firstKeys: ReadonlySet<string>,
    private readonly later: ReadonlyMap<string, FlagResult>,
  ) {
    super();
  }

  get(key: string): FlagResult | undefined {
    return this.firstKeys.has(key) ? this.first.get(key) : this.later.get(key);
  }

  has(key: string): boolean {
    return this.firstKeys.has(key) ? this.first.has(key) : this.later.has(key);
  }

  get size(): number {
    let size = 0;
    for (const key of this.firstKeys) if (this.first.has(key)) size++;
    for (const key of this.later.keys()) if (!this.firstKeys.has(key)) size++;
    return size;
  }

  /** `first`'s keys in the order they were asked (it may hold more: a route's snapshot), then `later`'s. */
  *keys(): MapIterator<string> {
    for (const key of this.firstKeys) if (this.first.has(key)) yield key;
    for (const key of this.later.keys()) if (!this.firstKeys.has(key)) yield key;
  }
}
