import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { CpuBurner } from './support/cpu-burner.js';
import { eventually } from './support/eventually.js';
import { FakePostHog, type FakeFlag } from './support/fake-posthog.js';
import { startFlags, type FlagsHarness } from './support/flags-app.js';
import { RedisCluster } from './support/redis-cluster.js';

/** Twelve flags: each user's entries spread over the three primaries' slots. */
const FLAGS: Record<string, FakeFlag> = Object.fromEntries(
  Array.from({ length: 12 }, (_, index) => [`flag-${index}`, { enabled: index % 2 === 0, variant: `v${index}` }]),
);
const FLAG_KEYS = Object.keys(FLAGS);
const USERS = Array.from({ length: 20 }, (_, index) => `user-${index}`);
/** The cache's timeout (each command's). */
const TIMEOUT_MS = 100;
/**
 * For a while after the app started, as on a host too busy to answer quickly, a new connection to a node answers
 * each way this late: its handshake times out, and so does a command that waits for it.
 */
const ONE_WAY_MS = 100;
/** How long new connections are that slow: longer than a command and its retry, shorter than the connect timeout. */
const SLOW_FOR_MS = 600;

describe('redis-cluster:// created just before the app starts (every connection cold, the host busy)', () => {
  let cluster: RedisCluster | undefined;
  let fake: FakePostHog;
  let burner: CpuBurner | undefined;
  let harness: FlagsHarness | undefined;

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.setFlags(FLAGS);
  });

  afterEach(async () => {
    await burner?.stop();
    await harness?.moduleRef.close();
    await cluster?.stop();
    await fake.stop();
  });

  /** Waits until every key exists on the cluster (writes go behind the answers); fails naming those never written. */
  async function expectWritten(keys: string[]): Promise<void> {
    const inspect = new Cluster(cluster!.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })));
    let missing = keys;
    try {
      await eventually(async () => {
        const found = await Promise.all(missing.map((key) => inspect.exists(key)));
        missing = missing.filter((_, index) => !found[index]);
        return missing.length === 0;
      }, 'every entry written').catch(() => {
        throw new Error(`${missing.length} of ${keys.length} entries never written: ${missing.join(', ')}`);
      });
    } finally {
      inspect.disconnect();
    }
  }

  it('loses no write of users evaluated one after another; each is served from the fallback in an outage', async () => {
    burner = CpuBurner.start(1);
    cluster = await RedisCluster.start(3, undefined, true);
    // A long timeout for PostHog: the load must not fail evaluations.
    const cacheUrl = cluster.url(`prefix=cold:&timeout=${TIMEOUT_MS}`);
    harness = await startFlags({ host: fake.url, cacheUrl, retries: 0, timeoutMs: 5000 });
    // The connection the client made to check the cluster stays fast; those to the other nodes are made on first use.
    for (const proxy of cluster.proxies) proxy.slowDown(ONE_WAY_MS, SLOW_FOR_MS);
    const { flags } = harness;
    for (const user of USERS) expect(Object.keys(await flags.getAllFlags(user))).toHaveLength(FLAG_KEYS.length);
    await burner.stop();
    await expectWritten(USERS.flatMap((user) => FLAG_KEYS.map((key) => `cold:${user}:${key}`)));

    fake.answer = 503;
    for (const user of USERS) {
      const fallback = await flags.getFlagResults(user, FLAG_KEYS);
      expect([...fallback].filter(([, result]) => result.source !== 'fallback')).toEqual([]);
      expect([...fallback.keys()].sort()).toEqual([...FLAG_KEYS].sort());
    }
  }, 60_000);
});
