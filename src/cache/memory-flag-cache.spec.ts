import { describe, expect, it } from '@jest/globals';
import type { EvaluatedFlag } from '../flags.types.js';
import { MemoryFlagCache } from './memory-flag-cache.js';

const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);
const keysOf = (flags: EvaluatedFlag[]) => flags.map((flag) => flag.key);
const memory = (ttlSeconds: number, size: number) =>
  new MemoryFlagCache({ backend: 'memory', ttlSeconds, freshSeconds: 0, size });

describe('MemoryFlagCache', () => {
  it('serves entries younger than ttl, for the keys asked or every known key', async () => {
    const cache = memory(60, 10);
    await cache.write(
      'u',
      [
        { key: 'young', enabled: true, evaluatedAt: secondsAgo(59) },
        { key: 'old', enabled: true, evaluatedAt: secondsAgo(61) },
        { key: 'other', enabled: false, evaluatedAt: secondsAgo(1) },
      ],
      true,
    );
    const some = await cache.read('u', ['young', 'old', 'missing']);
    expect(keysOf(some.flags)).toEqual(['young']);
    expect(some.complete).toBe(false);
    expect(await cache.read('u', ['young', 'other'])).toMatchObject({ complete: true });
    const all = await cache.read('u');
    expect(keysOf(all.flags)).toEqual(['young', 'other']);
    expect(all.complete).toBe(false);
    expect(await cache.read('nobody')).toEqual({ flags: [], complete: false });
  });

  it('knows the keys of the last whole evaluation, plus any written since', async () => {
    const cache = memory(60, 10);
    const now = new Date();
    await cache.write('a', [{ key: 'x', enabled: true, evaluatedAt: now }, { key: 'gone', enabled: true, evaluatedAt: now }], true);
    await cache.write('a', [{ key: 'x', enabled: true, evaluatedAt: now }], true);
    expect(await cache.read('a')).toMatchObject({ complete: true });
    await cache.write('b', [{ key: 'y', enabled: true, evaluatedAt: now }], false);
    expect(keysOf((await cache.read('b')).flags)).toEqual(['y']);
    expect(await cache.read('a')).toMatchObject({ complete: false });
  });

  it('merges later writes per flag and evicts the least recently used user', async () => {
    const cache = memory(60, 2);
    await cache.write('a', [{ key: 'x', enabled: true, evaluatedAt: new Date() }], false);
    await cache.write('a', [{ key: 'y', enabled: false, evaluatedAt: new Date() }], false);
    await cache.write('b', [{ key: 'x', enabled: true, evaluatedAt: new Date() }], false);
    await cache.read('a');
    await cache.write('c', [{ key: 'x', enabled: true, evaluatedAt: new Date() }], false);
    expect(keysOf((await cache.read('a')).flags)).toEqual(['x', 'y']);
    expect((await cache.read('b')).flags).toEqual([]);
  });
});
