import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { FakePostHog } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { RedisCluster } from './support/redis-cluster.js';
import { RedisSentinelGroup } from './support/redis-sentinel.js';
import { RedisServer } from './support/redis-server.js';
import { runChild } from './support/run-child.js';
import { makeTlsCertificates } from './support/tls-certificates.js';

describe('a whole application process on the built package', () => {
  let fake: FakePostHog;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlags({ beta: { enabled: true }, checkout: { enabled: true, variant: 'test' } });
  });

  afterAll(async () => {
    await fake.stop();
  });

  const env = (cacheUrl: string, extra: Record<string, string> = {}) => ({
    POSTHOG_API_KEY: TEST_API_KEY,
    POSTHOG_HOST: fake.url,
    FLAGS_CACHE_URL: cacheUrl,
    ...extra,
  });

  it('exits by itself after app.close() with the memory cache', async () => {
    const outcome = await runChild(env('memory://local'), ['user-1']);
    expect(outcome.results['user-1']).toEqual({ beta: 'remote', checkout: 'remote' });
  });

  it('exits by itself after app.close() with local evaluation polling, on memory and on Redis', async () => {
    fake.definitions = {
      flags: [{ id: 1, key: 'beta', active: true, filters: { groups: [{ rollout_percentage: 100 }] } }],
    };
    const redis = await RedisServer.start();
    try {
      for (const cacheUrl of ['memory://local', redis.url()]) {
        const outcome = await runChild(env(cacheUrl, { POSTHOG_SECRET_KEY: 'phs_child_secret' }), ['user-1']);
        expect(outcome.results['user-1']).toHaveProperty('beta');
      }
      expect(fake.definitionsRequests.length).toBeGreaterThanOrEqual(2);
    } finally {
      fake.definitions = undefined;
      await redis.stop();
    }
  });

  // runChild also fails when a timer or socket is still open right after app.close() resolved: a retry that was
  // pending at close (reconnection, a new round over the sentinels, a slot refresh) included.
  describe('on a Redis Cluster and through Sentinel, reachable or not', () => {
    let cluster: RedisCluster;
    let sentinel: RedisSentinelGroup;

    beforeAll(async () => {
      cluster = await RedisCluster.start();
      sentinel = await RedisSentinelGroup.start();
    }, 60_000);

    afterAll(async () => {
      await cluster?.stop();
      await sentinel?.stop();
    });

    it.each([
      ['a cluster', () => cluster.url()],
      ['a Sentinel-managed primary', () => sentinel.url()],
      ['unreachable sentinels', () => 'redis-sentinel://127.0.0.1:1,127.0.0.1:2/0?name=mymaster'],
      ['an unreachable cluster', () => 'redis-cluster://127.0.0.1:1/'],
    ])('exits by itself after app.close() with %s, nothing left open', async (_, cacheUrl) => {
      const outcome = await runChild(env(cacheUrl()), ['user-1']);
      expect(outcome.results['user-1']).toEqual({ beta: 'remote', checkout: 'remote' });
    });
  });

  it('exits by itself after app.close() with the Redis cache, up or down (a dead port), nothing left open', async () => {
    const redis = await RedisServer.start();
    try {
      const up = await runChild(env(redis.url()), ['user-1']);
      expect(up.results['user-1']).toEqual({ beta: 'remote', checkout: 'remote' });
      await redis.halt();
      const down = await runChild(env(redis.url()), ['user-1']);
      expect(down.results['user-1']).toEqual({ beta: 'remote', checkout: 'remote' });
      expect(down.logs.filter((line) => line.level === 'warn')).toHaveLength(1);
    } finally {
      await redis.stop();
    }
  });

  describe('rediss:// (TLS with a private CA)', () => {
    let tls: ReturnType<typeof makeTlsCertificates>;
    let redis: RedisServer;

    beforeAll(async () => {
      tls = makeTlsCertificates();
      redis = await RedisServer.start({ tls });
    });

    afterAll(async () => {
      await redis.stop();
      rmSync(tls.dir, { recursive: true, force: true });
    });

    it('connects with certificate checks on, trusting the CA from NODE_EXTRA_CA_CERTS', async () => {
      const outcome = await runChild(env(redis.url(), { NODE_EXTRA_CA_CERTS: tls.ca }), ['tls-user']);
      expect(outcome.results['tls-user']).toEqual({ beta: 'remote', checkout: 'remote' });
      expect(outcome.logs.filter((line) => line.level === 'warn')).toEqual([]);

      const inspect = new Redis({ port: redis.port, host: 'localhost', tls: { ca: readFileSync(tls.ca) } });
      try {
        expect(JSON.parse((await inspect.get('posthog:flags:tls-user:beta'))!).flag_result.enabled).toBe(true);
      } finally {
        inspect.disconnect();
      }
    });

    it('refuses a certificate it cannot verify: one warning, flags served live', async () => {
      const outcome = await runChild(env(redis.url()), ['user-1']);
      expect(outcome.results['user-1']).toEqual({ beta: 'remote', checkout: 'remote' });
      const warnings = outcome.logs.filter((line) => line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toMatch(/rediss:\/\/localhost:\d+\/0 is unreachable \(.*certificate/);
    });
  });

  describe('https:// PostHog (TLS with a private CA)', () => {
    let tls: ReturnType<typeof makeTlsCertificates>;
    let secure: FakePostHog;

    beforeAll(async () => {
      tls = makeTlsCertificates();
      secure = await FakePostHog.start(tls);
      secure.setFlags({ beta: { enabled: true }, checkout: { enabled: true, variant: 'test' } });
      secure.definitions = {
        flags: [{ id: 1, key: 'beta', active: true, filters: { groups: [{ rollout_percentage: 100 }] } }],
      };
    });

    afterAll(async () => {
      await secure.stop();
      rmSync(tls.dir, { recursive: true, force: true });
    });

    const secureEnv = (extra: Record<string, string> = {}) => ({
      ...env('memory://local', { NODE_EXTRA_CA_CERTS: tls.ca, ...extra }),
      POSTHOG_HOST: secure.url,
    });

    it('asks /flags and /flags/definitions over TLS, trusting the CA from NODE_EXTRA_CA_CERTS', async () => {
      const remote = await runChild(secureEnv(), ['tls-remote']);
      expect(remote.results['tls-remote']).toEqual({ beta: 'remote', checkout: 'remote' });
      const local = await runChild(secureEnv({ POSTHOG_SECRET_KEY: 'phs_child_secret' }), ['tls-local']);
      expect(local.results['tls-local']).toEqual({ beta: 'local' });
      expect([...remote.logs, ...local.logs].filter((line) => line.level !== 'log')).toEqual([]);
      expect(secure.requests.map((request) => request.body.distinct_id)).toEqual(['tls-remote']);
      expect(secure.definitionsRequests).toHaveLength(1);
    });
  });
});
