import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { eventually } from '../../test/support/eventually.js';
import { writesOf } from '../../test/support/redis-commands.js';
import { RedisServer } from '../../test/support/redis-server.js';
import { redisSuite } from '../../test/support/redis-suite.js';
import type { EvaluatedFlag } from '../flags.types.js';
import type { RedisCacheConfig } from './cache-config.js';
import { parseCacheUrl } from './cache-url.js';
import { RedisFlagCache } from './redis-flag-cache.js';

const TTL_SECONDS = 600;

function flag(key: string, enabled: boolean, evaluatedAt = new Date()): EvaluatedFlag {
  return { key, enabled, evaluatedAt };
}

/** A cache on `server`, with the cache URL's `query`. */
function open(server: RedisServer, query: string): Promise<RedisFlagCache> {
  return RedisFlagCache.open(parseCacheUrl(server.url(query)) as RedisCacheConfig);
}

describe('RedisFlagCache', () => {
  const redis = redisSuite();
  let cache: RedisFlagCache;
  let prefix: string;
  let test = 0;

  beforeEach(async () => {
    Logger.overrideLogger(false);
    prefix = `t${++test}:`;
    cache = await open(redis.server, `prefix=${prefix}&ttl=${TTL_SECONDS}`);
  });

  afterEach(async () => {
    await cache.close();
    Logger.overrideLogger(new Logger());
  });

  it('reads back what it wrote, with the context it was evaluated for; complete only with every key', async () => {
    expect(cache.connected).toBe(true);
    await cache.write('u1', [flag('beta', true), flag('off', false)], false, 'ctx');
    const read = await cache.read('u1', ['beta', 'off']);
    expect(read.complete).toBe(true);
    expect(read.flags).toEqual([
      expect.objectContaining({ key: 'beta', enabled: true, context: 'ctx' }),
      expect.objectContaining({ key: 'off', enabled: false, context: 'ctx' }),
    ]);
    const partly = await cache.read('u1', ['beta', 'never']);
    expect(partly).toEqual({ flags: [expect.objectContaining({ key: 'beta' })], complete: false });
    expect(await cache.read('someone else', ['beta'])).toEqual({ flags: [], complete: false });
  });

  it('reads some keys as complete without a key no whole evaluation it wrote named (one entry at least)', async () => {
    await cache.write('u1', [flag('beta', true), flag('checkout', false)], true, '');
    expect(await cache.read('u1', ['beta', 'no-such-flag'])).toMatchObject({ complete: true });
    expect(await cache.read('u1', ['no-such-flag'])).toEqual({ flags: [], complete: false });
    expect(await cache.read('u2', ['beta', 'no-such-flag'])).toEqual({ flags: [], complete: false });
  });

  it("stores an entry under {prefix}{distinctId}:{flagKey}, expiring after the cache's ttl", async () => {
    await cache.write('user:1', [flag('beta', true)], false, '');
    const ttl = await redis.client.ttl(`${prefix}user:1:beta`);
    expect(ttl).toBeGreaterThan(TTL_SECONDS - 5);
    expect(ttl).toBeLessThanOrEqual(TTL_SECONDS);
  });

  it('answers every flag from the flag keys written: a write adds its keys, a whole one replaces them', async () => {
    expect(await cache.read('u1')).toEqual({ flags: [], complete: false });
    await cache.write('u1', [flag('beta', true)], false, '');
    expect((await cache.read('u1')).flags.map((entry) => entry.key)).toEqual(['beta']);
    await cache.write('u1', [flag('checkout', false), flag('other', true)], true, '');
    const every = await cache.read('u1');
    expect(every.complete).toBe(true);
    expect(every.flags.map((entry) => entry.key).sort()).toEqual(['checkout', 'other']);
  });

  it('serves no entry evaluated longer than the ttl ago', async () => {
    const old = new Date(Date.now() - (TTL_SECONDS + 1) * 1000);
    await cache.write('u1', [flag('beta', true, old), flag('fresh', true)], false, '');
    expect(await cache.read('u1', ['beta', 'fresh'])).toEqual({
      flags: [expect.objectContaining({ key: 'fresh' })],
      complete: false,
    });
  });

  it('never reads or writes a distinct id with a lone surrogate (it would share a key with another id)', async () => {
    await cache.write('victim\uFFFD', [flag('beta', true)], false, '');
    const writes = await writesOf(redis.client, () => cache.write('victim\uD800', [flag('beta', false)], false, ''));
    expect(writes).toEqual({});
    expect(await cache.read('victim\uD800', ['beta'])).toEqual({ flags: [], complete: false });
    expect((await cache.read('victim\uFFFD', ['beta'])).flags).toEqual([expect.objectContaining({ enabled: true })]);
  });

  it('keeps remote config payloads under a key of their own', async () => {
    expect(await cache.readRemoteConfig('config/a')).toBeUndefined();
    await cache.writeRemoteConfig('config/a', '{"a":1}');
    expect(await cache.readRemoteConfig('config/a')).toBe('{"a":1}');
    expect(await redis.client.get(`${prefix}remote-config.config%2Fa`)).toBe('{"a":1}');
  });
});

describe('RedisFlagCache when Redis goes away', () => {
  let server: RedisServer;
  let cache: RedisFlagCache | undefined;

  beforeEach(async () => {
    Logger.overrideLogger(false);
    server = await RedisServer.start();
  });

  afterEach(async () => {
    await cache?.close();
    await server.stop();
    Logger.overrideLogger(new Logger());
  });

  it('reads nothing, without failing, while Redis is down, and reads again once it is back', async () => {
    cache = await open(server, 'prefix=p:&timeout=250');
    await cache.write('u1', [flag('beta', true)], false, '');
    await server.halt();
    await eventually(() => !cache!.connected, 'the cache to see Redis gone');
    expect(await cache.read('u1', ['beta'])).toEqual({ flags: [], complete: false });
    await server.resume();
    await eventually(() => cache!.connected, 'the cache to reconnect');
    await cache.write('u1', [flag('beta', false)], false, '');
    expect((await cache.read('u1', ['beta'])).flags).toEqual([expect.objectContaining({ enabled: false })]);
  });
});
