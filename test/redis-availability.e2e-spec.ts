import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { EPISODE_QUIET_MS } from '../src/util/log-episode.js';
import { fakeClocks } from './support/clock.js';
import { Redis } from 'ioredis';
import { CaptureLogger } from './support/capture-logger.js';
import { eventually } from './support/eventually.js';
import { TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { RedisServer } from './support/redis-server.js';

const PASSWORD = 'Redis-Pa55word-do-not-print';

describe('the Redis cache when Redis is unavailable', () => {
  const fake = useFakePostHog({ beta: { enabled: true } });
  const started = useStartedFlags(fake);
  const servers: RedisServer[] = [];

  async function redisServer(options = {}): Promise<RedisServer> {
    const server = await RedisServer.start(options);
    servers.push(server);
    return server;
  }

  function start(cacheUrl: string, logs = new CaptureLogger()): Promise<FlagsHarness> {
    return started.start({ cacheUrl }, logs);
  }

  /** Evaluates user-1 live until the cache has taken the write, then proves it by a fallback. */
  async function cacheServesFallback(harness: FlagsHarness, server: RedisServer): Promise<void> {
    const inspect = new Redis({ port: server.port, password: PASSWORD, lazyConnect: true });
    try {
      await inspect.connect();
      await eventually(async () => {
        await harness.flags.isEnabled('beta', 'user-1');
        return inspect.get('posthog:flags:user-1:beta');
      }, 'a write to the restarted Redis');
    } finally {
      inspect.disconnect();
    }
    fake.answer = 503;
    expect(await harness.flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'fallback', enabled: true });
    fake.answer = 'flags';
  }

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  it('starts without Redis, warns once with the password masked, serves live, and uses Redis once it is up', async () => {
    fakeClocks(Date.now());
    const server = await redisServer({ password: PASSWORD });
    await server.halt();
    const logs = new CaptureLogger();
    const harness = await start(server.url('', `default:${PASSWORD}`), logs);

    expect(await harness.flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'remote' });
    fake.answer = 503;
    expect(await harness.flags.getFlagResult('beta', 'user-1')).toBeUndefined();
    fake.answer = 'flags';
    const warnings = logs.at('warn').filter((line) => line.includes('fallback cache redis'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`redis://default:***@localhost:${server.port}/0`);
    expect(warnings[0]).toContain('unreachable');

    await server.resume();
    await cacheServesFallback(harness, server);
    jest.setSystemTime(Date.now() + EPISODE_QUIET_MS);
    await harness.flags.getFlagResult('beta', 'user-1');
    await eventually(() => logs.at('log').some((line) => line.includes('reachable again')), 'the line saying so');
    expect(logs.text).not.toContain(PASSWORD);
    expect(logs.text).not.toContain(TEST_API_KEY);
  });

  it('survives Redis being killed while serving, without waiting on it, and recovers when it returns', async () => {
    const server = await redisServer({ password: PASSWORD });
    const logs = new CaptureLogger();
    const harness = await start(server.url('timeout=200', `:${PASSWORD}`), logs);
    await cacheServesFallback(harness, server);

    await server.halt(true);
    for (let i = 0; i < 5; i++) expect(await harness.flags.isEnabled('beta', `user-${i}`)).toBe(true);
    fake.answer = 503;
    expect(await harness.flags.getFlagResult('beta', 'user-1')).toBeUndefined();
    fake.answer = 'flags';
    expect(logs.at('warn').filter((line) => line.includes('unreachable'))).toHaveLength(1);

    await server.resume();
    await cacheServesFallback(harness, server);
    expect(logs.text).not.toContain(PASSWORD);
  });

  it('authenticates with the right password', async () => {
    const server = await redisServer({ password: PASSWORD });
    const logs = new CaptureLogger();
    const harness = await start(server.url('', `default:${encodeURIComponent(PASSWORD)}`), logs);
    await cacheServesFallback(harness, server);
    expect(logs.at('warn')).toEqual([expect.stringContaining('PostHog /flags unavailable')]);
  });

  it('with a wrong password: one warning that never prints it, and live flags', async () => {
    const server = await redisServer({ password: PASSWORD });
    const wrong = 'Wrong-Secret-xyz';
    const logs = new CaptureLogger();
    const harness = await start(server.url('', `default:${wrong}`), logs);
    expect(await harness.flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'remote' });
    fake.answer = 503;
    expect(await harness.flags.getFlagResult('beta', 'user-1')).toBeUndefined();
    const warnings = logs.at('warn').filter((line) => line.includes('fallback cache redis'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/WRONGPASS|NOAUTH|invalid/i);
    expect(logs.text).not.toContain(wrong);
    expect(logs.text).not.toContain(PASSWORD);
  });

  it('closes its connection on app.close()', async () => {
    const server = await redisServer();
    const harness = await start(server.url());
    await harness.flags.isEnabled('beta', 'user-1');
    const inspect = new Redis({ port: server.port, lazyConnect: true });
    await inspect.connect();
    try {
      const clients = async () =>
        String(await inspect.call('CLIENT', 'LIST'))
          .trim()
          .split('\n').length;
      expect(await clients()).toBe(2);
      await started.harnesses.splice(0)[0].moduleRef.close();
      await eventually(async () => (await clients()) === 1, 'the module connection to close');
    } finally {
      inspect.disconnect();
    }
  });
});
