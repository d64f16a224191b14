import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { eventually } from './support/eventually.js';
import { STANDARD_FLAGS } from './support/fake-posthog.js';
import type { FlagsHarness } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { invalidateVersion, readAsPython } from './support/python-invalidation.js';
import { pythonVectors } from './support/python-vectors.js';
import { RedisServer } from './support/redis-server.js';

/** How many definitions reloads of a posthog-python process the replay goes through (its counter 0, 1, ... 99). */
const PYTHON_RELOADS = 100;

describe('one Redis fallback cache shared with posthog-python', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);
  let redis: RedisServer;
  let inspect: Redis;
  let prefix: string;
  let testNumber = 0;

  const start = (): Promise<FlagsHarness> => started.start({ cacheUrl: redis.url(`prefix=${prefix}`) });

  /** The `$feature_flag_called` properties PostHog received for `distinctId`, once the harness's queue is flushed. */
  async function exposuresOf(harness: FlagsHarness, distinctId: string): Promise<Record<string, unknown>[]> {
    await harness.moduleRef.get(ExposureQueue).flush();
    return fake.events
      .filter((event) => event.event === '$feature_flag_called' && event.distinct_id === distinctId)
      .map((event) => event.properties);
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspect = new Redis({ port: redis.port, lazyConnect: true });
    await inspect.connect();
  });

  beforeEach(() => {
    prefix = `py${++testNumber}:flags:`;
  });

  afterAll(async () => {
    inspect.disconnect();
    await redis.stop();
  });

  it("keeps this module's entries through every definitions reload of a Python process, PostHog's version in ours", async () => {
    const writer = await start();
    await writer.flags.getAllFlags('nest-1');
    await writer.flags.getAllFlags({ distinctId: 'nest-2', groups: { company: 'acme' } });
    const ours = ['nest-1', 'nest-2'].flatMap((id) =>
      Object.keys(STANDARD_FLAGS).map((key) => `${prefix}${id}:${key}`),
    );
    await Promise.all(ours.map((key) => eventually(() => inspect.get(key), key)));
    // A Python process's own entry, written before its first reload (counter 0): the replay must delete it.
    const python = `${prefix}python-user:beta`;
    await inspect.set(python, pythonVectors().entries[0]!.value, 'EX', 3600);
    await eventually(() => inspect.get(`${prefix}flag-keys`), 'the flag keys');

    for (let counter = 0; counter < PYTHON_RELOADS; counter++) {
      expect(await invalidateVersion(inspect, prefix, counter)).toBe('complete');
    }
    expect(await inspect.get(python)).toBeNull();
    const survivors = await inspect.mget(ours);
    expect(survivors).not.toContain(null);
    for (const raw of survivors) expect(readAsPython(raw!)).toMatchObject({ enabled: expect.any(Boolean) });

    fake.answer = 503;
    const reader = await start();
    expect(await reader.flags.getFlagResult('checkout', 'nest-1')).toMatchObject({ source: 'fallback', version: 1 });
    expect(await exposuresOf(reader, 'nest-1')).toEqual([
      expect.objectContaining({ $feature_flag: 'checkout', $feature_flag_id: 1, $feature_flag_version: 1 }),
    ]);
  });

  /** Every key under this test's prefix. */
  async function keysUnderPrefix(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await inspect.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys.sort();
  }

  it("completes Python's invalidation over every key this module keeps, deleting Python's stale entries only", async () => {
    fake.setRemoteConfig('checkout', JSON.stringify({ color: 'blue' }));
    const writer = await start();
    await writer.flags.getAllFlags('nest-1');
    const local = await started.startLocal(undefined, { cacheUrl: redis.url(`prefix=${prefix}&service=api`) });
    await eventually(() => local.flags.status().definitions.poller, 'the local instance to hold the lock');
    await local.flags.getRemoteConfigPayload('checkout');
    const expected = [
      ...Object.keys(STANDARD_FLAGS).map((key) => `${prefix}nest-1:${key}`),
      `${prefix}flag-keys`,
      `${prefix}api`,
      `${prefix}api:meta`,
      `${prefix}api:lock`,
      `${prefix}remote-config.checkout`,
    ];
    await Promise.all(expected.map((key) => eventually(() => inspect.exists(key), key)));
    const ours = await keysUnderPrefix();
    expect(ours).toEqual(expect.arrayContaining(expected));
    // Two entries a Python process wrote before its first reload (counter 0).
    const python = pythonVectors().entries.slice(0, 2);
    for (const vector of python) {
      const value = { ...JSON.parse(vector.value), timestamp: Date.now() / 1000 };
      expect(value.flag_version).toBe(0);
      await inspect.set(vector.redis_key.replace('posthog:flags:', prefix), JSON.stringify(value), 'EX', 3600);
    }

    expect(await invalidateVersion(inspect, prefix, 0)).toBe('complete');
    expect(await keysUnderPrefix()).toEqual(ours);
    expect(local.flags.status().definitions.poller).toBe(true);
  });

  it("serves Python's entries without taking its reload counter for PostHog's flag version", async () => {
    const { entries } = pythonVectors();
    for (const vector of entries) {
      // What the same Python process writes after three reloads of its definitions.
      const value = { ...JSON.parse(vector.value), flag_version: 3, timestamp: Date.now() / 1000 };
      await inspect.set(vector.redis_key.replace('posthog:flags:', prefix), JSON.stringify(value), 'EX', 3600);
    }
    fake.answer = 503;
    const reader = await start();
    for (const vector of entries) {
      const result = await reader.flags.getFlagResult(vector.flag_key, vector.distinct_id);
      expect(result).toMatchObject({ source: 'fallback', enabled: vector.meaning.enabled });
      expect(result).not.toHaveProperty('version');
    }
    const events = await exposuresOf(reader, 'user-1');
    expect(events).toHaveLength(3);
    for (const properties of events) {
      expect(properties).not.toHaveProperty('$feature_flag_version');
      expect(properties).not.toHaveProperty('$feature_flag_id');
    }
  });
});
