import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { filter, firstValueFrom } from 'rxjs';
import { FLAG_CACHE } from '../src/flags.constants.js';
import { EPISODE_QUIET_MS } from '../src/util/log-episode.js';
import { FlagsUpstream } from '../src/upstream/flags-upstream.js';
import type { FlagCache } from '../src/cache/flag-cache.js';
import { fakeClocks, ONLY_DATE } from './support/clock.js';
import { eventually } from './support/eventually.js';
import { STANDARD_FLAGS } from './support/fake-posthog.js';
import { TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { RedisServer } from './support/redis-server.js';

describe('the outage fast path', () => {
  const fake = useFakePostHog();
  const { start } = useStartedFlags(fake);

  /** How many calls `run` sent to PostHog. */
  async function callsDuring(run: () => Promise<unknown>): Promise<number> {
    const before = fake.requests.length;
    await run();
    return fake.requests.length - before;
  }

  describe('circuit breaker', () => {
    it('opens after failureThreshold failed calls, then answers from the fallback with no network until a probe', async () => {
      fakeClocks(Date.now());
      const { flags, logs } = await start({ circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 10_000 } });
      await flags.getAllFlags('user-1');
      fake.answer = 503;
      expect(
        await callsDuring(async () => {
          for (let i = 0; i < 3; i++) await flags.isEnabled('beta', 'user-1');
        }),
      ).toBe(3);
      expect(
        await callsDuring(async () => {
          for (let i = 0; i < 20; i++)
            expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'fallback' });
        }),
      ).toBe(0);
      expect(logs.at('warn').filter((line) => line.includes('circuit breaker opened'))).toHaveLength(1);

      jest.setSystemTime(Date.now() + 10_000);
      const probed = fake.requests.length + 1;
      const failures = flags.status().counts.upstreamFailures;
      expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'fallback' });
      await eventually(() => fake.requests.length === probed && flags.status().circuit === 'open', 'the failed probe');
      expect(flags.status()).toMatchObject({ upstream: 'down', counts: { upstreamFailures: failures + 1 } });
      expect(await callsDuring(() => flags.isEnabled('beta', 'user-1'))).toBe(0);

      fake.answer = 'flags';
      jest.setSystemTime(Date.now() + 10_000);
      expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'fallback' });
      await eventually(() => flags.status().circuit === 'closed', 'the successful probe');
      expect(flags.status().upstream).toBe('ok');
      expect(
        await callsDuring(async () => {
          expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'remote' });
        }),
      ).toBe(1);
      jest.setSystemTime(Date.now() + EPISODE_QUIET_MS);
      await flags.getFlagResult('beta', 'user-1');
      expect(logs.at('log').filter((line) => line.includes('PostHog /flags answers again'))).toHaveLength(1);
    });

    it('answers the caller that sends the probe from the fallback at once, however long PostHog hangs', async () => {
      fakeClocks(Date.now());
      const { flags } = await start({
        timeoutMs: 60_000,
        circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 10_000 },
      });
      await flags.getAllFlags('user-1');
      fake.answer = 503;
      await flags.isEnabled('beta', 'user-1');
      expect(flags.status().circuit).toBe('open');
      fake.answer = 'hang';
      jest.setSystemTime(Date.now() + 10_000);
      const answers = await Promise.all([flags.getFlagResult('beta', 'user-1'), flags.getFlagResult('beta', 'user-1')]);
      expect(answers).toEqual([
        expect.objectContaining({ source: 'fallback' }),
        expect.objectContaining({ source: 'fallback' }),
      ]);
      await eventually(() => fake.pending === 1, 'the probe to reach PostHog');
      expect(flags.status().circuit).toBe('half-open');
    });

    it.each([401, 403])(
      'opens at once on HTTP %d with one error saying the key was rejected, never the key',
      async (status) => {
        const { flags, logs } = await start({});
        fake.answer = status;
        expect(
          await callsDuring(async () => {
            for (let i = 0; i < 5; i++) await flags.isEnabled('beta', 'user-1');
          }),
        ).toBe(1);
        expect(logs.at('error')).toEqual([expect.stringContaining(`PostHog rejected the API key (http_${status})`)]);
        expect(logs.text).not.toContain(TEST_API_KEY);
      },
    );

    it('can be disabled', async () => {
      const { flags } = await start({ circuitBreaker: false });
      fake.answer = 503;
      expect(
        await callsDuring(async () => {
          for (let i = 0; i < 8; i++) await flags.isEnabled('beta', 'user-1');
        }),
      ).toBe(8);
    });
  });

  describe('fallbackAfterMs: the first seconds of an outage', () => {
    it('answers a known user from the fallback while PostHog is slow, and the call refreshes the cache behind', async () => {
      const { flags } = await start({ fallbackAfterMs: 50, timeoutMs: 60_000 });
      await flags.getAllFlags('user-1');
      fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: false } });
      fake.latencyMs = 1000;
      try {
        const answer = await flags.getFlagResult('beta', 'user-1');
        expect(answer).toMatchObject({ enabled: true, source: 'fallback' });
        // The call goes on behind the answer (on a loaded machine it may reach the fake just after the fallback).
        await eventually(() => fake.pending === 1, 'the slow call in flight');
        await eventually(() => fake.pending === 0, 'the slow answer');
      } finally {
        fake.latencyMs = 0;
      }
      fake.answer = 503;
      await eventually(
        async () => (await flags.getFlagResult('beta', 'user-1'))?.enabled === false,
        'the refreshed value as the fallback',
      );
    });

    it('lets a user with nothing cached wait for PostHog', async () => {
      const { flags } = await start({ fallbackAfterMs: 50 });
      fake.latencyMs = 300;
      try {
        expect(await flags.getFlagResult('beta', 'stranger')).toMatchObject({ source: 'remote' });
      } finally {
        fake.latencyMs = 0;
      }
    });

    it('waits for PostHog with 0', async () => {
      const { flags } = await start({ fallbackAfterMs: 0 });
      await flags.getAllFlags('user-1');
      fake.latencyMs = 300;
      try {
        expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'remote' });
      } finally {
        fake.latencyMs = 0;
      }
    });

    it('counts the calls going on behind the answers toward the breaker, as before', async () => {
      const { flags } = await start({ fallbackAfterMs: 20, timeoutMs: 200, circuitBreaker: { failureThreshold: 3 } });
      await flags.getAllFlags('user-1');
      fake.answer = 'hang';
      for (let call = 0; call < 3; call++) {
        expect(await flags.getFlagResult('beta', `user-1`)).toMatchObject({ source: 'fallback' });
        await eventually(
          () => fake.pending === 0 || flags.status().counts.upstreamFailures > call,
          'the call to time out',
        );
      }
      await eventually(() => flags.status().circuit === 'open', 'the breaker to open');
      expect(flags.status().counts.upstreamFailures).toBe(3);
    });
  });

  describe('coalescing', () => {
    it('sends one upstream call for concurrent evaluations of the same context', async () => {
      const { flags } = await start({});
      const calls = await callsDuring(() =>
        Promise.all([
          ...Array.from({ length: 10 }, () => flags.getFlagResult('beta', 'user-1')),
          ...Array.from({ length: 5 }, () =>
            flags.getFlagResult('beta', { distinctId: 'user-1', groups: { company: 'acme' } }),
          ),
          flags.getFlagResult('beta', 'user-2'),
          flags.getAllFlags('user-1'),
        ]),
      );
      expect(calls).toBe(4);
    });

    it('shares one cache read among concurrent fallbacks', async () => {
      const { flags, moduleRef } = await start({});
      await flags.getAllFlags('user-1');
      fake.answer = 503;
      const cache = moduleRef.get<FlagCache>(FLAG_CACHE);
      const read = jest.spyOn(cache, 'read');
      const results = await Promise.all(Array.from({ length: 10 }, () => flags.getFlagResult('beta', 'user-1')));
      expect(results.every((result) => result?.source === 'fallback')).toBe(true);
      expect(read).toHaveBeenCalledTimes(1);
    });

    it('joins a refresh behind the answer until its answer is in the cache, not only while its call is in flight', async () => {
      jest.useFakeTimers({ doNotFake: ONLY_DATE, now: Date.now() });
      const { flags, moduleRef } = await start({ cacheUrl: 'memory://local?fresh=5' });
      await flags.getAllFlags('user-1');
      const cache = moduleRef.get<FlagCache>(FLAG_CACHE);
      const write = cache.write.bind(cache);
      let finishWrite: (() => void) | undefined;
      jest.spyOn(cache, 'write').mockImplementation(async (...args) => {
        await new Promise<void>((resolve) => (finishWrite = resolve));
        return write(...args);
      });
      // Counted where calls start: a second refresh would be started, not yet on the wire, when evaluate returns.
      const calls = jest.spyOn(moduleRef.get(FlagsUpstream), 'evaluate');

      jest.setSystemTime(Date.now() + 7_500);
      const refreshedFrom = Date.now();
      expect((await flags.getFlagResults('user-1')).get('beta')?.source).toBe('cache');
      await eventually(async () => finishWrite !== undefined, 'the refresh to reach its cache write');
      expect((await flags.getFlagResults('user-1')).get('beta')?.source).toBe('cache');
      expect(calls).toHaveBeenCalledTimes(1);
      finishWrite!();
      const refreshed = async () =>
        ((await flags.getFlagResults('user-1')).get('beta')?.evaluatedAt.getTime() ?? 0) >= refreshedFrom;
      await eventually(refreshed, 'the refreshed entry in the cache');
      expect(calls).toHaveBeenCalledTimes(1);
    });

    it('starts a refresh behind the answer after the answer: the read that found it due does not make the call', async () => {
      jest.useFakeTimers({ doNotFake: ONLY_DATE, now: Date.now() });
      const { flags, moduleRef } = await start({ cacheUrl: 'memory://local?fresh=5' });
      await flags.getAllFlags('user-1');
      const calls = jest.spyOn(moduleRef.get(FlagsUpstream), 'evaluate');
      jest.setSystemTime(Date.now() + 7_500);
      expect((await flags.getFlagResults('user-1')).get('beta')?.source).toBe('cache');
      expect((await flags.getFlagResults('user-1')).get('beta')?.source).toBe('cache');
      expect(calls).not.toHaveBeenCalled();
      await new Promise(setImmediate);
      expect(calls).toHaveBeenCalledTimes(1);
    });

    it('gives each caller its own map', async () => {
      const { flags } = await start({});
      const [first, second] = await Promise.all([flags.getFlagResults('user-1'), flags.getFlagResults('user-1')]);
      first.delete('beta');
      expect(second.has('beta')).toBe(true);
    });
  });

  describe.each(['memory', 'redis'])('cache-first window (fresh) on %s', (backend) => {
    let redis: RedisServer | undefined;

    beforeAll(async () => {
      if (backend === 'redis') redis = await RedisServer.start();
    });

    afterAll(async () => {
      await redis?.stop();
    });

    const cacheUrl = (query: string) =>
      redis ? redis.url(`${query}&prefix=fresh-${Math.random().toString(36).slice(2)}:`) : `memory://local?${query}`;

    /** Waits until the cache has taken the writes of a call (immediate in memory, behind the answer in Redis). */
    async function settled(flags: FlagsHarness['flags']): Promise<void> {
      await eventually(async () => (await flags.getFlagResult('beta', 'probe-user'))?.source === 'cache', 'the write');
    }

    it('answers a result younger than fresh from the cache, refreshes it behind the answer past fresh, and waits past twice fresh', async () => {
      jest.useFakeTimers({ doNotFake: ONLY_DATE, now: Date.now() });
      const { flags } = await start({ cacheUrl: cacheUrl('fresh=5') });
      expect(await flags.getFlagResult('beta', 'probe-user')).toMatchObject({ source: 'remote' });
      await settled(flags);

      expect(await flags.getAllFlags('user-1')).toEqual({ beta: true, checkout: 'test', 'dark-mode': false });
      await eventually(async () => (await flags.getFlagResult('checkout', 'user-1'))?.source === 'cache', 'the write');
      expect(
        await callsDuring(async () => {
          expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: true, source: 'cache' });
          expect(await flags.getAllFlags('user-1')).toEqual({ beta: true, checkout: 'test', 'dark-mode': false });
          expect((await flags.getFlagResults('user-1')).get('dark-mode')?.source).toBe('cache');
        }),
      ).toBe(0);

      fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: false } });
      jest.setSystemTime(Date.now() + 7_500); // past every user's refresh point (1 to 1.5 × fresh)
      expect(
        await callsDuring(async () => {
          const answers = await Promise.all([1, 2, 3].map(() => flags.getFlagResult('beta', 'user-1')));
          expect(answers).toEqual(Array(3).fill(expect.objectContaining({ enabled: true, source: 'cache' })));
          await eventually(async () => (await flags.getFlagResult('beta', 'user-1'))?.enabled === false, 'the refresh');
        }),
      ).toBe(1);
      expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: false, source: 'cache' });

      fake.setFlags(STANDARD_FLAGS);
      jest.setSystemTime(Date.now() + 10_000);
      expect(
        await callsDuring(async () => {
          expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: true, source: 'remote' });
        }),
      ).toBe(1);
    });

    it('keeps answering from the cache when the refresh behind the answer fails, and reports the failure', async () => {
      jest.useFakeTimers({ doNotFake: ONLY_DATE, now: Date.now() });
      const { flags } = await start({ cacheUrl: cacheUrl('fresh=5') });
      await flags.getAllFlags('user-1');
      await eventually(async () => (await flags.getFlagResult('beta', 'user-1'))?.source === 'cache', 'the write');

      fake.answer = 503;
      jest.setSystemTime(Date.now() + 7_500);
      const failed = firstValueFrom(flags.events$.pipe(filter((event) => event.type === 'upstream_failed')));
      expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: true, source: 'cache' });
      expect(await failed).toMatchObject({ reason: 'http_503' });
      expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: true, source: 'cache' });
    });

    it('asks PostHog when fresh is 0 (the default)', async () => {
      const { flags } = await start({ cacheUrl: cacheUrl('ttl=60') });
      await flags.getAllFlags('user-1');
      expect(
        await callsDuring(async () => {
          expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'remote' });
        }),
      ).toBe(1);
    });
  });
});
