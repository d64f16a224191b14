import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { ONLY_DATE } from './support/clock.js';
import { eventually } from './support/eventually.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** How far the wall clock is stepped back: NTP correcting a fast clock, a VM resumed from a snapshot. */
const STEP_BACK_MS = 10 * 60_000;

describe('durations on the monotonic clock: a wall clock stepped back moves none', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  it('the open circuit still probes resetTimeoutMs after it opened, and closes once PostHog answers', async () => {
    // Only `Date` is faked: timers, I/O and `performance.now()` run for real.
    jest.useFakeTimers({ doNotFake: ONLY_DATE, now: Date.now() });
    const { flags } = await started.start({ circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 1000 } });
    fake.answer = 503;
    await flags.getFlagResult('beta', 'u-clock');
    expect(flags.status().circuit).toBe('open');

    jest.setSystemTime(Date.now() - STEP_BACK_MS);
    fake.answer = 'flags';
    await eventually(
      async () => (await flags.getFlagResult('beta', 'u-clock'))?.source === 'remote',
      'a probe once resetTimeoutMs passed, then a live answer',
      5000,
    );
    expect(flags.status().circuit).toBe('closed');
  });

  it('exposure events wait out their backoff after a failed batch, the wall clock jumping ahead or not', async () => {
    jest.useFakeTimers({ doNotFake: ONLY_DATE, now: Date.now() });
    const { flags, moduleRef } = await started.start({ eventQueue: { flushAt: 1000 } });
    const queue = moduleRef.get(ExposureQueue);
    const attempts = () => fake.refusedBatches + fake.batches.length;
    const before = attempts();
    fake.batchAnswer = 503;
    queue.exposed({ distinctId: 'u-backoff' }, { key: 'beta', response: true, properties: () => ({}) });
    await queue.flush();
    expect(attempts() - before).toBe(1);

    jest.setSystemTime(Date.now() + STEP_BACK_MS);
    fake.batchAnswer = 'ok';
    await queue.flush();
    expect(attempts() - before).toBe(1);
    await eventually(() => flags.status().exposures.sent === 1, 'the retry after its backoff (1 s)');
  });
});
