import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { eventually } from './support/eventually.js';
import { STANDARD_FLAGS } from './support/fake-posthog.js';
import type { FlagsModuleOptions } from '../src/index.js';
import type { FlagsHarness } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { writesOf } from './support/redis-commands.js';
import { startGuardedApp } from './support/guarded-app.js';
import { RedisServer } from './support/redis-server.js';

describe("a user's fallback holds the flags the user's requests read", () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);
  let redis: RedisServer;
  let inspect: Redis;
  let prefix: string;
  let test = 0;

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspect = new Redis({ port: redis.port, lazyConnect: true });
    await inspect.connect();
  });

  beforeEach(() => {
    prefix = `t${++test}:`;
  });

  afterAll(async () => {
    inspect.disconnect();
    await redis.stop();
  });

  function start(query = '', options: FlagsModuleOptions = {}): Promise<FlagsHarness> {
    return started.start({ cacheUrl: redis.url(`prefix=${prefix}${query}`), fallbackAfterMs: 0, ...options });
  }

  const entry = (distinctId: string, key: string) => inspect.get(`${prefix}${distinctId}:${key}`);
  const stored = (distinctId: string, key: string) => eventually(() => entry(distinctId, key), `${key} in Redis`);

  it('serves during an outage the flags a user read before it: beta and checkout, not dark-mode', async () => {
    const { flags } = await start();
    const snapshot = await flags.evaluateFlags('u');
    expect(snapshot.isEnabled('beta')).toBe(true);
    expect(snapshot.getFlag('checkout')).toBe('test');
    await Promise.all([stored('u', 'beta'), stored('u', 'checkout')]);
    expect(await entry('u', 'dark-mode')).toBeNull();
    const flagKeys = JSON.parse((await inspect.get(`${prefix}flag-keys`))!);
    expect(flagKeys).toEqual({ flag_keys: expect.arrayContaining(Object.keys(STANDARD_FLAGS)) });

    fake.answer = 503;
    expect(await flags.getFlagResult('beta', 'u')).toMatchObject({ enabled: true, source: 'fallback' });
    expect(await flags.getFlag('checkout', 'u')).toBe('test');
    expect(await flags.getFlagResult('dark-mode', 'u')).toBeUndefined();
  });

  it("keeps the flags a guarded route read for the request's user: its route works through an outage", async () => {
    const app = await startGuardedApp('express', {
      host: fake.url,
      cacheUrl: redis.url(`prefix=${prefix}`),
      fallbackAfterMs: 0,
    });
    try {
      const get = (path: string) => request(app.getHttpServer()).get(path).set('x-test-user', 'u');
      await get('/features/beta-and-checkout').expect(200);
      await Promise.all([stored('u', 'beta'), stored('u', 'checkout')]);
      expect(await entry('u', 'dark-mode')).toBeNull();
      fake.answer = 503;
      await get('/features/beta-and-checkout').expect(200);
      await get('/features/checkout-test').expect(200);
    } finally {
      await app.close();
    }
  });

  it('answers a request of every flag after fallbackAfterMs when the cache holds every flag the user read', async () => {
    const { flags } = await start('', { fallbackAfterMs: 50, timeoutMs: 60_000 });
    (await flags.evaluateFlags('u')).isEnabled('beta');
    await stored('u', 'beta');
    fake.answer = 'hang'; // PostHog's call never ends before the test's own timeout: the answer is the fallback's
    const snapshot = await flags.evaluateFlags('u');
    expect(snapshot.getFlagResult('beta')).toMatchObject({ enabled: true, source: 'fallback' });
    expect(snapshot.getFlagResult('checkout')).toBeUndefined();
    expect(snapshot.unresolvedFlags).toEqual({});
  });

  it('keeps every flag a user read with getAllFlags(): complete during an outage', async () => {
    const { flags } = await start();
    const live = await flags.getAllFlags('u');
    await Promise.all(Object.keys(STANDARD_FLAGS).map((key) => stored('u', key)));
    fake.answer = 503;
    expect(await flags.getAllFlags('u')).toEqual(live);
  });

  it('keeps every flag of every answer with keep=all, read or not', async () => {
    const { flags } = await start('&keep=all');
    expect(await flags.isEnabled('beta', 'u')).toBe(true);
    (await flags.evaluateFlags('v')).isEnabled('beta');
    await Promise.all(['beta', 'checkout', 'dark-mode'].map((key) => stored('v', key)));
  });

  it('writes nothing for an unchanged answer, and a changed flag the user reads', async () => {
    const { flags } = await start();
    const read = async () => (await flags.evaluateFlags('u')).isEnabled('beta');
    await read();
    await stored('u', 'beta');
    // One connection carries every write in order: once beta's change is stored, every earlier write was made.
    const writes = await writesOf(inspect, async () => {
      await Promise.all([read(), read(), read()]);
      fake.setFlags({ ...STANDARD_FLAGS, 'dark-mode': { enabled: true } }); // a flag the user never read
      await read();
      fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: false } });
      await read();
      await eventually(async () => JSON.parse((await entry('u', 'beta'))!).flag_result.enabled === false, 'beta off');
    });
    expect(writes).toEqual({ set: 1 });
  });
});
