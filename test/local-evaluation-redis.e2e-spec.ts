import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { FlagsModuleOptions } from '../src/index.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { redisSuite } from './support/redis-suite.js';
import { RunningFlags } from './support/running-flags.js';

describe('shared flag definitions (redis://)', () => {
  const redis = redisSuite();
  let fake: FakePostHog;
  const modules = new RunningFlags();
  let service = 0;

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
    fake.setFlags({ 'remote-only': { enabled: true } });
    service++;
  });

  afterEach(async () => {
    await modules.closeAll();
    await fake.stop();
  });

  /** The keys of this test's service: each test has its own, on one server. */
  const keyOf = () => `posthog:flags:svc-${service}`;

  /** An instance on this test's Redis service, polling every second. */
  async function instance(options: FlagsModuleOptions = {}): Promise<FlagsHarness> {
    const harness = await startFlags({
      host: fake.url,
      cacheUrl: redis.server.url(`service=svc-${service}`),
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
      retries: 0,
      ...options,
    });
    modules.add(harness);
    return harness;
  }

  const sources = (harness: FlagsHarness) => harness.flags.status().definitions.source;

  it('three instances: one polls PostHog and publishes, the others read the key', async () => {
    const instances = [await instance(), await instance(), await instance()];
    await eventually(() => instances.every((harness) => sources(harness) !== 'none'), 'every instance to load');
    await eventually(() => fake.definitionsRequests.length >= 3, 'three polls');
    // A follower that found nothing shared at startup polled PostHog itself; it takes the shared key once published.
    await eventually(
      () => instances.filter((harness) => sources(harness) === 'redis').length >= 2,
      'two instances on the shared key',
    );
    const pollers = instances.filter((harness) => harness.flags.status().definitions.poller);
    expect(pollers).toHaveLength(1);
    // One poller: about one request a second, not three (each of the three polls within every second).
    const since = fake.definitionsRequests.length;
    const readsBefore = Number((await redis.client.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    await eventually(async () => {
      const reads = Number((await redis.client.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
      return reads - readsBefore > 12; // a few rounds of the three instances
    }, 'a few rounds');
    expect(fake.definitionsRequests.length - since).toBeLessThanOrEqual(4);
    for (const harness of instances) expect((await harness.flags.getFlagResult('beta', 'u1'))?.source).toBe('local');
  });

  it('the lock is released on close and taken over by another instance', async () => {
    const first = await instance();
    await eventually(() => first.flags.status().definitions.poller, 'the first instance to poll');
    const second = await instance();
    await eventually(() => sources(second) === 'redis', 'the second to read the key');
    expect(await redis.client.get(`${keyOf()}:lock`)).not.toBeNull();
    await modules.close(first.moduleRef);
    expect(await redis.client.get(`${keyOf()}:lock`)).toBeNull();
    await eventually(() => second.flags.status().definitions.poller, 'the second instance to take over');
  });

  it('writes the JSON object PostHog’s Python provider expects, snake case, for a day', async () => {
    const first = await instance();
    await eventually(() => sources(first) === 'upstream', 'the poller to load');
    await eventually(async () => (await redis.client.get(keyOf())) !== null, 'the shared key');
    const stored = JSON.parse((await redis.client.get(keyOf()))!);
    const { flags, group_type_mapping, cohorts } = standardDefinitions();
    // posthog-python's reader takes these three and ignores the rest: whose they are, when and what was polled.
    expect(stored).toEqual({
      flags,
      group_type_mapping,
      cohorts,
      project_fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      polled_at: expect.any(String),
      etag: fake.definitionsEtag,
    });
    expect(JSON.stringify(stored)).not.toContain(TEST_API_KEY);
    const ttl = await redis.client.ttl(keyOf());
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_400);
  });

  it('a cold start while PostHog refuses connections evaluates never-seen users from the shared key', async () => {
    await redis.client.set(keyOf(), JSON.stringify(standardDefinitions()), 'EX', 600); // written as Python would
    await fake.refuse();
    const cold = await instance();
    expect(sources(cold)).toBe('redis'); // read at startup, before the first request
    for (const user of ['never-seen-1', 'never-seen-2', 'never-seen-3']) {
      expect(await cold.flags.getFlagResult('beta', user)).toMatchObject({ enabled: true, source: 'local' });
      expect(await cold.flags.getFlag('checkout', user)).toBe('test');
    }
    await eventually(
      () => cold.flags.status().definitions.lastFailure?.reason === 'connection_refused',
      'a refused poll',
    );
    expect((await cold.flags.getFlagResult('beta', 'never-seen-4'))?.source).toBe('local');
  });

  it('writes refused: the ETag moves here (no reloads), the failure is said, the key is republished once they work', async () => {
    const poller = await instance();
    await eventually(() => poller.flags.status().definitions.etag !== undefined, 'a first shared load');
    await redis.client.del(keyOf());
    // Writes refused (out of memory) while the lock can still be renewed: the new definitions cannot be shared.
    await redis.client.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.client.config('SET', 'maxmemory', '1');
    try {
      const changed = standardDefinitions();
      (changed.flags as { active: boolean }[])[0]!.active = false;
      fake.definitions = changed;
      await eventually(async () => (await poller.flags.isEnabled('beta', 'u1')) === false, 'the new definitions here');
      const before = fake.definitionsRequests.length;
      await eventually(() => fake.definitionsRequests.length > before, 'another poll');
      // Kept in the process: the next poll asks with the new ETag (a 304, not a whole reload).
      expect(fake.definitionsRequests.at(-1)!.headers['if-none-match']).toBe(fake.definitionsEtag);
      expect(poller.logs.at('warn').filter((line) => line.includes('publishing the flag definitions'))).toEqual([
        expect.stringContaining('OOM'),
      ]);
      expect(poller.logs.text).not.toContain('shared flag definitions unavailable');
    } finally {
      await redis.client.config('SET', 'maxmemory', '0');
    }
    await eventually(
      async () => JSON.parse((await redis.client.get(keyOf())) ?? '{}').etag === fake.definitionsEtag,
      'the key',
    );
  });

  it('a 402 seen by the poller reaches the followers: the empty set is published', async () => {
    const first = await instance();
    await eventually(() => first.flags.status().definitions.poller && sources(first) === 'upstream', 'a poller');
    const second = await instance();
    await eventually(() => sources(second) === 'redis', 'the follower to load');
    fake.definitionsAnswer = 402;
    await eventually(() => sources(second) === 'none', 'the follower to drop the definitions');
    expect(JSON.parse((await redis.client.get(keyOf()))!).flags).toEqual([]);
    expect((await second.flags.getFlagResult('remote-only', 'u1'))?.source).toBe('remote');
  });

  it('Redis down: the definitions loaded stay, the instance polls PostHog itself, one warning', async () => {
    const solo = await startFlags({
      host: fake.url,
      cacheUrl: `redis://127.0.0.1:${redis.server.port + 1}/0?service=unreachable`,
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
    });
    modules.add(solo);
    await eventually(() => sources(solo) === 'upstream', 'definitions from PostHog');
    expect(solo.flags.status().definitions.poller).toBe(true);
    expect((await solo.flags.getFlagResult('beta', 'u1'))?.source).toBe('local');
    await eventually(() => fake.definitionsRequests.length >= 2, 'a second poll');
    expect(solo.logs.at('warn').filter((line) => line.includes('shared flag definitions unavailable'))).toHaveLength(1);
  });
});
