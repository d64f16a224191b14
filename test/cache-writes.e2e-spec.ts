import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { parseCacheUrl } from '../src/cache/cache-url.js';
import { createFlagCache } from '../src/cache/create-flag-cache.js';
import type { FlagCache } from '../src/cache/flag-cache.js';
import type { EvaluatedFlag } from '../src/flags.types.js';
import { eventually } from './support/eventually.js';
import { writesOf } from './support/redis-commands.js';
import { redisSuite } from './support/redis-suite.js';

/** The ttl of these caches: an entry is due again after half of it, 50 s. */
const TTL_SECONDS = 100;
/** The results' clock starts now: reads serve entries younger than the ttl by the wall clock. */
const START = Date.now();

/** beta's result, evaluated `secondsLater` after {@link START}. */
function beta(secondsLater: number, enabled = true): EvaluatedFlag {
  return { key: 'beta', enabled, payload: { color: 'blue' }, evaluatedAt: new Date(START + secondsLater * 1000) };
}

describe('the Redis fallback cache writes only what changed', () => {
  const redis = redisSuite();
  let cache: FlagCache;
  let test = 0;
  let prefix: string;

  afterEach(() => cache.close());

  async function open(): Promise<FlagCache> {
    prefix = `t${++test}:`;
    cache = await createFlagCache(parseCacheUrl(redis.server.url(`prefix=${prefix}&ttl=${TTL_SECONDS}`)));
    return cache;
  }

  it('writes an unchanged result nothing, a changed one its entry', async () => {
    await open();
    // The entry's SET and, in the flag-keys script, the value's.
    expect(await writesOf(redis.client, () => cache.write('u', [beta(0)], true, ''))).toEqual({ eval: 1, set: 2 });
    expect(await writesOf(redis.client, () => cache.write('u', [beta(1)], true, ''))).toEqual({});
    expect(await writesOf(redis.client, () => cache.write('u', [beta(2, false)], true, ''))).toEqual({ set: 1 });
    expect(JSON.parse((await redis.client.get(`${prefix}u:beta`))!)).toMatchObject({ flag_result: { enabled: false } });
    // Another context's result is another entry (its context_hash differs): written.
    expect(await writesOf(redis.client, () => cache.write('u', [beta(3, false)], true, 'ctx'))).toEqual({ set: 1 });
  });

  it('writes an unchanged result again once its entry is half-way to expiry', async () => {
    await open();
    await cache.write('u', [beta(0)], false, '');
    expect(await writesOf(redis.client, () => cache.write('u', [beta(49)], false, ''))).toEqual({});
    expect(await writesOf(redis.client, () => cache.write('u', [beta(50)], false, ''))).toEqual({ set: 1 });
    expect(JSON.parse((await redis.client.get(`${prefix}u:beta`))!).timestamp).toBe((START + 50_000) / 1000);
    expect(await writesOf(redis.client, () => cache.write('u', [beta(99)], false, ''))).toEqual({});
  });

  it('writes the flag-keys value only when the keys change', async () => {
    await open();
    const gamma = { ...beta(0), key: 'gamma' };
    const flagKeys = async () => JSON.parse((await redis.client.get(`${prefix}flag-keys`))!).flag_keys.sort();
    await cache.write('u', [beta(0)], false, '', ['beta', 'gamma']);
    expect(await flagKeys()).toEqual(['beta', 'gamma']);
    expect(await writesOf(redis.client, () => cache.write('v', [], true, '', ['beta', 'gamma']))).toEqual({
      eval: 1,
      set: 1,
    });
    expect(await writesOf(redis.client, () => cache.write('w', [], true, '', ['beta', 'gamma']))).toEqual({});
    expect(await writesOf(redis.client, () => cache.write('w', [gamma], false, ''))).toEqual({ set: 1 });
    expect(await writesOf(redis.client, () => cache.write('w', [], false, '', ['delta']))).toEqual({ eval: 1, set: 1 });
    expect(await flagKeys()).toEqual(['beta', 'delta', 'gamma']);
    expect(await redis.client.ttl(`${prefix}flag-keys`)).toBeGreaterThan(TTL_SECONDS - 5);
  });

  it('writes the flag-keys value again once a read of every flag finds it gone', async () => {
    await open();
    await cache.write('u', [beta(0)], true, '');
    await redis.client.del(`${prefix}flag-keys`); // an eviction
    expect(await cache.read('u')).toEqual({ flags: [], complete: false });
    expect(await writesOf(redis.client, () => cache.write('u', [beta(1)], true, ''))).toEqual({ eval: 1, set: 1 });
    expect((await cache.read('u')).complete).toBe(true);
  });

  it("forgets a user's writes when a read misses an entry it believes written", async () => {
    await open();
    await cache.write('u', [beta(0)], false, '');
    await cache.write('v', [beta(0)], false, '');
    await redis.client.del(`${prefix}u:beta`); // an eviction
    expect((await cache.read('u', ['beta'])).flags).toEqual([]);
    expect(await writesOf(redis.client, () => cache.write('u', [beta(1)], false, ''))).toEqual({ set: 1 });
    expect((await cache.read('u', ['beta'])).flags).toHaveLength(1);
    expect(await writesOf(redis.client, () => cache.write('v', [beta(1)], false, ''))).toEqual({});
  });

  it('forgets every write when the connection is established again (Redis may have lost them)', async () => {
    await open();
    await cache.write('u', [beta(0)], true, '');
    await redis.server.halt(true); // a crash: no persistence, everything lost
    await eventually(() => !cache.connected, 'the cache to notice');
    await redis.server.resume();
    await eventually(() => cache.connected, 'the cache to reconnect');
    expect(await writesOf(redis.client, () => cache.write('u', [beta(1)], true, ''))).toEqual({ eval: 1, set: 2 });
    expect((await cache.read('u')).complete).toBe(true);
  });
});

describe('the memory fallback cache writes only what changed', () => {
  it('keeps the stored entries (and the remembered read) for an unchanged result, replaces a changed one', async () => {
    const cache = await createFlagCache(parseCacheUrl(`memory://?ttl=${TTL_SECONDS}`));
    await cache.write('u', [beta(0)], true, '');
    const read = cache.read('u');
    await cache.write('u', [beta(1)], true, '');
    expect(cache.read('u')).toBe(read);
    await cache.write('u', [beta(50)], true, '');
    expect(cache.read('u')).not.toBe(read);
    expect((cache.read('u') as { flags: EvaluatedFlag[] }).flags[0]!.evaluatedAt).toEqual(beta(50).evaluatedAt);
    await cache.write('u', [beta(51, false)], true, '');
    expect((cache.read('u') as { flags: EvaluatedFlag[] }).flags[0]!.enabled).toBe(false);
  });
});
