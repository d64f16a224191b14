import { describe, expect, it } from '@jest/globals';
import type { CachedFlags } from './cache/flag-cache.js';
import { freshness, refreshPointMs } from './fresh-window.js';

const NOW = Date.UTC(2026, 10, 26);

/** A complete read whose oldest entry is `ageMs` old. */
function cachedAged(...agesMs: number[]): CachedFlags {
  const flags = agesMs.map((ageMs, index) => ({ key: `flag-${index}`, enabled: true, evaluatedAt: new Date(NOW - ageMs) }));
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
    expect(freshness(cachedAged(0, point - 1), 5, 'user-1', NOW)).toBe('fresh');
    expect(freshness(cachedAged(0, point), 5, 'user-1', NOW)).toBe('stale');
    expect(freshness(cachedAged(9_999), 5, 'user-1', NOW)).toBe('stale');
    expect(freshness(cachedAged(0, 10_000), 5, 'user-1', NOW)).toBe('expired');
  });

  it('is expired when the read lacks a flag asked', () => {
    expect(freshness({ ...cachedAged(0), complete: false }, 5, 'user-1', NOW)).toBe('expired');
  });
});
