import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { LIBRARY_VERSION } from '../src/flags.constants.js';
import type { FlagResult, FlagsEvent } from '../src/index.js';
import { MAX_BATCHES_IN_FLIGHT } from '../src/exposures/batch-client.js';
import type { FlagCalled } from '../src/exposures/flag-called.js';
import { CaptureLogger } from './support/capture-logger.js';
import { eventually } from './support/eventually.js';
import { forceGc } from './support/force-gc.js';
import { STANDARD_FLAGS } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { startGuardedApp } from './support/guarded-app.js';

describe('exposure events ($feature_flag_called)', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  async function start(options: Parameters<typeof startFlags>[0] = {}, logs = new CaptureLogger()) {
    const harness = await started.start(options, logs);
    return { ...harness, queue: harness.moduleRef.get(ExposureQueue) };
  }

  /** The exposure events PostHog received for `distinctId`. */
  const eventsOf = (distinctId: string) =>
    fake.events.filter((event) => event.event === '$feature_flag_called' && event.distinct_id === distinctId);

  it("sends posthog-node's properties for remote, cache and fallback results, gzipped, the key in the body only", async () => {
    const { flags, queue } = await start({ cacheUrl: 'memory://local?fresh=60' });
    expect(await flags.getFlag('checkout', 'u-remote')).toBe('test');
    await flags.getAllFlags('u-cache');
    expect((await flags.getFlagResult('beta', 'u-cache'))?.source).toBe('cache');
    await flags.getAllFlags('u-fallback');
    fake.answer = 503;
    expect(
      (await flags.getFlagResult('dark-mode', { distinctId: 'u-fallback', groups: { company: 'acme' } }))?.source,
    ).toBe('fallback');
    await queue.flush();

    const common = {
      locally_evaluated: false,
      $lib: 'nestjs-posthog-flags',
      $lib_version: LIBRARY_VERSION,
      $geoip_disable: true,
    };
    expect(eventsOf('u-remote').map((event) => event.properties)).toEqual([
      {
        ...common,
        $feature_flag: 'checkout',
        $feature_flag_response: 'test',
        '$feature/checkout': 'test',
        $feature_flag_id: 1,
        $feature_flag_version: 1,
        $feature_flag_reason: 'Condition set 1 matched',
        $feature_flag_request_id: 'fake-request',
        $feature_flag_evaluated_at: expect.any(Number),
      },
    ]);
    expect(eventsOf('u-cache').map((event) => event.properties)).toEqual([
      expect.objectContaining({ ...common, $feature_flag: 'beta', $feature_flag_response: true, $feature_flag_id: 1 }),
    ]);
    expect(eventsOf('u-cache')[0]!.properties).not.toHaveProperty('$feature_flag_request_id');
    expect(eventsOf('u-fallback').map((event) => event.properties)).toEqual([
      expect.objectContaining({
        $feature_flag: 'dark-mode',
        $feature_flag_response: false,
        $groups: { company: 'acme' },
      }),
    ]);
    const batch = fake.batches.at(-1)!;
    expect(batch.headers['content-encoding']).toBe('gzip');
    expect(batch.body.api_key).toBe(TEST_API_KEY);
    expect(batch.headers.authorization).toBeUndefined();
    expect(fake.events.every((event) => typeof (event as { uuid?: string }).uuid === 'string')).toBe(true);
  });

  it('sends one event per distinct id, flag and response (and groups); an unknown flag once, as flag_missing', async () => {
    const { flags, queue } = await start();
    for (let call = 0; call < 3; call++) await flags.isEnabled('beta', 'u-dedup');
    await flags.isEnabled('beta', { distinctId: 'u-dedup', groups: { company: 'a' } });
    fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: false } });
    await flags.isEnabled('beta', 'u-dedup');
    await flags.isEnabled('nope', 'u-dedup');
    await queue.flush();
    const events = eventsOf('u-dedup').map((event) => event.properties);
    expect(events.map((properties) => properties.$feature_flag_response)).toStrictEqual([true, true, false, undefined]);
    expect(events[3]).toMatchObject({ $feature_flag: 'nope', $feature_flag_error: 'flag_missing' });
  });

  it('sends nothing for getFlagPayload, getAllFlags, getFlagResults, or sendFeatureFlagEvents: false per call or module', async () => {
    const { flags, queue } = await start();
    await flags.getFlagPayload('beta', 'u-quiet');
    await flags.getAllFlags('u-quiet');
    await flags.getFlagResults('u-quiet', ['beta']);
    await flags.isEnabled('beta', 'u-quiet', { sendFeatureFlagEvents: false });
    await flags.getFlagResult('checkout', 'u-quiet', { sendFeatureFlagEvents: false });
    await queue.flush();
    const off = await start({ sendFeatureFlagEvents: false });
    await off.flags.isEnabled('beta', 'u-off');
    await off.queue.flush();
    expect([...eventsOf('u-quiet'), ...eventsOf('u-off')]).toEqual([]);
    expect(off.flags.status().exposures).toEqual({ queued: 0, sent: 0, dropped: 0 });
  });

  it('sends the guard’s exposures, one per flag it checked, none for sendFeatureFlagEvents: false', async () => {
    const app: INestApplication = await startGuardedApp('express', { host: fake.url });
    try {
      await request(app.getHttpServer()).get('/features/beta-and-checkout').set('x-test-user', 'u-guard').expect(200);
      await request(app.getHttpServer()).get('/features/quiet-beta').set('x-test-user', 'u-guard-quiet').expect(200);
      await app.get(ExposureQueue).flush();
      expect(
        eventsOf('u-guard')
          .map((event) => event.properties.$feature_flag)
          .sort(),
      ).toEqual(['beta', 'checkout']);
      expect(eventsOf('u-guard-quiet')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('sends a batch once flushAt events are queued, and what is queued every flushIntervalMs', async () => {
    const bySize = await start({ eventQueue: { flushAt: 3, flushIntervalMs: 3_600_000 } });
    for (const user of ['s-1', 's-2']) await bySize.flags.isEnabled('beta', user);
    expect(bySize.flags.status().exposures.queued).toBe(2);
    await bySize.flags.isEnabled('beta', 's-3');
    await eventually(() => eventsOf('s-3').length === 1, 'the batch of three');
    expect(['s-1', 's-2'].map((user) => eventsOf(user).length)).toEqual([1, 1]);

    const byTime = await start({ eventQueue: { flushAt: 1000, flushIntervalMs: 20 } });
    await byTime.flags.isEnabled('beta', 't-1');
    await eventually(() => eventsOf('t-1').length === 1, 'the interval to send it');
  });

  it('keeps events through a capture outage, bounded and counted, never slowing a request; delivers them after', async () => {
    const logs = new CaptureLogger();
    const { flags, queue } = await start({ eventQueue: { flushAt: 1, maxQueueSize: 5 } }, logs);
    fake.batchAnswer = 503;
    for (let user = 0; user < 20; user++) expect(await flags.isEnabled('beta', `down-${user}`)).toBe(true);
    await eventually(() => fake.refusedBatches > 0, 'a failed batch');
    await queue.flush();
    const during = flags.status().exposures;
    expect(during.queued).toBe(5);
    expect(during.dropped).toBe(15);
    expect(during.lastFailure?.reason).toBe('http_503');
    expect(logs.at('warn').filter((line) => line.includes('exposure queue full'))).toHaveLength(1);

    fake.batchAnswer = 'ok';
    await eventually(() => flags.status().exposures.sent === 5, 'the retry after the outage', 15_000);
    expect(
      fake.events.filter((event) => event.distinct_id.startsWith('down-')).map((event) => event.distinct_id),
    ).toEqual(['down-15', 'down-16', 'down-17', 'down-18', 'down-19']);
    expect(logs.text).not.toContain(TEST_API_KEY);
  });

  it('never retries a batch PostHog refused with a 4xx: it is dropped and counted', async () => {
    const { flags, queue } = await start({ eventQueue: { flushAt: 1000 } });
    const events: FlagsEvent[] = [];
    const subscription = flags.events$.subscribe((event) => events.push(event));
    await flags.isEnabled('beta', 'u-400');
    fake.batchAnswer = 400;
    const refusedBefore = fake.refusedBatches;
    await queue.flush();
    await queue.flush();
    expect(fake.refusedBatches - refusedBefore).toBe(1);
    expect(flags.status().exposures).toMatchObject({ queued: 0, dropped: 1, lastFailure: { reason: 'http_400' } });
    subscription.unsubscribe();
    const failures = events.filter((event) => event.type === 'upstream_failed');
    expect(failures).toEqual([
      { type: 'upstream_failed', endpoint: 'batch', reason: 'http_400', at: expect.any(Date) },
    ]);
  });

  it('sends what is queued when the application closes', async () => {
    const harness = await startFlags({ host: fake.url, eventQueue: { flushAt: 1000, flushIntervalMs: 3_600_000 } });
    for (const user of ['c-1', 'c-2', 'c-3']) await harness.flags.isEnabled('beta', user);
    expect(eventsOf('c-1')).toEqual([]);
    await harness.moduleRef.close();
    expect(['c-1', 'c-2', 'c-3'].map((user) => eventsOf(user).length)).toEqual([1, 1, 1]);
  });

  /** One read of `beta`, as a snapshot reports it. */
  const BETA_CALLED: FlagCalled = { key: 'beta', response: true, properties: () => ({ $feature_flag: 'beta' }) };

  /** Queues the exposure of `distinctId` to `beta` straight away (no `/flags` call). */
  const expose = (queue: ExposureQueue, distinctId: string) => queue.exposed({ distinctId }, BETA_CALLED);

  it('drops a repeated read of the same result, and still sends it once for another user and for other groups', async () => {
    const { queue } = await start({ eventQueue: { flushAt: 1000 } });
    const result: FlagResult = Object.freeze({ key: 'beta', enabled: true, source: 'cache', evaluatedAt: new Date() });
    const called: FlagCalled = { ...BETA_CALLED, result };
    for (const distinctId of ['r-1', 'r-1', 'r-2', 'r-2', 'r-1']) queue.exposed({ distinctId }, called);
    for (let read = 0; read < 2; read++) queue.exposed({ distinctId: 'r-1', groups: { company: 'acme' } }, called);
    await queue.flush();
    expect(eventsOf('r-1')).toHaveLength(2);
    expect(eventsOf('r-2')).toHaveLength(1);
  });

  it('abandons a hanging /batch/ request on its own timer, garbage collections or not, and sends the events after', async () => {
    const logs = new CaptureLogger();
    const { flags, queue } = await start({ eventQueue: { flushAt: 1, timeoutMs: 1000 } }, logs);
    fake.batchAnswer = 'hang';
    expose(queue, 'u-hang');
    await eventually(() => fake.pendingBatches === 1, 'the batch to reach PostHog and hang');
    forceGc();
    fake.batchAnswer = 'ok';
    await eventually(() => flags.status().exposures.sent === 1, 'the batch sent again after its timeout', 8_000);
    expect(eventsOf('u-hang')).toHaveLength(1);
    expect(flags.status().exposures).toMatchObject({ queued: 0, lastFailure: { reason: 'timeout' } });
    expect(logs.at('warn')).toEqual([expect.stringContaining('exposure events not delivered (timeout)')]);
  });

  it('splits a batch PostHog answers 413 to, down to single events; drops one refused alone, counted, and says so', async () => {
    const logs = new CaptureLogger();
    const { flags, queue } = await start({ eventQueue: { flushAt: 1000 } }, logs);
    const users = Array.from({ length: 25 }, (_, index) => (index === 13 ? 'u-huge' : `u-413-${index}`));
    for (const user of users) expose(queue, user);
    fake.batchAnswer = (body) =>
      body.batch.length > 6 || body.batch.some((event) => event.distinct_id === 'u-huge') ? 413 : 'ok';
    await queue.flush();
    expect(
      fake.events
        .map((event) => event.distinct_id)
        .filter((user) => user.startsWith('u-413-') || user === 'u-huge')
        .sort(),
    ).toEqual(users.filter((user) => user !== 'u-huge').sort());
    expect(flags.status().exposures).toMatchObject({
      queued: 0,
      sent: 24,
      dropped: 1,
      lastFailure: { reason: 'http_413' },
    });
    expect(logs.at('warn')).toEqual([
      expect.stringContaining(
        'PostHog refused exposure events (http_413: a batch of 25 events too large, sent again in smaller batches; ' +
          '1 events too large even alone dropped); drops counted in status().exposures.dropped',
      ),
    ]);
    expect(logs.text).not.toContain('sent again later');
  });

  it(`sends up to ${MAX_BATCHES_IN_FLIGHT} batches at once, never more`, async () => {
    const { flags, queue } = await start({ eventQueue: { flushAt: 1000 } });
    fake.batchLatencyMs = 30;
    for (let user = 0; user < 1000; user++) expose(queue, `u-many-${user}`);
    await queue.flush();
    expect(flags.status().exposures).toMatchObject({ queued: 0, sent: 1000 });
    expect(fake.maxPendingBatches).toBe(MAX_BATCHES_IN_FLIGHT);
  });

  it('says in one line how many events it drops at close when PostHog is down', async () => {
    const harness = await startFlags({ host: fake.url, eventQueue: { flushAt: 1000, flushIntervalMs: 3_600_000 } });
    for (let user = 0; user < 12; user++) expose(harness.moduleRef.get(ExposureQueue), `u-close-${user}`);
    fake.batchAnswer = 503;
    expect(harness.flags.status().exposures.queued).toBe(12);
    await harness.moduleRef.close();
    expect(harness.flags.status().exposures).toMatchObject({ queued: 0, sent: 0, dropped: 12 });
    expect(harness.logs.at('warn').filter((line) => line.includes('closing'))).toEqual([
      expect.stringContaining(
        'application closing: 12 exposure events not delivered to PostHog were dropped (last failure: http_503)',
      ),
    ]);
  });

  it('gives a hanging /batch/ 2 s at close, then aborts it and says how many events it drops', async () => {
    const harness = await startFlags({ host: fake.url, eventQueue: { flushAt: 1000, flushIntervalMs: 3_600_000 } });
    for (let user = 0; user < 5; user++) expose(harness.moduleRef.get(ExposureQueue), `u-hang-close-${user}`);
    fake.batchAnswer = 'hang';
    await harness.moduleRef.close();
    expect(harness.flags.status().exposures).toMatchObject({ queued: 0, sent: 0, dropped: 5 });
    expect(harness.logs.at('warn')).toEqual([
      expect.stringContaining(
        'application closing: 5 exposure events not delivered to PostHog were dropped (no answer',
      ),
    ]);
    await eventually(() => fake.pendingBatches === 0, 'the hanging batch aborted');
    expect(fake.maxPendingBatches).toBe(1);
  });
});
