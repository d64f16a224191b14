import { describe, expect, it } from '@jest/globals';
import { lockTtlMs, pollDelay } from './poll-timing.js';

describe('pollDelay', () => {
  it('backs off after refusals as posthog-node does: interval × 2^n, at most 60 s, never below the interval', () => {
    expect([0, 1, 2, 3, 4, 5].map((refusals) => pollDelay(5000, refusals))).toEqual([
      5000, 10_000, 20_000, 40_000, 60_000, 60_000,
    ]);
    expect(pollDelay(90_000, 2)).toBe(90_000);
  });
});

describe('lockTtlMs', () => {
  it('is three poll intervals, at least 5 s, at most 60 s', () => {
    expect([1000, 2000, 10_000, 30_000].map(lockTtlMs)).toEqual([5000, 6000, 30_000, 60_000]);
  });
});
