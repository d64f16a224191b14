import { describe, expect, it } from '@jest/globals';
import { MemoryFlagCache } from './memory-flag-cache.js';

const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);

describe('MemoryFlagCache', () => {
  it('serves entries younger than ttl, for the keys asked or all', async () => {
    const cache = new MemoryFlagCache({ backend: 'memory', ttlSeconds: 60, size: 10 });
    await cache.write('u', [
      { key: 'young', enabled: true, evaluatedAt: secondsAgo(59) },
      { key: 'old', enabled: true, evaluatedAt: secondsAgo(61) },
      { key: 'other', enabled: false, evaluatedAt: secondsAgo(1) },
    ]);
    expect((await cache.read('u', ['young', 'old', 'missing'])).map((flag) => flag.key)).toEqual(['young']);
    expect((await cache.read('u')).map((flag) => flag.key)).toEqual(['young', 'other']);
    expect(await cache.read('nobody')).toEqual([]);
  });

  it('merges later writes per flag and evicts the least recently used user', async () => {
    const cache = new MemoryFlagCache({ backend: 'memory', ttlSeconds: 60, size: 2 });
    await cache.write('a', [{ key: 'x', enabled: true, evaluatedAt: new Date() }]);
    await cache.write('a', [{ key: 'y', enabled: false, evaluatedAt: new Date() }]);
    await cache.write('b', [{ key: 'x', enabled: true, evaluatedAt: new Date() }]);
    await cache.read('a');
    await cache.write('c', [{ key: 'x', enabled: true, evaluatedAt: new Date() }]);
    expect((await cache.read('a')).map((flag) => flag.key)).toEqual(['x', 'y']);
    expect(await cache.read('b')).toEqual([]);
  });
});
