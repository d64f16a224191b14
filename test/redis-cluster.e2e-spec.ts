import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Cluster } from 'ioredis';
import { parseCacheUrl } from '../src/cache/cache-url.js';
import { keySlot } from '../src/cache/cluster-slot.js';
import { createFlagCache } from '../src/cache/create-flag-cache.js';
import type { FlagsModuleOptions } from '../src/index.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog, type FakeFlag } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { meaningAsFlag, pythonVectors } from './support/python-vectors.js';
import { RedisCluster } from './support/redis-cluster.js';

/** Twelve flags: one user's entries spread over the three primaries' slots. */
const MANY_FLAGS: Record<string, FakeFlag> = Object.fromEntries(
  Array.from({ length: 12 }, (_, index) => [`flag-${index}`, { enabled: index % 2 === 0 }]),
);

describe('redis-cluster:// (a three-primary Redis Cluster)', () => {
  let cluster: RedisCluster;
  let inspect: Cluster;
  let fake: FakePostHog;
  const running: FlagsHarness[] = [];
  let test = 0;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    inspect = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })));
  }, 30_000);

  afterAll(async () => {
    inspect.disconnect();
    await cluster.stop();
  });

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.setFlags(MANY_FLAGS);
    test++;
  });

  afterEach(async () => {
    for (const harness of running.splice(0)) await harness.moduleRef.close();
    await fake.stop();
  });

  async function start(options: FlagsModuleOptions = {}, query = ''): Promise<FlagsHarness> {
    const harness = await startFlags({
      host: fake.url,
      cacheUrl: cluster.url(`prefix=t${test}:${query ? `&${query}` : ''}`),
      retries: 0,
      ...options,
    });
    running.push(harness);
    return harness;
  }

  it('loses no write made right after startup, while the client connects to each node', async () => {
    const { flags } = await start();
    const users = Array.from({ length: 20 }, (_, index) => `early-${index}`);
    await Promise.all(users.map((user) => flags.getAllFlags(user)));
    const keys = users.flatMap((user) => Object.keys(MANY_FLAGS).map((key) => `t${test}:${user}:${key}`));
    await eventually(
      async () => (await Promise.all(keys.map((key) => inspect.exists(key)))).every(Boolean),
      'every entry written',
    );
  });

  it('loses no write while the client learns a slot moved (MOVED inside a pipeline)', async () => {
    const { flags } = await start();
    await flags.getAllFlags('rewritten');
    const keys = Object.keys(MANY_FLAGS).map((key) => `t${test}:rewritten:${key}`);
    await eventually(
      async () => (await Promise.all(keys.map((key) => inspect.exists(key)))).every(Boolean),
      'the entries',
    );
    await moveSlotOf(keys[0]!);
    fake.setFlags(Object.fromEntries(Object.keys(MANY_FLAGS).map((key) => [key, { enabled: true, variant: 'moved' }])));
    await flags.getAllFlags('rewritten');
    await eventually(
      async () => (await Promise.all(keys.map((key) => inspect.get(key)))).every((value) => value?.includes('moved')),
      'every entry rewritten',
      5000,
    );
  });

  /**
   * Starts moving the slot of `key` to another node, as a resharding does, the clients not told: the key is on the
   * target, the source answers ASK for it. Resolves with the slot and its new node, to end the move with.
   */
  async function migrateSlotOf(key: string) {
    const source = await cluster.ownerOf(key);
    const target = cluster.nodes.find((node) => node !== source)!;
    const slot = String(keySlot(key));
    const [sourceId, targetId] = [await cluster.nodeId(source), await cluster.nodeId(target)];
    await cluster.ask(target, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
    await cluster.ask(source, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
    await cluster.ask(source, 'MIGRATE', '127.0.0.1', String(target.port), key, '0', '5000');
    return { slot, target, targetId };
  }

  /** Moves the slot of `key` (and the key) to another node, as a resharding does, the clients not told. */
  async function moveSlotOf(key: string): Promise<void> {
    const { slot, targetId } = await migrateSlotOf(key);
    for (const node of cluster.nodes) await cluster.ask(node, 'CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
  }

  it('computes the slots Redis computes', async () => {
    for (const key of ['foo', '{user1000}.following', 'foo{}{bar}', 'posthog:flags:Zoë:beta', 'a{b}c']) {
      expect(keySlot(key)).toBe(Number(await cluster.ask(cluster.nodes[0]!, 'CLUSTER', 'KEYSLOT', key)));
    }
  });

  it('keeps a user whose entries span every node, one pipeline per node, never a CROSSSLOT error', async () => {
    const { flags } = await start();
    const live = await flags.getAllFlags('user-1');
    expect(Object.keys(live)).toHaveLength(12);
    const keys = Object.keys(MANY_FLAGS).map((key) => `t${test}:user-1:${key}`);
    await eventually(async () => (await inspect.exists(...keys.slice(0, 1))) === 1, 'the entries');
    const owners = new Set(await Promise.all(keys.map(async (key) => (await cluster.ownerOf(key)).port)));
    expect(owners.size).toBe(3);
    fake.answer = 503;
    const pipelines = jest.spyOn(Cluster.prototype, 'pipeline');
    try {
      const fallback = await flags.getFlagResults('user-1', Object.keys(MANY_FLAGS));
      expect([...fallback.values()].every((result) => result.source === 'fallback')).toBe(true);
      expect(Object.fromEntries([...fallback].map(([key, result]) => [key, result.enabled]))).toEqual(live);
      expect(pipelines).toHaveBeenCalledTimes(3);
    } finally {
      pipelines.mockRestore();
    }
    expect(flags.status().cache).toEqual({ backend: 'redis-cluster', connected: true });
  });

  it('serves the entries posthog-python wrote, read back from the cluster', async () => {
    const { entries } = pythonVectors();
    for (const vector of entries) {
      const value = JSON.parse(vector.value);
      value.timestamp = Date.now() / 1000;
      await inspect.set(vector.redis_key.replace('posthog:flags:', `t${test}:`), JSON.stringify(value), 'EX', 600);
    }
    fake.answer = 503;
    const { flags } = await start();
    for (const vector of entries) {
      const result = await flags.getFlagResult(vector.flag_key, vector.distinct_id);
      expect(result).toEqual({ ...meaningAsFlag(vector), source: 'fallback', evaluatedAt: expect.any(Date) });
    }
  });

  it('follows a resharding: MOVED and ASK', async () => {
    const { flags } = await start();
    await flags.getAllFlags('mover');
    const key = `t${test}:mover:flag-0`;
    await eventually(async () => (await inspect.exists(key)) === 1, 'the entry');
    const { slot, target, targetId } = await migrateSlotOf(key);
    fake.answer = 503;
    // Mid-migration: the source answers ASK for the key it no longer has.
    expect(await flags.getFlagResult('flag-0', 'mover')).toMatchObject({ enabled: true, source: 'fallback' });
    for (const node of cluster.nodes) await cluster.ask(node, 'CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    // Moved: the source answers MOVED until the client has refreshed its slots.
    expect(await flags.getFlagResult('flag-0', 'mover')).toMatchObject({ enabled: true, source: 'fallback' });
    expect((await cluster.ownerOf(key)).port).toBe(target.port);
  });

  it('shares the flag definitions and the poller lock on the cluster', async () => {
    fake.definitions = standardDefinitions();
    const options = { secretKey: TEST_SECRET_KEY, localEvaluation: { pollIntervalMs: 1000 } };
    const first = await start(options, `service=svc${test}`);
    await eventually(() => first.flags.status().definitions.source === 'upstream', 'the poller to load');
    const second = await start(options, `service=svc${test}`);
    await eventually(() => second.flags.status().definitions.source === 'redis', 'the follower to read the key');
    expect([first, second].filter((harness) => harness.flags.status().definitions.poller)).toHaveLength(1);
    expect(JSON.parse((await inspect.get(`t${test}:svc${test}`))!).flags).toHaveLength(4);
    // The key, its sidecar and the lock live in different slots: each kept on its own node.
    await inspect.del(`t${test}:svc${test}`);
    await eventually(async () => (await inspect.exists(`t${test}:svc${test}`)) === 1, 'the key republished');
    expect(await inspect.exists(`t${test}:svc${test}:meta`)).toBe(1);
    const poller = first.flags.status().definitions.poller ? first : second;
    const holder = await inspect.get(`t${test}:svc${test}:lock`);
    await poller.moduleRef.close();
    running.splice(running.indexOf(poller), 1);
    // Released on close: gone, or already taken by the other instance (it polls every second), never still the
    // closed poller's.
    expect(holder).not.toBeNull();
    expect(await inspect.get(`t${test}:svc${test}:lock`)).not.toBe(holder);
    const follower = poller === first ? second : first;
    await eventually(() => follower.flags.status().definitions.poller, 'the follower to take over');
  });

  it('a wrong password: the app starts, one warning without the password, live answers', async () => {
    const guarded = await RedisCluster.start(3, 'right-password');
    try {
      const harness = await startFlags({
        host: fake.url,
        cacheUrl: guarded.url('', 'default:Wr0ng-Secret'),
        retries: 0,
      });
      running.push(harness);
      expect((await harness.flags.getFlagResult('flag-0', 'u1'))?.source).toBe('remote');
      expect(harness.flags.status().cache).toEqual({ backend: 'redis-cluster', connected: false });
      expect(harness.logs.at('warn')).toHaveLength(1);
      expect(harness.logs.text).not.toContain('Wr0ng-Secret');
      expect(harness.logs.text).not.toContain(TEST_API_KEY);
    } finally {
      for (const harness of running.splice(0)) await harness.moduleRef.close();
      await guarded.stop();
    }
  }, 30_000);

  // Last: it stops a node of the shared cluster.
  it('a node down: its slots miss, the other nodes serve', async () => {
    const { flags } = await start();
    await flags.getAllFlags('user-2');
    const keys = Object.keys(MANY_FLAGS).map((key) => `t${test}:user-2:${key}`);
    await eventually(
      async () => (await Promise.all(keys.map((key) => inspect.exists(key)))).every(Boolean),
      'the entries',
    );
    const victim = cluster.nodes[0]!;
    const lost = new Set<string>();
    for (const [index, key] of keys.entries()) {
      if ((await cluster.ownerOf(key)) === victim) lost.add(`flag-${index}`);
    }
    expect(lost.size).toBeGreaterThan(0);
    const errors = jest.spyOn(console, 'error');
    try {
      await victim.halt();
      fake.answer = 503;
      const fallback = await flags.getFlagResults('user-2', Object.keys(MANY_FLAGS));
      expect([...fallback.keys()].sort()).toEqual(
        Object.keys(MANY_FLAGS)
          .filter((key) => !lost.has(key))
          .sort(),
      );
      // Each read gives up on the dead node at the cache's timeout (250 ms), its keys missing: it settles before a
      // timer of the test's own, 4 × that timeout, fires. No elapsed time is measured: without the timeout, the first
      // read waits the ~1.8 s ioredis spends retrying the dead primary's slots, and the timer wins.
      const cache = await createFlagCache(parseCacheUrl(cluster.url(`prefix=t${test}:&timeout=250`)));
      try {
        for (let user = 0; user < 5; user++) {
          const read = await settledBefore(cache.read('user-2', Object.keys(MANY_FLAGS)), 4 * 250);
          expect(read.flags.map((flag) => flag.key).sort()).toEqual([...fallback.keys()].sort());
        }
      } finally {
        await cache.close();
      }
      expect(errors.mock.calls.flat().join(' ')).not.toContain('Unhandled error event');
    } finally {
      errors.mockRestore();
    }
  });
});

/**
 * What the promise (or value) settles with, when it settles before a timer of `ms` fires (the timer then cleared);
 * rejects when the timer fires first. A race of events, not a measure of elapsed time.
 */
async function settledBefore<T>(promise: Promise<T> | T, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled before the test's ${ms} ms timer fired`)), ms);
  });
  try {
    return await Promise.race([promise, fired]);
  } finally {
    clearTimeout(timer);
  }
}
