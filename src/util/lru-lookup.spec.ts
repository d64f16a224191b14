import { describe, expect, it } from '@jest/globals';
import { LRUCache } from 'lru-cache';
import { lruGet, lruHas } from './lru-lookup.js';

describe('lruGet and lruHas', () => {
  it('answer as get and has do, a get counting as a use (the least recently used goes first)', () => {
    const cache = new LRUCache<string, { n: number }>({ max: 2 });
    cache.set('a', { n: 1 });
    cache.set('b', { n: 2 });
    expect(lruGet(cache, 'a')).toEqual({ n: 1 });
    expect(lruHas(cache, 'b')).toBe(true);
    cache.set('c', { n: 3 });
    expect(lruHas(cache, 'a')).toBe(true);
    expect(lruHas(cache, 'b')).toBe(false);
    expect(lruGet(cache, 'b')).toBeUndefined();
  });

  it('starts each lookup from empty options: a stale entry is not served, and is dropped', () => {
    let now = 1000;
    const cache = new LRUCache<string, { n: number }>({ max: 10, ttl: 10, ttlResolution: 0, perf: { now: () => now } });
    cache.set('a', { n: 1 });
    expect(lruGet(cache, 'a')).toEqual({ n: 1 });
    now = 1020;
    expect(lruHas(cache, 'a')).toBe(false);
    expect(lruGet(cache, 'a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
