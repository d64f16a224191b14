import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { CaptureLogger } from './support/capture-logger.js';
import { eventually } from './support/eventually.js';
import { STANDARD_FLAGS as FLAGS } from './support/fake-posthog.js';
import type { FlagsHarness } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { meaningAsFlag, pythonVectors } from './support/python-vectors.js';
import { RedisServer } from './support/redis-server.js';

describe('the Redis fallback cache', () => {
  const fake = useFakePostHog();
  let redis: RedisServer;
  let inspect: Redis;
  let prefix: string;
  let testNumber = 0;
  const started = useStartedFlags(fake);

  /** A module on this test's prefix of the test Redis; closed after the test. */
  function start(query = '', logs = new CaptureLogger()): Promise<FlagsHarness> {
    return started.start({ cacheUrl: redis.url(`prefix=${prefix}${query ? `&${query}` : ''}`) }, logs);
  }

  /** Waits until the entry of `distinctId`/`flagKey` is in Redis (writes happen behind the answer). */
  const stored = (distinctId: string, flagKey: string) =>
    eventually(() => inspect.get(`${prefix}${distinctId}:${flagKey}`), `${distinctId}:${flagKey} in Redis`);

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspect = new Redis({ port: redis.port, lazyConnect: true });
    await inspect.connect();
  });

  beforeEach(() => {
    prefix = `t${++testNumber}:flags:`;
  });

  afterAll(async () => {
    inspect.disconnect();
    await redis.stop();
  });

  it('lets a fresh instance serve what another instance saw, once PostHog is down', async () => {
    const first = await start();
    const live = await first.flags.getAllFlags('user-1');
    await Promise.all(Object.keys(FLAGS).map((key) => stored('user-1', key)));

    fake.answer = 503;
    const second = await start();
    const result = await second.flags.getFlagResult('beta', 'user-1');
    expect(result).toMatchObject({ enabled: true, payload: { color: 'blue' }, source: 'fallback' });
    expect(await second.flags.getAllFlags('user-1')).toEqual(live);
    expect(await second.flags.getAllFlags('stranger')).toEqual({});
  });

  it('writes the Python SDK format, field by field, with the ttl as expiry', async () => {
    const { flags } = await start('ttl=120');
    const before = Date.now() / 1000;
    await flags.getAllFlags('user:1 Zoë');
    const raw = await stored('user:1 Zoë', 'checkout');
    const entry = JSON.parse(raw);
    // Python's reader accepts extra top-level keys: ours are the fingerprint of the context evaluated for, and
    // the flag's id and version in PostHog (for exposure events answered from the cache).
    expect(Object.keys(entry).sort()).toEqual([
      'context_hash',
      'flag_id',
      'flag_result',
      'flag_result_schema_version',
      'flag_result_type',
      'flag_version',
      'posthog_flag_version',
      'timestamp',
    ]);
    expect(entry.flag_result).toEqual({
      key: 'checkout',
      enabled: true,
      variant: 'test',
      payload: null,
      reason: 'Condition set 1 matched',
    });
    expect(entry.flag_result_type).toBe('FeatureFlagResult');
    expect(entry.flag_result_schema_version).toBe(1);
    expect(entry.flag_version).toBe(-1);
    expect(entry.flag_id).toBe(1);
    expect(entry.posthog_flag_version).toBe(1);
    expect(entry.context_hash).toBe('');
    expect(entry.timestamp).toBeGreaterThanOrEqual(Math.floor(before));
    expect(entry.timestamp).toBeLessThan(before + 60);
    const beta = JSON.parse(await stored('user:1 Zoë', 'beta'));
    expect(beta.flag_result.payload).toEqual({ color: 'blue' });
    expect(beta.flag_result.variant).toBeNull();

    const ttl = await inspect.ttl(`${prefix}user:1 Zoë:checkout`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('serves entries written by posthog-python as fallbacks', async () => {
    const { entries } = pythonVectors();
    for (const vector of entries) {
      const value = JSON.parse(vector.value);
      value.timestamp = Date.now() / 1000;
      const key = vector.redis_key.replace('posthog:flags:', prefix);
      await inspect.set(key, JSON.stringify(value), 'EX', vector.redis_ttl_seconds);
    }
    fake.answer = 503;
    const { flags } = await start();
    for (const vector of entries) {
      const result = await flags.getFlagResult(vector.flag_key, vector.distinct_id);
      expect(result).toEqual({ ...meaningAsFlag(vector), source: 'fallback', evaluatedAt: expect.any(Date) });
    }
  });

  it('does not serve an entry older than ttl, even if Redis still holds it', async () => {
    const { value, flag_key } = pythonVectors().entries[0];
    await inspect.set(`${prefix}user-1:${flag_key}`, value, 'EX', 600);
    fake.answer = 503;
    const { flags } = await start();
    expect(await flags.getFlagResult(flag_key, 'user-1')).toBeUndefined();
  });

  it('treats corrupt and foreign values under the prefix as misses', async () => {
    const { flags, logs } = await start();
    const valid = JSON.parse(pythonVectors().entries[0].value);
    valid.timestamp = Date.now() / 1000;
    await inspect.set(`${prefix}u:beta`, 'not json {');
    await inspect.set(`${prefix}u:checkout`, JSON.stringify({ ...valid, flag_result_schema_version: 2 }));
    await inspect.set(`${prefix}u:dark-mode`, JSON.stringify({ ...valid, padding: 'x'.repeat(300_000) }));
    await inspect.hset(`${prefix}u:other`, 'field', 'value');
    await inspect.set(`${prefix}u:pickled`, Buffer.from([0x80, 0x04, 0x95, 0x00]));
    fake.answer = 503;
    for (const key of ['beta', 'checkout', 'dark-mode', 'other', 'pickled']) {
      expect(await flags.getFlagResult(key, 'u')).toBeUndefined();
    }
    expect(await flags.getFlagResults('u', ['beta', 'other'])).toEqual(new Map());
    expect(logs.at('error')).toEqual([]);
  });

  it('reads only what the prefix names: another project on the same Redis is not served', async () => {
    const other = await started.start({ cacheUrl: redis.url(`prefix=other-${prefix}`) });
    await other.flags.getAllFlags('user-1');
    await eventually(() => inspect.get(`other-${prefix}user-1:beta`), 'the other project entry');
    fake.answer = 503;
    const { flags } = await start();
    expect(await flags.getFlagResult('beta', 'user-1')).toBeUndefined();
  });

  it('does not wait for a paused Redis longer than timeout', async () => {
    const { flags } = await start('timeout=100');
    await flags.getAllFlags('user-1');
    await stored('user-1', 'beta');
    fake.answer = 503;
    // Redis 7.0 pauses CLIENT UNPAUSE too under ALL: the pause is short, and its end is awaited with a PING.
    expect(await redis.command('CLIENT', 'PAUSE', '1500', 'ALL')).toBe('+OK');
    // The entry is in Redis: had the read waited for the pause to end, it would be served.
    expect(await flags.getFlagResult('beta', 'user-1')).toBeUndefined();
    expect(await redis.command('PING')).toBe('+PONG');
    expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'fallback' });
  });
});
