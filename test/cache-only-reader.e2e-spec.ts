import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { FlagsConfigError, type FlagsModuleOptions } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { fakeClocks, restoreClocks } from './support/clock.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, type FlagsHarness } from './support/flags-app.js';
import { RedisServer } from './support/redis-server.js';
import { RunningFlags } from './support/running-flags.js';

describe('cache-only readers: local evaluation without the secret key', () => {
  let redis: RedisServer;
  /** The PostHog the publisher (holding the secret key) polls. */
  let publisherPostHog: FakePostHog;
  /** The PostHog the readers talk to: its definitions requests must stay none. */
  let readerPostHog: FakePostHog;
  const modules = new RunningFlags();
  let service = 0;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    service++;
    publisherPostHog = await FakePostHog.start();
    publisherPostHog.definitions = standardDefinitions();
    readerPostHog = await FakePostHog.start();
    readerPostHog.definitions = standardDefinitions();
    readerPostHog.setFlags({ 'remote-only': { enabled: true } });
  });

  afterEach(async () => {
    await modules.closeAll();
    await publisherPostHog.stop();
    await readerPostHog.stop();
  });

  const cacheUrl = () => redis.url(`service=readers-${service}`);

  async function start(options: FlagsModuleOptions, logs?: CaptureLogger): Promise<FlagsHarness> {
    const harness = await startFlags({ cacheUrl: cacheUrl(), retries: 0, ...options }, logs);
    modules.add(harness);
    return harness;
  }

  async function publisher(): Promise<FlagsHarness> {
    const harness = await start({
      host: publisherPostHog.url,
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
    });
    await eventually(() => harness.flags.status().definitions.source === 'upstream', 'the publisher to poll');
    return harness;
  }

  const reader = (logs?: CaptureLogger, pollIntervalMs = 1000) =>
    start({ host: readerPostHog.url, localEvaluation: { pollIntervalMs } }, logs);

  it('evaluates locally from the shared store, says so, and never calls the definitions endpoint', async () => {
    const published = await publisher();
    const logs = new CaptureLogger();
    const { flags } = await reader(logs, 0);
    expect(flags.isLocalEvaluationReady()).toBe(true);
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local', enabled: true });
    expect(flags.status().definitions).toMatchObject({ mode: 'cache-only', poller: false, source: 'redis' });
    expect(logs.at('log')).toContainEqual(
      expect.stringMatching(/^local evaluation: cache-only reader \(no secret key\).*never called from here at /),
    );

    publisherPostHog.definitions = {
      ...standardDefinitions(),
      flags: [
        { id: 9, key: 'fresh', active: true, filters: { groups: [{ properties: [], rollout_percentage: 100 }] } },
      ],
    };
    expect(await published.flags.reloadFeatureFlags()).toMatchObject({ outcome: 'loaded', from: 'upstream' });
    expect(await flags.reloadFeatureFlags()).toMatchObject({ outcome: 'loaded', from: 'store', flags: 1 });
    expect(await flags.getFlagResult('fresh', 'u1')).toMatchObject({ source: 'local', enabled: true });
    expect(readerPostHog.definitionsRequests).toEqual([]);
  });

  it('with nothing shared it evaluates nothing locally, asks /flags, and still never polls', async () => {
    const { flags } = await reader();
    expect(await flags.reloadFeatureFlags()).toMatchObject({
      outcome: 'failed',
      from: 'store',
      reason: 'the shared store holds no definitions',
    });
    expect(flags.isLocalEvaluationReady()).toBe(false);
    expect(await flags.getFlagResult('remote-only', 'u1')).toMatchObject({ source: 'remote', enabled: true });
    expect(readerPostHog.definitionsRequests).toEqual([]);
  });

  it('is stale under the usual rules when the publisher goes quiet, and keeps evaluating', async () => {
    const published = await publisher();
    const { flags } = await reader();
    await modules.close(published.moduleRef);
    expect(flags.status().definitions.stale).toBe(false);
    fakeClocks(Date.now() + 3_500); // the wall clock and the monotonic one, 3.5 s on
    try {
      expect(flags.status().definitions).toMatchObject({ stale: true, source: 'redis' });
      expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local' });
    } finally {
      restoreClocks();
    }
    expect(readerPostHog.definitionsRequests).toEqual([]);
  });

  it('without a shared store (memory://) it is still a startup error naming POSTHOG_SECRET_KEY', async () => {
    const startup = startFlags({ host: readerPostHog.url, localEvaluation: {} });
    await expect(startup).rejects.toThrow(FlagsConfigError);
    await expect(startFlags({ host: readerPostHog.url, localEvaluation: {} })).rejects.toThrow(
      /POSTHOG_SECRET_KEY.*cache-only reader/,
    );
  });
});
