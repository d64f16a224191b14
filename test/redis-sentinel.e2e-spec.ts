import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog, STANDARD_FLAGS } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { RedisSentinelGroup } from './support/redis-sentinel.js';

describe('redis-sentinel:// (a primary, a replica, three sentinels)', () => {
  let fake: FakePostHog;
  const running: FlagsHarness[] = [];

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.setFlags(STANDARD_FLAGS);
  });

  afterEach(async () => {
    for (const harness of running.splice(0)) await harness.moduleRef.close();
    await fake.stop();
  });

  async function start(cacheUrl: string): Promise<FlagsHarness> {
    const harness = await startFlags({ host: fake.url, cacheUrl, retries: 0 });
    running.push(harness);
    return harness;
  }

  it('follows a failover: the new primary is used within seconds, nothing queued meanwhile', async () => {
    const group = await RedisSentinelGroup.start();
    try {
      const { flags } = await start(group.url());
      expect(flags.status().cache).toEqual({ backend: 'redis-sentinel', connected: true });
      await flags.getAllFlags('before');
      await eventually(() => group.replicaHas('posthog:flags:before:beta'), 'the entry replicated');
      await group.failover();
      // Writes land on the new primary once the client has followed it.
      await eventually(async () => {
        await flags.getAllFlags('after');
        return group.replicaHas('posthog:flags:after:beta');
      }, 'a write on the promoted replica');
      fake.answer = 503;
      expect(await flags.getFlagResult('beta', 'before')).toMatchObject({ enabled: true, source: 'fallback' });
      expect(await flags.getFlagResult('beta', 'after')).toMatchObject({ enabled: true, source: 'fallback' });
    } finally {
      for (const harness of running.splice(0)) await harness.moduleRef.close();
      await group.stop();
    }
  }, 30_000);

  it('shares the flag definitions and the poller lock through the sentinels’ primary', async () => {
    const group = await RedisSentinelGroup.start();
    try {
      fake.definitions = standardDefinitions();
      const options = { host: fake.url, cacheUrl: group.url('service=api'), secretKey: TEST_SECRET_KEY };
      const poller = await startFlags({ ...options, localEvaluation: { pollIntervalMs: 1000 } });
      running.push(poller);
      await eventually(() => poller.flags.status().definitions.source === 'upstream', 'the poller to load');
      await eventually(() => group.primaryHas('posthog:flags:api'), 'the shared key');
      expect(await group.primaryHas('posthog:flags:api:lock')).toBe(true);
      const follower = await startFlags({ ...options, localEvaluation: { pollIntervalMs: 1000 } });
      running.push(follower);
      expect(follower.flags.status().definitions).toMatchObject({ source: 'redis', poller: false });
      expect((await follower.flags.getFlagResult('beta', 'never-seen'))?.source).toBe('local');
      // A restart without persistence: the poller publishes again at its next poll (a 304).
      await group.primaryCommand('FLUSHALL');
      await eventually(
        async () => (await group.primaryHas('posthog:flags:api')) && group.primaryHas('posthog:flags:api:meta'),
        'the key republished',
      );
    } finally {
      for (const harness of running.splice(0)) await harness.moduleRef.close();
      await group.stop();
    }
  }, 30_000);

  it('sentinels with a password of their own: sentinelPassword, masked everywhere', async () => {
    const group = await RedisSentinelGroup.start({ password: 'data-Secret-1', sentinelPassword: 'sentinel-Secret-2' });
    try {
      const { flags } = await start(group.url('sentinelPassword=sentinel-Secret-2', 'default:data-Secret-1'));
      await flags.getAllFlags('u1');
      fake.answer = 503;
      expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'fallback' });

      const wrong = await start(group.url('sentinelPassword=Wr0ng-Sentinel', 'default:data-Secret-1'));
      fake.answer = 'flags';
      expect((await wrong.flags.getFlagResult('beta', 'u2'))?.source).toBe('remote');
      expect(wrong.flags.status().cache.connected).toBe(false);
      for (const harness of running) {
        for (const secret of ['data-Secret-1', 'sentinel-Secret-2', 'Wr0ng-Sentinel', TEST_API_KEY]) {
          expect(harness.logs.text).not.toContain(secret);
        }
      }
      expect(wrong.logs.at('warn')).toHaveLength(1);
    } finally {
      for (const harness of running.splice(0)) await harness.moduleRef.close();
      await group.stop();
    }
  }, 30_000);

  it('every sentinel unreachable at startup: the app starts, warns once without passwords, serves live answers', async () => {
    const harness = await start(
      'redis-sentinel://:pw-Secret@127.0.0.1:1,127.0.0.1:2/0?name=mymaster&sentinelPassword=s-Secret',
    );
    expect((await harness.flags.getFlagResult('beta', 'u1'))?.source).toBe('remote');
    expect(harness.flags.status().cache).toEqual({ backend: 'redis-sentinel', connected: false });
    const warnings = harness.logs.at('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('redis-sentinel://:***@127.0.0.1:1,127.0.0.1:2/0?name=mymaster&sentinelPassword=***');
    expect(harness.logs.text).not.toMatch(/pw-Secret|s-Secret/);
  });
});
