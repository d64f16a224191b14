import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { EPISODE_QUIET_MS, EPISODE_SUMMARY_MS } from '../src/util/log-episode.js';
import { PostHogClient } from '../src/upstream/posthog-client.js';
import { fakeClocks } from './support/clock.js';
import { FakePostHog, STANDARD_FLAGS, type FakeAnswer } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';

describe('fallback when PostHog fails', () => {
  let fake: FakePostHog;
  let harness: FlagsHarness;

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.setFlags(STANDARD_FLAGS);
    // Every answer waits for PostHog here (these tests count its retries); fallbackAfterMs has tests of its own.
    harness = await startFlags({ host: fake.url, timeoutMs: 200, retries: 1, fallbackAfterMs: 0 });
  });

  afterEach(async () => {
    jest.useRealTimers();
    jest.restoreAllMocks();
    await harness.moduleRef.close();
    await fake.stop();
  });

  /**
   * Evaluates every flag for user-1 live (a read of every flag), then beta again, so the cache knows them; returns
   * when the entries were written: at the first answer, the second being the same (an unchanged result is not
   * written again).
   */
  async function seeUser(): Promise<Date> {
    const first = (await harness.flags.evaluateFlags('user-1')).toMap().get('beta');
    const live = await harness.flags.getFlagResult('beta', 'user-1');
    expect([first?.source, live?.source]).toEqual(['remote', 'remote']);
    return first!.evaluatedAt;
  }

  const failures: FakeAnswer[] = [
    'hang',
    'reset',
    500,
    502,
    503,
    504,
    429,
    400,
    401,
    'html',
    'truncated',
    'wrong-shape',
    'quota-limited',
  ];

  it.each(failures)('serves the last known result when PostHog answers %p', async (failure) => {
    const liveAt = await seeUser();
    fake.answer = failure;

    const result = await harness.flags.getFlagResult('beta', 'user-1');
    expect(result).toMatchObject({ key: 'beta', enabled: true, payload: { color: 'blue' }, source: 'fallback' });
    expect(result!.evaluatedAt).toEqual(liveAt);
    expect(await harness.flags.getFlag('checkout', 'user-1')).toBe('test');
    expect(await harness.flags.isEnabled('dark-mode', 'user-1')).toBe(false);
    expect(await harness.flags.getAllFlags('user-1')).toEqual({ beta: true, checkout: 'test', 'dark-mode': false });
  });

  it.each(failures)('knows nothing of a never-seen user when PostHog answers %p', async (failure) => {
    fake.answer = failure;
    expect(await harness.flags.isEnabled('beta', 'stranger')).toBe(false);
    expect(await harness.flags.getFlag('beta', 'stranger')).toBeUndefined();
    expect(await harness.flags.getFlagPayload('beta', 'stranger')).toBeUndefined();
    expect(await harness.flags.getFlagResult('beta', 'stranger')).toBeUndefined();
    expect(await harness.flags.getAllFlags('stranger')).toEqual({});
  });

  it('serves the fallback while connections are refused, and live flags once PostHog is back', async () => {
    await seeUser();
    await fake.refuse();
    expect((await harness.flags.getFlagResult('beta', 'user-1'))?.source).toBe('fallback');
    await fake.accept();
    fake.setFlags({ beta: { enabled: false } });
    expect(await harness.flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: false, source: 'remote' });
  });

  it('logs one warning when it starts serving fallbacks and one line once PostHog has been back a while, with no secret', async () => {
    fakeClocks(Date.now());
    await seeUser();
    fake.answer = 503;
    for (let i = 0; i < 3; i++) await harness.flags.isEnabled('beta', 'user-1');
    fake.answer = 'flags';
    await harness.flags.isEnabled('beta', 'user-1');
    expect(harness.logs.at('log').filter((line) => line.includes('answers again'))).toHaveLength(0);
    jest.setSystemTime(Date.now() + EPISODE_QUIET_MS);
    await harness.flags.isEnabled('beta', 'user-1');
    await harness.flags.isEnabled('beta', 'user-1');

    const { logs } = harness;
    expect(logs.at('warn')).toHaveLength(1);
    expect(logs.at('warn')[0]).toContain('http_503');
    expect(logs.at('log').filter((line) => line.includes('answers again'))).toHaveLength(1);
    expect(logs.text).not.toContain(TEST_API_KEY);
  });

  it('says what was answered while PostHog fails: nothing from the fallback cache when it holds nothing', async () => {
    fakeClocks(Date.now());
    fake.answer = 503; // a fresh process (memory://, nothing cached) while PostHog is down
    for (let i = 0; i < 3; i++) await harness.flags.isEnabled('beta', `user-${i}`);
    jest.setSystemTime(Date.now() + EPISODE_SUMMARY_MS);
    await harness.flags.isEnabled('beta', 'user-9');

    const warnings = harness.logs.at('warn');
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).not.toMatch(/serving last known/);
    expect(warnings[1]).toMatch(/meanwhile 0 flags answered from the fallback cache, \d+ unknown/);

    fake.answer = 'flags';
    await seeUser();
    fake.answer = 503;
    expect(await harness.flags.getFlagResult('beta', 'user-1')).toMatchObject({ source: 'fallback' });
    jest.setSystemTime(Date.now() + EPISODE_SUMMARY_MS);
    await harness.flags.isEnabled('beta', 'user-1');
    expect(harness.logs.at('warn')[2]).toMatch(/meanwhile 1 flag answered from the fallback cache, 1 unknown/);
  });

  describe('retry policy, counted on the wire', () => {
    const cases: [string, FakeAnswer[], number, string][] = [
      ['502 then 200', [502], 2, 'remote'],
      ['504 then 200', [504], 2, 'remote'],
      ['a reset then 200', ['reset'], 2, 'remote'],
      ['a timeout then 200', ['hang'], 2, 'remote'],
      ['500', [500, 500], 1, 'fallback'],
      ['503', [503, 503], 1, 'fallback'],
      ['429', [429, 429], 1, 'fallback'],
      ['502 twice (retries bounded by 1)', [502, 502, 502], 2, 'fallback'],
    ];

    it.each(cases)('%s: %#', async (_name, answers, calls, source) => {
      await seeUser();
      const before = fake.requests.length;
      fake.queue(...answers);
      const result = await harness.flags.getFlagResult('beta', 'user-1');
      expect(fake.requests.length - before).toBe(calls);
      expect(result?.source).toBe(source);
    });

    it('does not retry a refused connection', async () => {
      await seeUser();
      await fake.refuse();
      // The first call after the close may meet the pooled socket's reset (retryable); from then on: refused.
      await harness.flags.getFlagResult('beta', 'user-1');
      const attempts = jest.spyOn(PostHogClient.prototype, 'requestFlags');
      expect((await harness.flags.getFlagResult('beta', 'user-1'))?.source).toBe('fallback');
      expect(attempts).toHaveBeenCalledTimes(1);
    });

    it('sends one call when retries is 0, and up to retries + 1 otherwise', async () => {
      const none = await startFlags({ host: fake.url, retries: 0 });
      const three = await startFlags({ host: fake.url, retries: 2 });
      try {
        fake.queue(502);
        let before = fake.requests.length;
        await none.flags.isEnabled('beta', 'user-1');
        expect(fake.requests.length - before).toBe(1);

        fake.queue(502, 504);
        before = fake.requests.length;
        expect((await three.flags.getFlagResult('beta', 'user-1'))?.source).toBe('remote');
        expect(fake.requests.length - before).toBe(3);
      } finally {
        await none.moduleRef.close();
        await three.moduleRef.close();
      }
    });
  });

  describe('flags PostHog could not evaluate', () => {
    it('answers a failed flag from the fallback and never overwrites the cached value with it', async () => {
      const liveAt = await seeUser();
      fake.setFlags({ beta: { enabled: true, failed: true }, checkout: { enabled: true, variant: 'control' } });
      expect(await harness.flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: true, source: 'fallback' });
      expect(await harness.flags.getAllFlags('user-1')).toEqual({
        beta: true,
        checkout: 'control',
        'dark-mode': false,
      });

      fake.answer = 503;
      const during = await harness.flags.getFlagResult('beta', 'user-1');
      expect(during).toMatchObject({ enabled: true, source: 'fallback' });
      expect(during!.evaluatedAt).toEqual(liveAt);
      expect(await harness.flags.getFlag('checkout', 'user-1')).toBe('control');
    });

    it('answers a flag missing while errorsWhileComputingFlags is true from the fallback', async () => {
      await seeUser();
      const checkout = { key: 'checkout', enabled: false, reason: { code: 'no_condition_match' } };
      fake.answer = (response) =>
        response.end(JSON.stringify({ flags: { checkout }, errorsWhileComputingFlags: true, requestId: 'r' }));
      expect(await harness.flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: true, source: 'fallback' });
      expect(await harness.flags.getAllFlags('user-1')).toEqual({ beta: true, checkout: false, 'dark-mode': false });
    });

    it('treats a flag missing from a complete answer as deleted, not as an outage', async () => {
      await seeUser();
      fake.setFlags({ checkout: { enabled: true, variant: 'test' } });
      expect(await harness.flags.getFlagResult('beta', 'user-1')).toBeUndefined();
      expect(await harness.flags.getAllFlags('user-1')).toEqual({ checkout: 'test' });
    });
  });

  it('accepts the v1 response shape', async () => {
    fake.answer = 'flags-v1';
    expect(await harness.flags.getFlagResult('checkout', 'user-1')).toMatchObject({
      enabled: true,
      variant: 'test',
      source: 'remote',
    });
    expect(await harness.flags.getFlagPayload('beta', 'user-1')).toEqual({ color: 'blue' });
    expect(await harness.flags.getAllFlags('user-1')).toEqual({ beta: true, checkout: 'test', 'dark-mode': false });
  });

  it('keeps a flag named __proto__ a plain key', async () => {
    fake.setFlags({ ['__proto__']: { enabled: true, payload: { polluted: true } }, beta: { enabled: true } });
    const all = await harness.flags.getAllFlags('user-1');
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
    expect(Object.keys(all).sort()).toEqual(['__proto__', 'beta']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await harness.flags.isEnabled('__proto__', 'user-1')).toBe(true);
  });

  it('rejects an empty distinct id or flag key with a TypeError naming the argument', async () => {
    await expect(harness.flags.isEnabled('beta', '')).rejects.toThrow(TypeError);
    await expect(harness.flags.isEnabled('beta', { distinctId: '' })).rejects.toThrow(/distinctId/);
    await expect(harness.flags.getFlag('', 'user-1')).rejects.toThrow(/key/);
    expect(fake.requests).toHaveLength(0);
  });
});
