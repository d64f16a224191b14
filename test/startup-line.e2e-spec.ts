import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FlagsModuleOptions } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { TEST_SECRET_KEY } from './support/definitions.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY } from './support/flags-app.js';
import { freePort, RedisServer } from './support/redis-server.js';
import { RedisSentinelGroup } from './support/redis-sentinel.js';

/** The logger context of the module's lines. */
const CONTEXT = 'nestjs-posthog-flags';

/** A Redis password that must be percent-encoded in a URL, and is never to be printed in any form. */
const REDIS_PASSWORD = 'pa#ss?w/rd-Secret-1';

/** The startup line says where flags come from: the PostHog host, the mode, the fallback cache; never a secret. */
describe('the startup line', () => {
  let fake: FakePostHog;
  let redis: RedisServer;
  let sentinels: RedisSentinelGroup;
  /** A port nothing listens on: a Redis node never reached. */
  let closed: number;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlags({ beta: { enabled: true } });
    fake.definitions = { flags: [], group_type_mapping: {}, cohorts: {} };
    redis = await RedisServer.start({ password: REDIS_PASSWORD });
    sentinels = await RedisSentinelGroup.start({ password: 'data-Secret-3', sentinelPassword: 'sentinel-Secret-4' });
    closed = await freePort();
  });

  afterAll(async () => {
    await sentinels.stop();
    await redis.stop();
    await fake.stop();
  });

  /**
   * The module's lines at level `log` that name its host (each ends with the logger's context), once it has started
   * with `options`; then closes it.
   */
  async function startupLinesOf(options: FlagsModuleOptions): Promise<{ lines: string[]; text: string }> {
    const logs = new CaptureLogger();
    const { moduleRef } = await startFlags({ host: fake.url, ...options }, logs);
    await moduleRef.close();
    return { lines: logs.at('log').filter((line) => line.startsWith('host ')), text: logs.text };
  }

  it('names the host, the mode and the cache of a default start: remote, memory', async () => {
    expect((await startupLinesOf({})).lines).toEqual([
      `host ${fake.url}, mode remote (/flags), fallback cache memory://local (in this process) ${CONTEXT}`,
    ]);
  });

  it.each([
    [
      'Redis with a percent-encoded password, local evaluation',
      () => ({
        cacheUrl: `redis://default:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${redis.port}/0?prefix=start:`,
        secretKey: TEST_SECRET_KEY,
        localEvaluation: { pollIntervalMs: 5000 },
      }),
      () =>
        `mode local (flag definitions polled every 5000 ms; /flags for what they cannot decide), ` +
        `fallback cache redis://127.0.0.1:${redis.port}`,
    ],
    [
      'Sentinels with a password of their own in the query, local only',
      () => ({
        cacheUrl: sentinels.url('sentinelPassword=sentinel-Secret-4', 'default:data-Secret-3'),
        secretKey: TEST_SECRET_KEY,
        localEvaluation: { onlyLocal: true },
      }),
      () =>
        'mode local only (flag definitions polled every 30000 ms; /flags never asked), ' +
        `fallback cache redis-sentinel://127.0.0.1:${sentinels.sentinels[0]!.port} ` +
        `(+${sentinels.sentinels.length - 1} more)`,
    ],
    [
      // (a host with a query string fails at startup, its query not quoted: src/config/setting-messages.spec.ts)
      'a cluster on IPv6 with credentials, overrides',
      () => ({
        cacheUrl: `redis-cluster://cluster-user:cluster-Secret-7@[::1]:${closed}/?timeout=50`,
        overrides: { beta: true },
      }),
      () => 'mode remote (/flags) + overrides (option overrides), ' + `fallback cache redis-cluster://[::1]:${closed}`,
    ],
  ])('%s: one line, no secret', async (_name, options, expected) => {
    const { lines, text } = await startupLinesOf(options());
    expect(lines).toEqual([`host ${fake.url}, ${expected()} ${CONTEXT}`]);
    // Every key and password of these configurations holds "Secret" (TEST_API_KEY too); no line shows one.
    expect(TEST_API_KEY + TEST_SECRET_KEY).toMatch(/Secret.*Secret/);
    expect(text).not.toMatch(/Secret|pa#ss|pa%23ss/);
    // The startup line shows no user name (other lines may, as the cache URL masked), query or path either.
    expect(lines[0]).not.toMatch(/user|default|\?|=|mymaster|\/0/);
  });

  it('says offline, with overrides and no API key', async () => {
    const saved = process.env.POSTHOG_API_KEY;
    delete process.env.POSTHOG_API_KEY;
    try {
      expect((await startupLinesOf({ apiKey: '', overrides: { beta: true } })).lines).toEqual([
        `host none, mode offline + overrides (option overrides), fallback cache memory://local (in this process) ${CONTEXT}`,
      ]);
    } finally {
      if (saved !== undefined) process.env.POSTHOG_API_KEY = saved;
    }
  });
});
