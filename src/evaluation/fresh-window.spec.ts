import { describe, expect, it } from '@jest/globals';
import type { CachedFlags } from '../cache/flag-cache.js';
import { cacheWindow, freshnessIn, refreshPointMs, type Freshness } from './fresh-window.js';

const NOW = Date.UTC(2026, 10, 26);

/** What the read allows at `now`, its window computed for the user and context. */
function freshness(cached: CachedFlags, freshSeconds: number, user: string, context: string, now: number): Freshness {
  return freshnessIn(cacheWindow(cached, freshSeconds, user, context), now);
}

/** A complete read of entries `agesMs` old, evaluated for a bare context. */
function cachedAged(...agesMs: number[]): CachedFlags {
  const flags = agesMs.map((ageMs, index) => ({
    key: `flag-${index}`,
    enabled: true,
    evaluatedAt: new Date(NOW - ageMs),
    context: '',
  }));
  return { flags, complete: true };
}

describe('the cache-first window', () => {
  it("puts each user's refresh point between fresh and 1.5 × fresh, spread over users and fixed per user", () => {
    const points = Array.from({ length: 1000 }, (_, index) => refreshPointMs(5, `user-${index}`));
    expect(Math.min(...points)).toBeGreaterThanOrEqual(5000);
    expect(Math.max(...points)).toBeLessThan(7500);
    expect(Math.min(...points)).toBeLessThan(5250);
    expect(Math.max(...points)).toBeGreaterThan(7250);
    expect(refreshPointMs(5, 'user-7')).toBe(points[7]);
  });

  it('is fresh before the refresh point, stale from it until twice fresh, then expired; by the oldest entry', () => {
    const point = refreshPointMs(5, 'user-1');
    expect(freshness(cachedAged(0, point - 1), 5, 'user-1', '', NOW)).toBe('fresh');
    expect(freshness(cachedAged(0, point), 5, 'user-1', '', NOW)).toBe('stale');
    expect(freshness(cachedAged(9_999), 5, 'user-1', '', NOW)).toBe('stale');
    expect(freshness(cachedAged(0, 10_000), 5, 'user-1', '', NOW)).toBe('expired');
  });

  it('is expired when an entry was evaluated for another context, or by a writer that did not say', () => {
    const read = cachedAged(0, 1000);
    expect(freshness(read, 5, 'user-1', 'group-a', NOW)).toBe('expired');
    read.flags[1].context = 'group-a';
    expect(freshness(read, 5, 'user-1', '', NOW)).toBe('expired');
    read.flags[1].context = undefined;
    expect(freshness(read, 5, 'user-1', '', NOW)).toBe('expired');
  });

  it('is expired when an entry is from the future (a skewed clock), however far', () => {
    expect(freshness(cachedAged(0, -1), 5, 'user-1', '', NOW)).toBe('expired');
    expect(freshness(cachedAged(-86_400_000), 5, 'user-1', '', NOW)).toBe('expired');
  });

  it('is expired when the read lacks a flag asked', () => {
    expect(freshness({ ...cachedAged(0), complete: false }, 5, 'user-1', '', NOW)).toBe('expired');
  });
});
