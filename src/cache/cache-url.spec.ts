import { describe, expect, it } from '@jest/globals';
import { maskCacheUrl, parseCacheUrl } from './cache-url.js';

describe('parseCacheUrl', () => {
  it('reads memory:// with defaults and with parameters', () => {
    expect(parseCacheUrl('memory://')).toEqual({ backend: 'memory', ttlSeconds: 3600, size: 10_000 });
    expect(parseCacheUrl('memory://local?ttl=60&size=5')).toEqual({ backend: 'memory', ttlSeconds: 60, size: 5 });
  });

  it('rejects values that are not whole positive numbers', () => {
    for (const bad of ['', '0', '-3', '1e3', '2.5', ' 7', '99999999999999999999']) {
      expect(() => parseCacheUrl(`memory://local?ttl=${encodeURIComponent(bad)}`)).toThrow(/"ttl" must be a positive/);
    }
  });
});

describe('maskCacheUrl', () => {
  it.each([
    ['redis://user:s3cret@host:6379/0?ttl=5', 'redis://user:***@host:6379/0?ttl=5'],
    ['redis://:s3cret@host', 'redis://:***@host'],
    ['rediss://u:p@ss/w@rd@host/0', 'rediss://u:***@host/0'],
    ['redis://user@host:6379', 'redis://user@host:6379'],
    ['redis://host:6379/0?prefix=a@b', 'redis://host:6379/0?prefix=a@b'],
    ['memory://local', 'memory://local'],
    ['no scheme here', 'no scheme here'],
  ])('masks %s', (raw, masked) => {
    expect(maskCacheUrl(raw)).toBe(masked);
  });
});
