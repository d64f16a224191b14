import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FlagsHealthIndicator } from '../src/health/index.js';
import { FlagsModule, FlagsService, type FlagsEvent, type FlagsModuleOptions } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { fakeClocks, restoreClocks } from './support/clock.js';
import { eventually } from './support/eventually.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { freePort, RedisServer } from './support/redis-server.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly flags: FlagsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.flags.isHealthy()]);
  }
}

describe('operability', () => {
  const fake = useFakePostHog();
  const { start, harnesses } = useStartedFlags(fake);
  const apps: INestApplication[] = [];

  async function startHealthApp(options: FlagsModuleOptions): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule,
        FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, retries: 0, timeoutMs: 300, ...options }),
      ],
      controllers: [HealthController],
      providers: [FlagsHealthIndicator],
    })
      .setLogger(new CaptureLogger())
      .compile();
    const app = moduleRef.createNestApplication();
    apps.push(app);
    return app.init();
  }

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  describe('status()', () => {
    it('reports ok, then degraded with the failure category, then down when the circuit opens', async () => {
      const { flags } = await start({ circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 60_000 } });
      expect(flags.status()).toEqual({
        upstream: 'ok',
        circuit: 'closed',
        cache: { backend: 'memory', connected: true },
        counts: { local: 0, remote: 0, cache: 0, fallback: 0, override: 0, unknown: 0, upstreamFailures: 0 },
        exposures: { queued: 0, sent: 0, dropped: 0 },
        definitions: {
          mode: 'off',
          source: 'none',
          flags: 0,
          ready: false,
          poller: false,
          failedPolls: 0,
          failing: false,
          stale: false,
        },
      });

      await flags.getAllFlags('user-1');
      expect(flags.status()).toMatchObject({ upstream: 'ok', lastSuccessAt: expect.any(Date), counts: { remote: 3 } });

      fake.answer = 503;
      await flags.getFlagResult('beta', 'user-1');
      expect(flags.status()).toMatchObject({
        upstream: 'degraded',
        circuit: 'closed',
        lastFailure: { at: expect.any(Date), reason: 'http_503' },
        counts: { remote: 3, fallback: 1, upstreamFailures: 1 },
      });

      await flags.getFlagResult('beta', 'stranger');
      await flags.getFlagResult('beta', 'user-1');
      expect(flags.status()).toMatchObject({
        upstream: 'down',
        circuit: 'open',
        counts: { remote: 3, fallback: 2, unknown: 1, upstreamFailures: 2 },
      });
    });

    it('reports the Redis cache disconnected', async () => {
      const redis = await RedisServer.start();
      await redis.halt();
      try {
        const { flags } = await start({ cacheUrl: redis.url() });
        expect(flags.status().cache).toEqual({ backend: 'redis', connected: false });
        await redis.resume();
        await eventually(() => flags.status().cache.connected, 'the cache to connect');
      } finally {
        await Promise.all(harnesses.splice(0).map((harness) => harness.moduleRef.close()));
        await redis.stop();
      }
    });
  });

  describe('events$', () => {
    it('emits evaluations, upstream failures and circuit changes, without the distinct id by default', async () => {
      const { flags } = await start({ circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } });
      const events: FlagsEvent[] = [];
      const subscription = flags.events$.subscribe((event) => events.push(event));
      await flags.getFlag('checkout', 'user-1');
      fake.answer = 503;
      await flags.getFlag('beta', 'user-1');
      await flags.getFlag('beta', 'user-1');
      subscription.unsubscribe();

      expect(events.map(({ at: _at, ...event }) => event)).toEqual([
        { type: 'flag_evaluated', key: 'checkout', source: 'remote', value: 'test' },
        { type: 'circuit_opened', reason: 'http_503' },
        { type: 'upstream_failed', reason: 'http_503' },
        { type: 'flag_evaluated', key: 'beta', source: 'unknown' },
        { type: 'flag_evaluated', key: 'beta', source: 'unknown' },
      ]);
      expect(events.every((event) => event.at instanceof Date)).toBe(true);
    });

    it('includes the distinct id with eventsIncludeDistinctId', async () => {
      const { flags } = await start({ eventsIncludeDistinctId: true });
      const events: FlagsEvent[] = [];
      const subscription = flags.events$.subscribe((event) => events.push(event));
      await flags.isEnabled('beta', 'user-1');
      subscription.unsubscribe();
      expect(events).toEqual([expect.objectContaining({ key: 'beta', distinctId: 'user-1', value: true })]);
    });
  });

  describe('FlagsHealthIndicator', () => {
    it('is up while PostHog answers', async () => {
      const app = await startHealthApp({});
      await request(app.getHttpServer()).get('/health').expect(200);
      const response = await request(app.getHttpServer()).get('/health').expect(200);
      expect(response.body.details['posthog-flags']).toMatchObject({ status: 'up', upstream: 'ok', circuit: 'closed' });
    });

    it('is up and degraded while answers come from the fallback', async () => {
      const app = await startHealthApp({ circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } });
      fake.answer = 503;
      await app.get(FlagsService).isEnabled('beta', 'user-1');
      const response = await request(app.getHttpServer()).get('/health').expect(200);
      expect(response.body.details['posthog-flags']).toMatchObject({
        status: 'up',
        degraded: true,
        upstream: 'down',
        lastFailure: { at: expect.any(String), reason: 'http_503' },
        reason: 'PostHog /flags is down, the circuit is open (last: http_503)',
        cache: { backend: 'memory', connected: true },
      });
    });

    it('is up and degraded, saying why, while the flag definitions were polled more than 3 intervals ago', async () => {
      fake.definitions = { flags: [{ id: 1, key: 'beta', active: true, filters: { groups: [] } }] };
      const app = await startHealthApp({ secretKey: 'phs_health', localEvaluation: { pollIntervalMs: 1000 } });
      const flags = app.get(FlagsService);
      await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions');
      await request(app.getHttpServer()).get('/health').expect(200);
      expect(
        (await request(app.getHttpServer()).get('/health')).body.details['posthog-flags'].degraded,
      ).toBeUndefined();
      fake.definitionsAnswer = 503;
      fakeClocks(Date.now() + 11_000);
      try {
        const response = await request(app.getHttpServer()).get('/health').expect(200);
        expect(response.body.details['posthog-flags']).toMatchObject({
          status: 'up',
          degraded: true,
          reason: expect.stringMatching(/^flag definitions stale: last polled at .*Z, more than 3 poll intervals ago$/),
          definitions: { source: 'upstream', stale: true },
        });
      } finally {
        restoreClocks();
        fake.definitionsAnswer = undefined;
        fake.definitions = undefined;
      }
    });

    it('is degraded, saying why, once 3 polls of the definitions failed with PostHog fully down', async () => {
      const host = `http://127.0.0.1:${await freePort()}`; // nothing listens: every call is refused
      const app = await startHealthApp({ host, secretKey: 'phs_health', localEvaluation: { pollIntervalMs: 1000 } });
      const flags = app.get(FlagsService);
      await eventually(() => flags.status().definitions.failedPolls >= 1, 'a failed poll');
      const early = (await request(app.getHttpServer()).get('/health').expect(200)).body.details['posthog-flags'];
      expect(early).toMatchObject({ status: 'up', upstream: 'ok', definitions: { failing: false } });
      expect(early.degraded).toBeUndefined();

      await eventually(() => flags.status().definitions.failing, '3 failed polls');
      const response = await request(app.getHttpServer()).get('/health').expect(200);
      const details = response.body.details['posthog-flags'];
      const { lastFailure } = flags.status().definitions;
      expect(details).toMatchObject({
        status: 'up',
        degraded: true,
        reason: expect.stringMatching(
          /^flag definitions not refreshed: \d+ polls in a row failed \(last: connection_refused\)$/,
        ),
        definitions: { source: 'none', failing: true, stale: false },
      });
      expect(lastFailure).toEqual({ at: expect.any(Date), reason: 'connection_refused' });
      // The same shape as status()'s (as JSON: the date an ISO string), as is the top-level lastFailure.
      expect(details.definitions.lastFailure).toEqual({
        at: expect.stringMatching(/Z$/),
        reason: 'connection_refused',
      });
    });

    it('is down when PostHog is down and no cache is reachable', async () => {
      const redis = await RedisServer.start();
      await redis.halt();
      try {
        const app = await startHealthApp({
          cacheUrl: redis.url(),
          circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 60_000 },
        });
        fake.answer = 'hang';
        await app.get(FlagsService).isEnabled('beta', 'user-1');
        const response = await request(app.getHttpServer()).get('/health').expect(503);
        expect(response.body.error['posthog-flags']).toMatchObject({ status: 'down', upstream: 'down' });
      } finally {
        await Promise.all(apps.splice(0).map((app) => app.close()));
        await redis.stop();
      }
    });
  });

  describe('shutdown', () => {
    it('aborts in-flight upstream requests on app.close(), and the evaluation still settles', async () => {
      const { flags, moduleRef } = await start({ timeoutMs: 30_000 });
      harnesses.splice(0);
      fake.answer = 'hang';
      const evaluation = flags.isEnabled('beta', 'user-1');
      await eventually(() => fake.pending === 1, 'the request to reach PostHog');
      await moduleRef.close();
      expect(await evaluation).toBe(false);
      await eventually(() => fake.pending === 0, 'the request to be aborted');
    });
  });
});
