import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { gzipSync } from 'node:zlib';
import { encodePythonEntry } from '../src/cache/python-entry.js';
import { EPISODE_QUIET_MS, EPISODE_SUMMARY_MS } from '../src/util/log-episode.js';
import { Test } from '@nestjs/testing';
import { FLAG_CACHE } from '../src/flags.constants.js';
import { FlagsModule, FlagsService } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { fakeClocks } from './support/clock.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { RedisServer } from './support/redis-server.js';

/** The hardening issue's findings, each as the behaviour it must have now. */
describe('hardening', () => {
  const fake = useFakePostHog();
  const { start, harnesses } = useStartedFlags(fake);
  let redis: RedisServer;
  let inspect: Redis;
  let prefix: string;
  let testNumber = 0;

  /** A cache URL on this test's prefix of the test Redis. */
  const redisUrl = (query = '') => redis.url(`prefix=${prefix}${query ? `&${query}` : ''}`);

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspect = new Redis({ port: redis.port, lazyConnect: true });
    await inspect.connect();
  });

  beforeEach(() => {
    prefix = `h${++testNumber}:`;
  });

  afterAll(async () => {
    inspect.disconnect();
    await redis.stop();
  });

  describe('1. the fresh window answers only the context a result was evaluated for', () => {
    it.each([
      ['groups', { groups: { company: 'A' } }, { groups: { company: 'B' } }],
      ['person properties', { personProperties: { plan: 'free' } }, { personProperties: { plan: 'pro' } }],
      [
        'group properties',
        { groupProperties: { company: { size: 1 } } },
        { groupProperties: { company: { size: 9 } } },
      ],
    ])('%s, in memory and in Redis', async (_name, first, second) => {
      for (const cacheUrl of ['memory://local?fresh=60', redisUrl('fresh=60')]) {
        const { flags } = await start({ cacheUrl });
        fake.setFlags({ beta: { enabled: true } });
        expect(await flags.getFlagResult('beta', { distinctId: 'u1', ...first })).toMatchObject({
          enabled: true,
          source: 'remote',
        });
        await eventually(
          async () => (await flags.getFlagResult('beta', { distinctId: 'u1', ...first }))?.source === 'cache',
          'cached',
        );

        fake.setFlags({ beta: { enabled: false } });
        expect(await flags.getFlagResult('beta', { distinctId: 'u1', ...second })).toMatchObject({
          enabled: false,
          source: 'remote',
        });
        fake.answer = 503;
        const other = { distinctId: 'u1', personProperties: { plan: 'enterprise' } };
        expect(await flags.getFlagResult('beta', other)).toMatchObject({ enabled: false, source: 'fallback' });
        fake.answer = 'flags';
      }
    });

    it('answers every flag from a remembered read only for the context it was evaluated for', async () => {
      const { flags } = await start({ cacheUrl: 'memory://local?fresh=60' });
      const pro = { distinctId: 'u1', personProperties: { plan: 'pro' } };
      await flags.getFlagResults(pro);
      await eventually(
        async () => (await flags.getFlagResults(pro)).get('beta')?.source === 'cache',
        'every flag cached',
      );
      const free = { distinctId: 'u1', personProperties: { plan: 'free' } };
      expect((await flags.getFlagResults(free)).get('beta')?.source).toBe('remote');
    });

    it('treats key order at any depth as the same context', async () => {
      const { flags } = await start({ cacheUrl: 'memory://local?fresh=60' });
      const one = { distinctId: 'u1', groupProperties: { company: { a: 1, b: { c: 1, d: 2 } } } };
      const same = { distinctId: 'u1', groupProperties: { company: { b: { d: 2, c: 1 }, a: 1 } } };
      await flags.getFlagResult('beta', one);
      await eventually(
        async () => (await flags.getFlagResult('beta', same))?.source === 'cache',
        'the same context cached',
      );
    });
  });

  it('2. never prints a Redis password holding "#" or "?", in the startup error or a log line', async () => {
    for (const password of ['pa#ss', 'pa?ss', 'p/ss']) {
      const logs = new CaptureLogger();
      const cacheUrl = `redis://default:${password}@127.0.0.1:${redis.port}/0`;
      const failure = await startFlags({ host: fake.url, cacheUrl }, logs).then(
        () => new Error('started'),
        (error: Error) => error,
      );
      expect(failure.message).toMatch(/percent-encode/);
      expect(`${failure.message} ${failure.stack} ${logs.text}`).not.toContain(password);
    }
  });

  it('3. follows no redirect: a 3xx is a failure, and the other host never sees the key', async () => {
    const other = await FakePostHog.start();
    try {
      const { flags } = await start();
      await flags.getAllFlags('u1');
      for (const status of [301, 302, 307, 308]) {
        fake.answer = (response) => response.writeHead(status, { Location: `${other.url}/flags/?v=2` }).end();
        expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'fallback' });
        expect(flags.status().lastFailure?.reason).toBe(`http_${status}`);
      }
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.stop();
    }
  });

  it("4. a 4xx about one caller's request falls back for that call alone and never opens the circuit", async () => {
    const { flags } = await start({ circuitBreaker: { failureThreshold: 3 } });
    await flags.getAllFlags('u1');
    for (const status of [400, 413, 422]) {
      fake.queue(status, status, status, status);
      for (let call = 0; call < 4; call++) {
        expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'fallback' });
      }
    }
    expect(flags.status().circuit).toBe('closed');
    expect(await flags.getFlagResult('beta', 'u2')).toMatchObject({ source: 'remote' });

    fake.queue(429, 429, 429);
    for (let call = 0; call < 3; call++) await flags.getFlagResult('beta', 'u1');
    expect(flags.status().circuit).toBe('open');
  });

  describe('5. a few log lines a minute in any failure pattern', () => {
    it('one in ten PostHog calls failing: a line when it starts, a summary a minute, a line when healthy again', async () => {
      fakeClocks();
      const { flags, logs } = await start({ circuitBreaker: false });
      const flap = async (calls: number) => {
        for (let call = 0; call < calls; call++) {
          if (call % 10 === 0) fake.queue(500);
          await flags.isEnabled('beta', `user-${call}`);
        }
      };
      await flap(300);
      expect(logs.at('warn')).toEqual([expect.stringContaining('PostHog /flags unavailable (http_500)')]);
      jest.setSystemTime(Date.now() + EPISODE_SUMMARY_MS);
      await flap(300);
      expect(logs.at('warn')).toHaveLength(2);
      expect(logs.at('warn')[1]).toMatch(/still failing: \d+ more failed or refused calls .*\(last: http_500\)/);
      expect(logs.at('log').filter((line) => line.includes('answers again'))).toEqual([]);

      jest.setSystemTime(Date.now() + EPISODE_QUIET_MS);
      await flags.isEnabled('beta', 'user-healthy');
      expect(logs.at('log').filter((line) => line.includes('answers again'))).toHaveLength(1);
      expect(logs.lines.filter((line) => line.message.includes('PostHog'))).toHaveLength(3);
    });

    it('a Redis that serves reads and rejects writes: one line, not one per write', async () => {
      const logs = new CaptureLogger();
      const { flags } = await start({ cacheUrl: redisUrl() }, logs);
      await inspect.config('SET', 'maxmemory', '1');
      try {
        for (let call = 0; call < 200; call++) await flags.isEnabled('beta', `user-${call}`);
        await eventually(() => logs.text.includes('fallback cache failed'), 'the write failure to be logged');
      } finally {
        await inspect.config('SET', 'maxmemory', '0');
      }
      expect(logs.at('warn').filter((line) => line.includes('fallback cache'))).toHaveLength(1);
    });
  });

  it('6. every evaluation in flight at close() settles with what the Redis cache holds', async () => {
    const users = Array.from({ length: 1000 }, (_, index) => `user-${index}`);
    const beta = encodePythonEntry({ key: 'beta', enabled: true, evaluatedAt: new Date() }, '');
    await inspect.mset(...users.flatMap((user) => [`${prefix}${user}:beta`, beta]));
    const harness = await startFlags({
      host: fake.url,
      retries: 0,
      timeoutMs: 60_000,
      cacheUrl: redisUrl(),
      maxConcurrentRequests: 1000,
    });
    fake.answer = 'hang';
    const answers = users.map((user) => harness.flags.getFlagResult('beta', user));
    await eventually(() => fake.pending === users.length, 'every call to reach PostHog');
    await harness.moduleRef.close();
    const results = await Promise.all(answers);
    expect(results.filter((result) => result?.source === 'fallback' && result.enabled)).toHaveLength(users.length);
    await eventually(() => fake.pending === 0, 'every aborted call to be closed at the fake');
  });

  it('6. close() waits for the evaluations in flight to read the cache before it closes the cache', async () => {
    /** A cache whose reads answer on the next turn of the event loop, and which answers nothing once closed. */
    const slowCache = {
      backend: 'slow',
      connected: true,
      closed: false,
      read: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        const beta = { key: 'beta', enabled: true, evaluatedAt: new Date() };
        return slowCache.closed ? { flags: [], complete: false } : { flags: [beta], complete: true };
      },
      write: async () => {},
      close: async () => {
        slowCache.closed = true;
      },
    };
    const moduleRef = await Test.createTestingModule({
      imports: [FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, retries: 0, timeoutMs: 60_000 })],
    })
      .overrideProvider(FLAG_CACHE)
      .useValue(slowCache)
      .setLogger(new CaptureLogger())
      .compile();
    await moduleRef.init();
    fake.answer = 'hang';
    const answer = moduleRef.get(FlagsService).getFlagResult('beta', 'u1');
    await eventually(() => fake.pending === 1, 'the call to reach PostHog');
    await moduleRef.close();
    expect(await answer).toMatchObject({ enabled: true, source: 'fallback' });
    expect(slowCache.closed).toBe(true);
  });

  it('7. after close(), no network: what is known without I/O, at once', async () => {
    const harness = await startFlags({ host: fake.url, retries: 0, timeoutMs: 10_000 });
    await harness.flags.getAllFlags('u1');
    await harness.moduleRef.close();
    fake.answer = 'hang';
    const before = fake.requests.length;
    expect(await harness.flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: true, source: 'fallback' });
    expect(await harness.flags.getFlagResult('beta', 'stranger')).toBeUndefined();
    expect(fake.requests.length).toBe(before);
    expect(harness.logs.at('warn')).toEqual([]);
  });

  describe('8. a /flags body is read only up to maxResponseBytes (decoded)', () => {
    const bigBody = JSON.stringify({
      flags: { beta: { key: 'beta', enabled: true, metadata: { payload: 'x'.repeat(2 ** 21) } } },
    });

    it.each([
      ['a 2 MiB body', (response: import('node:http').ServerResponse) => response.writeHead(200).end(bigBody)],
      [
        'a gzip bomb',
        (response: import('node:http').ServerResponse) =>
          response
            .writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' })
            .end(gzipSync(bigBody)),
      ],
    ])('%s is too_large and falls back', async (_name, answer) => {
      const { flags } = await start();
      await flags.getAllFlags('u1');
      fake.answer = answer;
      expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: true, source: 'fallback' });
      expect(flags.status().lastFailure?.reason).toBe('too_large');
    });

    it('a body within the bound is read, compressed or not', async () => {
      const { flags } = await start({ maxResponseBytes: 4 * 2 ** 20 });
      fake.answer = (response) => response.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync(bigBody));
      expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: true, source: 'remote' });
    });
  });

  it('9. distinct ids that are not well-formed UTF-16 never touch the Redis cache (warned once)', async () => {
    const { flags, logs } = await start({ cacheUrl: redisUrl() });
    await flags.getAllFlags('victim\uFFFD');
    await eventually(() => inspect.get(`${prefix}victim\uFFFD:beta`), "the victim's entry in Redis");
    fake.setFlags({ beta: { enabled: false } });
    await flags.getAllFlags('victim\uD800');
    await flags.getAllFlags('victim\uDFFF');
    fake.answer = 503;
    expect(await flags.getFlagResult('beta', 'victim\uD800')).toBeUndefined();
    expect(await flags.getFlagResult('beta', 'victim\uFFFD')).toMatchObject({ enabled: true, source: 'fallback' });
    expect(JSON.parse((await inspect.get(`${prefix}victim\uFFFD:beta`))!).flag_result.enabled).toBe(true);
    expect(logs.at('warn').filter((line) => line.includes('not well-formed UTF-16'))).toHaveLength(1);
  });

  it('10. an entry from the future is never fresh, and still a fallback', async () => {
    const future = encodePythonEntry(
      { key: 'beta', enabled: false, evaluatedAt: new Date(Date.now() + 86_400_000) },
      '',
    );
    await inspect.set(`${prefix}u1:beta`, future);
    const { flags } = await start({ cacheUrl: redisUrl('fresh=60') });
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: true, source: 'remote' });
    await eventually(
      async () => JSON.parse((await inspect.get(`${prefix}u1:beta`))!).flag_result.enabled,
      'the refresh',
    );

    await inspect.set(`${prefix}u2:beta`, future);
    fake.answer = 503;
    expect(await flags.getFlagResult('beta', 'u2')).toMatchObject({ enabled: false, source: 'fallback' });
  });

  it('11. at most maxConcurrentRequests calls in flight: known users answered from the cache, others queued then unknown', async () => {
    const { flags } = await start({ maxConcurrentRequests: 4, timeoutMs: 60_000 });
    const known = Array.from({ length: 50 }, (_, index) => `known-${index}`);
    for (const user of known) await flags.getAllFlags(user);
    fake.answer = 'hang';
    const before = fake.requests.length;
    const strangers = Array.from({ length: 200 }, (_, index) => flags.getFlagResult('beta', `stranger-${index}`));
    await eventually(() => fake.pending === 4, 'the four slots to be taken');
    const knownAnswers = await Promise.all(known.map((user) => flags.getFlagResult('beta', user)));
    expect(knownAnswers.every((result) => result?.source === 'fallback' && result.enabled)).toBe(true);
    expect(flags.status().lastFailure?.reason).toBe('overloaded');
    expect(fake.requests.length - before).toBe(4);
    expect(fake.maxPending).toBe(4);
    await Promise.all(harnesses.splice(0).map((harness) => harness.moduleRef.close()));
    expect((await Promise.all(strangers)).every((result) => result === undefined)).toBe(true);
  });

  it('rejects malformed arguments with TypeErrors naming them', async () => {
    const { flags } = await start();
    await expect(flags.getFlagResults('u', 'beta' as never)).rejects.toThrow(/keys must be an array/);
    await expect(flags.getFlagResults('u', ['beta'], { reuseUntil: 5 as never })).rejects.toThrow(
      /reuseUntil must be a promise/,
    );
    await expect(flags.isEnabled('beta', { distinctId: 'u', groups: { company: 5 as never } })).rejects.toThrow(
      /groups\["company"\] must be a string/,
    );
    await expect(flags.isEnabled('beta', { distinctId: 'u', groups: 'company' as never })).rejects.toThrow(TypeError);
    expect(
      fake.requests.filter((request) => request.body.token === TEST_API_KEY && request.body.distinct_id === 'u'),
    ).toEqual([]);
  });
});
