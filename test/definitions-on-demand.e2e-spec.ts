import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { FlagsConfigError, type FlagsModuleOptions } from '../src/index.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, type FlagsHarness } from './support/flags-app.js';
import { RedisServer } from './support/redis-server.js';
import { RunningFlags } from './support/running-flags.js';

/** The standard definitions with one more flag, `fresh`, on for everyone. */
function withFreshFlag(): Record<string, unknown> {
  const definitions = standardDefinitions();
  const fresh = {
    id: 9,
    key: 'fresh',
    active: true,
    filters: { groups: [{ properties: [], rollout_percentage: 100 }] },
  };
  return { ...definitions, flags: [...(definitions.flags as unknown[]), fresh] };
}

describe('flag definitions on demand: reloadFeatureFlags() and pollIntervalMs: 0', () => {
  let fake: FakePostHog;
  const modules = new RunningFlags();

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
  });

  afterEach(async () => {
    await modules.closeAll();
    await fake.stop();
  });

  /** A module with local evaluation and no timer, its startup load done. */
  async function start(options: FlagsModuleOptions = {}): Promise<FlagsHarness> {
    const harness = await startFlags({
      host: fake.url,
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 0 },
      retries: 0,
      ...options,
    });
    modules.add(harness);
    await eventually(() => harness.flags.isLocalEvaluationReady(), 'the startup load');
    return harness;
  }

  it('pollIntervalMs: 0 loads at startup only; a reload polls once and puts new definitions in force', async () => {
    const { flags } = await start();
    expect(fake.definitionsRequests).toHaveLength(1);
    fake.definitions = withFreshFlag();
    // No timer: a second past the shortest interval allowed, PostHog was still asked once.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(fake.definitionsRequests).toHaveLength(1);
    expect(await flags.getFlagResult('fresh', 'u1')).toBeUndefined();

    expect(await flags.reloadFeatureFlags()).toEqual({ outcome: 'loaded', from: 'upstream', joined: false, flags: 5 });
    expect(fake.definitionsRequests).toHaveLength(2);
    expect(await flags.getFlagResult('fresh', 'u1')).toMatchObject({ source: 'local', enabled: true });
  });

  it('a reload of what PostHog still serves is unchanged (304 with the ETag)', async () => {
    const { flags } = await start();
    expect(await flags.reloadFeatureFlags()).toEqual({
      outcome: 'unchanged',
      from: 'upstream',
      joined: false,
      flags: 4,
    });
    expect(fake.definitionsRequests[1]!.headers['if-none-match']).toBe(fake.definitionsEtag);
  });

  it('a second reload while one is under way shares it: one poll, both resolved', async () => {
    const { flags } = await start();
    fake.definitions = withFreshFlag();
    let release!: () => void;
    fake.definitionsGate = new Promise<void>((resolve) => (release = resolve));
    const first = flags.reloadFeatureFlags();
    await eventually(() => fake.definitionsRequests.length === 2, 'the reload to reach PostHog');
    const second = flags.reloadFeatureFlags();
    release();
    expect(await first).toEqual({ outcome: 'loaded', from: 'upstream', joined: false, flags: 5 });
    expect(await second).toEqual({ outcome: 'loaded', from: 'upstream', joined: true, flags: 5 });
    expect(fake.definitionsRequests).toHaveLength(2);
  });

  it('a reload while PostHog fails resolves failed with the reason, the definitions kept', async () => {
    const { flags } = await start();
    fake.definitionsAnswer = 503;
    expect(await flags.reloadFeatureFlags()).toEqual({
      outcome: 'failed',
      from: 'upstream',
      joined: false,
      flags: 4,
      reason: 'http_503',
    });
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local' });
  });

  it('a reload says off without local evaluation, and stopped once the application shuts down', async () => {
    const off = await startFlags({ host: fake.url });
    modules.add(off);
    expect(await off.flags.reloadFeatureFlags()).toEqual({ outcome: 'off', joined: false, flags: 0 });
    const { flags, moduleRef } = await start();
    await modules.close(moduleRef);
    expect(await flags.reloadFeatureFlags()).toEqual({ outcome: 'stopped', joined: false, flags: 4 });
  });

  it.each(['999', 1, -1])('pollIntervalMs %p is a startup error that says 0 turns the timer off', async (interval) => {
    const startup = startFlags({
      host: fake.url,
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: interval },
    });
    await expect(startup).rejects.toThrow(FlagsConfigError);
    await expect(
      startFlags({ host: fake.url, secretKey: TEST_SECRET_KEY, localEvaluation: { pollIntervalMs: interval } }),
    ).rejects.toThrow(/pollIntervalMs.*0 to turn the timer off|pollIntervalMs/);
  });

  describe('on a follower of the shared Redis key', () => {
    let redis: RedisServer;
    let service = 0;

    beforeAll(async () => {
      redis = await RedisServer.start();
    });

    afterAll(async () => {
      await redis.stop();
    });

    it('re-reads the shared store, asking PostHog nothing', async () => {
      service++;
      const cacheUrl = redis.url(`service=reload-${service}`);
      const poller = await start({ cacheUrl });
      await eventually(() => poller.flags.status().definitions.poller, 'the poller to hold the lock');
      const follower = await start({ cacheUrl });
      expect(follower.flags.status().definitions).toMatchObject({ source: 'redis', poller: false });
      const asked = fake.definitionsRequests.length;

      fake.definitions = withFreshFlag();
      expect(await poller.flags.reloadFeatureFlags()).toMatchObject({ outcome: 'loaded', from: 'upstream' });
      expect(await follower.flags.reloadFeatureFlags()).toEqual({
        outcome: 'loaded',
        from: 'store',
        joined: false,
        flags: 5,
      });
      expect(fake.definitionsRequests).toHaveLength(asked + 1);
      expect(await follower.flags.getFlagResult('fresh', 'u1')).toMatchObject({ source: 'local', enabled: true });
      expect(await follower.flags.reloadFeatureFlags()).toMatchObject({ outcome: 'unchanged', from: 'store' });
    });
  });
});
