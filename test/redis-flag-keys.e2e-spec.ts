import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { parseCacheUrl } from '../src/cache/cache-url.js';
import { createFlagCache } from '../src/cache/create-flag-cache.js';
import type { FlagCache } from '../src/cache/flag-cache.js';
import { MAX_FLAG_KEYS, MAX_FLAG_KEYS_BYTES } from '../src/cache/flag-keys-value.js';
import type { EvaluatedFlag } from '../src/flags.types.js';
import { redisSuite } from './support/redis-suite.js';

/** beta's result, evaluated now. */
const beta = (): EvaluatedFlag => ({ key: 'beta', enabled: true, evaluatedAt: new Date() });

describe('the Redis flag-keys value', () => {
  const redis = redisSuite();
  let cache: FlagCache;
  let test = 0;
  let key: string;

  afterEach(() => cache.close());

  async function open(): Promise<FlagCache> {
    const prefix = `k${++test}:`;
    key = `${prefix}flag-keys`;
    cache = await createFlagCache(parseCacheUrl(redis.server.url(`prefix=${prefix}`)));
    return cache;
  }

  const stored = async (): Promise<unknown> => JSON.parse((await redis.client.get(key))!);

  it("replaces an older version's set of flag keys: read as none, then a JSON object", async () => {
    await open();
    await redis.client.sadd(key, 'beta', 'gamma');
    expect(await cache.read('u')).toEqual({ flags: [], complete: false });
    await cache.write('u', [beta()], false, '');
    expect(await redis.client.type(key)).toBe('string');
    expect(await stored()).toEqual({ flag_keys: ['beta'] });
    expect(await cache.read('u')).toMatchObject({ flags: [{ key: 'beta', enabled: true }], complete: true });
  });

  it.each([
    ['not JSON', 'beta,gamma'],
    ['an array', '["beta"]'],
    ['a string for the keys', '{"flag_keys":"beta"}'],
    ['an object for the keys', '{"flag_keys":{"1":"beta"}}'],
    ['an inherited name', '{"__proto__":{"flag_keys":["beta"]}}'],
    ['too deep', `{"flag_keys":${'['.repeat(5000)}${']'.repeat(5000)}}`],
  ])('reads a value that is %s as no keys, and replaces it on the next write', async (_, hostile) => {
    await open();
    await redis.client.set(key, hostile);
    expect(await cache.read('u')).toEqual({ flags: [], complete: false });
    await cache.write('u', [beta()], false, '');
    expect(await stored()).toEqual({ flag_keys: ['beta'] });
  });

  it('keeps the string members of a value and adds to them', async () => {
    await open();
    await redis.client.set(key, '{"flag_keys":[1,null,"gamma",["x"],"gamma"]}');
    await cache.write('u', [beta()], false, '');
    expect(await stored()).toEqual({ flag_keys: ['beta', 'gamma'] });
  });

  it('reads a value over its byte bound as no keys; a write keeps within both bounds, new keys first', async () => {
    await open();
    await redis.client.set(key, JSON.stringify({ flag_keys: ['beta', 'x'.repeat(MAX_FLAG_KEYS_BYTES)] }));
    expect(await cache.read('u')).toEqual({ flags: [], complete: false });
    const many = Array.from({ length: MAX_FLAG_KEYS }, (_, index) => `flag-${index}`);
    await redis.client.set(key, JSON.stringify({ flag_keys: many }));
    await cache.write('u', [beta()], false, '');
    const { flag_keys: keys } = (await stored()) as { flag_keys: string[] };
    expect(keys).toHaveLength(MAX_FLAG_KEYS);
    expect(keys[0]).toBe('beta');
    expect(Buffer.byteLength((await redis.client.get(key))!)).toBeLessThanOrEqual(MAX_FLAG_KEYS_BYTES);
  });
});
