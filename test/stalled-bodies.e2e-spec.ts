import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { standardDefinitions, TEST_SECRET_KEY } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { stallBody } from './support/fake-posthog.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/**
 * A body the module does not read (a 503, a `/batch/` 200) that stalls after its headers: the module's own timer
 * bounds it and closes its connection, so the connections undici holds are the calls the module counts, and
 * PostHog recovering is seen as soon as it recovers (undici alone would keep each such connection for 300 s).
 */
describe('bodies that stall after their headers', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  it('32 /flags answers of 503 whose bodies stall (every connection): the calls after PostHog recovers are live', async () => {
    // Long enough for 32 new connections' headers on a loaded CI host (at 500 ms one call timed out before its 503
    // once): the stalled bodies still end at it, each on its own timer.
    const { flags } = await started.start({ timeoutMs: 2_000, circuitBreaker: false });
    fake.answer = (response) => stallBody(response, 503);
    const during = await Promise.all(Array.from({ length: 32 }, (_, i) => flags.getFlagResult('beta', `stalled-${i}`)));
    expect(during).toEqual(Array(32).fill(undefined));
    expect(flags.status().lastFailure?.reason).toBe('http_503');

    fake.answer = 'flags';
    const after = await Promise.all(
      Array.from({ length: 40 }, (_, i) => flags.getFlagResult('beta', `recovered-${i}`)),
    );
    expect(after.map((result) => result?.source)).toEqual(Array(40).fill('remote'));
  });

  it('a /flags/definitions 503 whose body stalls: polling goes on, the definitions load', async () => {
    fake.definitions = undefined;
    fake.definitionsAnswer = 'stall';
    const { flags } = await started.start({
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
    });
    await eventually(() => fake.definitionsRequests.length === 1, 'the first poll');
    fake.definitions = standardDefinitions();
    fake.definitionsAnswer = undefined;
    // The stalled poll ends at its 10 s timer (a 503); the next poll loads.
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions to load', 20_000);
    expect(flags.status().definitions.lastFailure?.reason).toBe('http_503');
  }, 30_000);

  it('four /batch/ 200s whose bodies stall (every connection): later exposures are delivered, none twice', async () => {
    let answered = 0;
    fake.batchAnswer = () => (++answered <= 4 ? 'stall' : 'ok');
    const { flags } = await started.start({ eventQueue: { flushAt: 1, timeoutMs: 500 } });
    const delivered = () => fake.events.filter((event) => event.distinct_id.startsWith('batch-'));
    for (let i = 0; i < 4; i++) await flags.isEnabled('beta', `batch-stalled-${i}`);
    await eventually(() => answered === 4, 'four batches accepted, their bodies stalling');

    for (let i = 0; i < 10; i++) await flags.isEnabled('beta', `batch-after-${i}`);
    await eventually(() => delivered().length === 14, 'every exposure delivered', 15_000);
    expect(new Set(delivered().map((event) => event.distinct_id)).size).toBe(14);
    await eventually(() => flags.status().exposures.sent === 14, 'every exposure counted as sent');
  }, 30_000);
});
