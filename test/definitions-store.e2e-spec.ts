import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { FlagDefinitionCacheData, FlagDefinitionCacheInput, FlagDefinitionCacheProvider } from 'posthog-node';
import { FlagsConfigError, type FlagsModuleOptions } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, type FlagsHarness } from './support/flags-app.js';
import { redisSuite } from './support/redis-suite.js';
import { RunningFlags } from './support/running-flags.js';

/** posthog-node's `FlagDefinitionCacheProvider` TSDoc example, as written there (ioredis for its `Redis`). */
class RedisFlagCache implements FlagDefinitionCacheProvider<FlagDefinitionCacheInput> {
  constructor(
    private redis: Redis,
    private teamKey: string,
  ) {}

  async getFlagDefinitions(): Promise<FlagDefinitionCacheInput | undefined> {
    const cached = await this.redis.get(`posthog:flags:${this.teamKey}`);
    return cached ? JSON.parse(cached) : undefined;
  }

  async shouldFetchFlagDefinitions(): Promise<boolean> {
    // Acquire distributed lock - only one worker fetches
    const acquired = await this.redis.set(`posthog:flags:${this.teamKey}:lock`, '1', 'EX', 60, 'NX');
    return acquired === 'OK';
  }

  async onFlagDefinitionsReceived(data: FlagDefinitionCacheData): Promise<void> {
    await this.redis.set(`posthog:flags:${this.teamKey}`, JSON.stringify(data), 'EX', 300);
    await this.redis.del(`posthog:flags:${this.teamKey}:lock`);
  }

  async shutdown(): Promise<void> {
    await this.redis.del(`posthog:flags:${this.teamKey}:lock`);
  }
}

/** Counts the calls made to each method of `provider`. */
function counted<P extends object>(provider: P): { provider: P; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = new Proxy(provider, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { provider: wrapped, calls };
}

describe('definitionsStore: your own store, with posthog-node provider semantics', () => {
  const redis = redisSuite();
  let fake: FakePostHog;
  const modules = new RunningFlags();
  let team = 0;

  beforeEach(async () => {
    team++;
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
  });

  afterEach(async () => {
    await modules.closeAll();
    await fake.stop();
  });

  const teamKey = () => `team-${team}`;

  async function start(options: FlagsModuleOptions, logs?: CaptureLogger): Promise<FlagsHarness> {
    const harness = await startFlags(
      { host: fake.url, secretKey: TEST_SECRET_KEY, retries: 0, localEvaluation: { pollIntervalMs: 0 }, ...options },
      logs,
    );
    modules.add(harness);
    return harness;
  }

  it('a provider written as posthog-node documents it drives fetching and publishing, unchanged', async () => {
    const first = counted(new RedisFlagCache(redis.client, teamKey()));
    const fetcher = await start({ definitionsStore: first.provider });
    await eventually(() => fetcher.flags.isLocalEvaluationReady(), 'the fetcher to load');
    expect(fake.definitionsRequests).toHaveLength(1);
    expect(first.calls.get('shouldFetchFlagDefinitions')).toBe(1);
    await eventually(() => first.calls.get('onFlagDefinitionsReceived') === 1, 'the publish');
    // What it stored is posthog-node's shape (snake case and aliases), with this library's stamp beside it.
    const stored = JSON.parse((await redis.client.get(`posthog:flags:${teamKey()}`))!);
    expect(stored).toMatchObject({
      flags: standardDefinitions().flags,
      group_type_mapping: { '0': 'company' },
      groupTypeMapping: { '0': 'company' },
      cohorts: {},
      project_fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      polled_at: expect.stringMatching(/Z$/),
    });
    expect(JSON.stringify(stored)).not.toContain(TEST_SECRET_KEY);

    // Another worker while someone holds the provider's lock: it reads the store and does not fetch.
    await redis.client.set(`posthog:flags:${teamKey()}:lock`, '1', 'EX', 60);
    const second = counted(new RedisFlagCache(redis.client, teamKey()));
    const follower = await start({ definitionsStore: second.provider });
    await eventually(() => follower.flags.isLocalEvaluationReady(), 'the follower to load');
    expect(follower.flags.status().definitions).toMatchObject({ source: 'store', poller: false, mode: 'polling' });
    expect(await follower.flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local', enabled: true });
    expect(second.calls.get('onFlagDefinitionsReceived')).toBeUndefined();
    expect(fake.definitionsRequests).toHaveLength(1);

    // shutdown() is called on close (the example's releases the lock).
    await modules.close(follower.moduleRef);
    expect(second.calls.get('shutdown')).toBe(1);
    expect(await redis.client.exists(`posthog:flags:${teamKey()}:lock`)).toBe(0);
  });

  it('reads what posthog-node itself stored (camel-case aliases, no stamp) and trusts it as fresh', async () => {
    const definitions = standardDefinitions();
    const written = { ...definitions, groupTypeMapping: definitions.group_type_mapping };
    delete (written as Record<string, unknown>).group_type_mapping;
    await redis.client.set(`posthog:flags:${teamKey()}`, JSON.stringify(written));
    await redis.client.set(`posthog:flags:${teamKey()}:lock`, '1', 'EX', 60);
    const { flags } = await start({ definitionsStore: new RedisFlagCache(redis.client, teamKey()) });
    await eventually(() => flags.isLocalEvaluationReady(), 'the definitions from the store');
    expect(flags.status().definitions).toMatchObject({ source: 'store', stale: false });
    expect(fake.definitionsRequests).toHaveLength(0);
  });

  it('without a secret key only getFlagDefinitions is called: a cache-only reader', async () => {
    await start({ definitionsStore: new RedisFlagCache(redis.client, teamKey()) });
    await eventually(async () => await redis.client.exists(`posthog:flags:${teamKey()}`), 'the publish');
    const asked = fake.definitionsRequests.length;
    const reader = counted(new RedisFlagCache(redis.client, teamKey()));
    const harness = await startFlags({
      host: fake.url,
      localEvaluation: { pollIntervalMs: 0 },
      definitionsStore: reader.provider,
    });
    modules.add(harness);
    const { flags } = harness;
    expect(flags.status().definitions).toMatchObject({ mode: 'cache-only', source: 'store' });
    expect(await flags.reloadFeatureFlags()).toMatchObject({ outcome: 'unchanged', from: 'store' });
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local' });
    expect([...reader.calls.keys()]).toEqual(['getFlagDefinitions']);
    expect(fake.definitionsRequests).toHaveLength(asked);
  });

  it('a provider whose every method throws or hangs: bounded, one warning per episode, evaluation goes on', async () => {
    const logs = new CaptureLogger();
    const never = () => new Promise<never>(() => {});
    const broken = {
      getFlagDefinitions: never,
      shouldFetchFlagDefinitions: () => {
        throw new Error('lock service down');
      },
      onFlagDefinitionsReceived: () => Promise.reject(new Error('bucket read-only')),
      shutdown: never,
    };
    const { flags, moduleRef } = await start({ definitionsStore: broken, timeoutMs: 200 }, logs);
    await eventually(() => flags.isLocalEvaluationReady(), 'PostHog polled directly');
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local' });
    await flags.reloadFeatureFlags();
    await flags.reloadFeatureFlags();
    const unavailable = logs.at('warn').filter((line) => line.startsWith('shared flag definitions unavailable'));
    expect(unavailable).toHaveLength(1);
    expect(unavailable[0]).toMatch(
      /definitionsStore\.(getFlagDefinitions\(\) did not settle within 200 ms|shouldFetchFlagDefinitions\(\) threw: lock service down)/,
    );
    expect(flags.status().definitions).toMatchObject({ source: 'upstream', poller: true });
    await modules.close(moduleRef);
    expect(logs.at('warn')).toContainEqual(
      expect.stringMatching(/^definitionsStore\.shutdown\(\) did not settle within 200 ms/),
    );
  });

  it('a provider that cannot store: one warning for the episode, the definitions evaluated here', async () => {
    const logs = new CaptureLogger();
    const readOnly = counted({
      getFlagDefinitions: () => undefined,
      shouldFetchFlagDefinitions: () => true,
      onFlagDefinitionsReceived: () => Promise.reject(new Error('bucket read-only')),
    });
    const { flags } = await start({ definitionsStore: readOnly.provider }, logs);
    await eventually(() => readOnly.calls.get('onFlagDefinitionsReceived') === 1, 'the first publish');
    await flags.reloadFeatureFlags();
    await flags.reloadFeatureFlags();
    expect(readOnly.calls.get('onFlagDefinitionsReceived')).toBe(3);
    expect(logs.at('warn').filter((line) => line.includes('bucket read-only'))).toEqual([
      expect.stringMatching(/^publishing the flag definitions to the definitionsStore failed: .*bucket read-only/),
    ]);
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local' });
  });

  it('a definitionsStore without the provider methods is a startup error naming the one missing', async () => {
    const startup = start({ definitionsStore: { getFlagDefinitions: () => undefined } as never });
    await expect(startup).rejects.toThrow(FlagsConfigError);
    await expect(start({ definitionsStore: { getFlagDefinitions: () => undefined } as never })).rejects.toThrow(
      'definitionsStore has no shouldFetchFlagDefinitions() method',
    );
  });
});
