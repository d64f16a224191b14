import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { PostHog } from 'posthog-node';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import type { FlagsModuleOptions } from '../src/index.js';
import { eventually } from './support/eventually.js';
import type { FakeAnswer, FakePostHog } from './support/fake-posthog.js';
import type { FlagsHarness } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** A `/flags` v2 answer: `plain` on, `broken` failed on the server, with `errorsWhileComputingFlags` as given. */
function answer(incomplete: boolean, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    flags: {
      plain: {
        key: 'plain',
        enabled: true,
        reason: { code: 'condition_match', description: 'Matched' },
        metadata: { id: 1, version: 2, has_experiment: false },
      },
      ...(incomplete ? { broken: { key: 'broken', enabled: false, failed: true, metadata: { id: 2 } } } : {}),
    },
    errorsWhileComputingFlags: incomplete,
    requestId: 'request-errors',
    ...extra,
  };
}

/** Answers every `/flags` request with `body`. */
function answerWith(fake: FakePostHog, body: unknown): void {
  fake.answer = (response: ServerResponse) =>
    void response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** Module options for outages: one attempt, no breaker, no early fallback, a short timeout. */
const OUTAGE_OPTIONS: FlagsModuleOptions = { circuitBreaker: false, fallbackAfterMs: 0, timeoutMs: 200 };

describe('$feature_flag_error and the fallback mark on exposures', () => {
  const fake = useFakePostHog({ plain: { enabled: true } });
  const started = useStartedFlags(fake);
  const clients: PostHog[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.shutdown()));
    jest.restoreAllMocks();
  });

  function nodeClient(name: string): PostHog {
    const client = new PostHog(`phc_${name}`, { host: fake.url, flushAt: 10_000, disableGeoip: true });
    clients.push(client);
    return client;
  }

  /** The `$feature_flag_called` properties `lib` sent for `distinctId`, by flag. */
  const calledBy = (lib: string, distinctId: string): Record<string, Record<string, unknown>> =>
    Object.fromEntries(
      fake.events
        .filter((event) => event.event === '$feature_flag_called' && event.distinct_id === distinctId)
        .filter((event) => event.properties.$lib === lib)
        .map((event) => [event.properties.$feature_flag, event.properties]),
    );

  /** Ours: reads `keys` of a snapshot of every flag for `distinctId`, and the events sent, by flag. */
  async function ourEvents(harness: FlagsHarness, distinctId: string, keys: string[]) {
    const snapshot = await harness.flags.evaluateFlags(distinctId);
    for (const key of keys) snapshot.getFlag(key);
    await harness.moduleRef.get(ExposureQueue).flush();
    return calledBy('nestjs-posthog-flags', distinctId);
  }

  /** posthog-node's events for the same reads. */
  async function theirEvents(name: string, distinctId: string, keys: string[]) {
    // posthog-node logs an incomplete or quota-limited answer: expected here.
    jest.spyOn(console, 'error').mockImplementation(() => {});
    jest.spyOn(console, 'warn').mockImplementation(() => {});
    const posthog = nodeClient(name);
    const snapshot = await posthog.evaluateFlags(distinctId);
    for (const key of keys) snapshot.getFlag(key);
    await posthog.flush();
    return calledBy('posthog-node', distinctId);
  }

  const errorsOf = (events: Record<string, Record<string, unknown>>) =>
    Object.fromEntries(Object.entries(events).map(([key, properties]) => [key, properties.$feature_flag_error]));

  describe("as posthog-node 5.70's evaluateFlags", () => {
    it('tags every read of an incomplete answer errors_while_computing_flags', async () => {
      answerWith(fake, answer(true));
      const harness = await started.start();
      const keys = ['plain', 'no-such-flag'];
      const ours = await ourEvents(harness, 'u-incomplete', keys);
      const theirs = await theirEvents('incomplete', 'u-incomplete', keys);
      expect(errorsOf(ours)).toEqual(errorsOf(theirs));
      expect(errorsOf(ours)).toEqual({
        plain: 'errors_while_computing_flags',
        'no-such-flag': 'errors_while_computing_flags,flag_missing',
      });
    });

    it('tags a flag that failed on the server as missing too (ours: no value, not `false`)', async () => {
      answerWith(fake, answer(true));
      const harness = await started.start();
      const ours = await ourEvents(harness, 'u-broken', ['broken']);
      expect(ours.broken).toMatchObject({ $feature_flag_error: 'errors_while_computing_flags,flag_missing' });
      expect(ours.broken).not.toHaveProperty('$feature_flag_response');
    });

    it('tags every read of a quota-limited answer quota_limited', async () => {
      fake.answer = 'quota-limited';
      const harness = await started.start(OUTAGE_OPTIONS);
      const keys = ['plain', 'no-such-flag'];
      const ours = await ourEvents(harness, 'u-quota', keys);
      const theirs = await theirEvents('quota', 'u-quota', keys);
      expect(errorsOf(ours)).toEqual(errorsOf(theirs));
      expect(errorsOf(ours)).toEqual({
        plain: 'quota_limited,flag_missing',
        'no-such-flag': 'quota_limited,flag_missing',
      });
    });

    it('tags a flag PostHog could not be asked for, with nothing known of it, flag_missing only', async () => {
      fake.answer = 500;
      const harness = await started.start(OUTAGE_OPTIONS);
      const ours = await ourEvents(harness, 'u-down', ['plain']);
      const theirs = await theirEvents('down', 'u-down', ['plain']);
      expect(errorsOf(ours)).toEqual(errorsOf(theirs));
      expect(errorsOf(ours)).toEqual({ plain: 'flag_missing' });
    });

    it('tags nothing on a complete answer', async () => {
      answerWith(fake, answer(false));
      const harness = await started.start();
      const ours = await ourEvents(harness, 'u-complete', ['plain']);
      const theirs = await theirEvents('complete', 'u-complete', ['plain']);
      expect(errorsOf(ours)).toEqual(errorsOf(theirs));
      expect(ours.plain).not.toHaveProperty('feature_flag_served_from');
    });
  });

  describe("a value from the fallback cache: the failure in posthog-python's words, and our mark", () => {
    it.each<[string, FakeAnswer, string]>([
      ['an HTTP 500', 500, 'api_error_500'],
      ['an HTTP 429', 429, 'api_error_429'],
      ['a timeout', 'hang', 'timeout'],
      ['a reset connection', 'reset', 'connection_error'],
      ['a quota limit', 'quota-limited', 'quota_limited'],
      ['a body that is not JSON', 'html', 'unknown_error'],
    ])('%s', async (_name, failure, tag) => {
      const harness = await started.start(OUTAGE_OPTIONS);
      const distinctId = `u-fallback-${tag}`;
      (await harness.flags.evaluateFlags(distinctId)).getFlag('plain', { sendFeatureFlagEvents: false });
      fake.answer = failure;
      const ours = await ourEvents(harness, distinctId, ['plain']);
      expect(ours.plain).toMatchObject({
        $feature_flag_response: true,
        $feature_flag_error: tag,
        feature_flag_served_from: 'fallback',
      });
    });

    it('keeps both in a lean event', async () => {
      answerWith(fake, answer(false, { minimalFlagCalledEvents: true }));
      const harness = await started.start(OUTAGE_OPTIONS);
      (await harness.flags.evaluateFlags('u-fallback-lean')).getFlag('plain', { sendFeatureFlagEvents: false });
      fake.answer = 500;
      const ours = await ourEvents(harness, 'u-fallback-lean', ['plain']);
      expect(ours.plain).not.toHaveProperty('$feature/plain');
      expect(ours.plain).toMatchObject({
        $feature_flag_has_experiment: false,
        $feature_flag_error: 'api_error_500',
        feature_flag_served_from: 'fallback',
      });
    });

    it('marks a value answered from the fresh window `cache`, with no error', async () => {
      const harness = await started.start({ cacheUrl: 'memory://local?fresh=60' });
      (await harness.flags.evaluateFlags('u-fresh')).getFlag('plain', { sendFeatureFlagEvents: false });
      const before = fake.requests.length;
      const ours = await ourEvents(harness, 'u-fresh', ['plain']);
      expect(fake.requests.length).toBe(before);
      expect(ours.plain).toMatchObject({ feature_flag_served_from: 'cache' });
      expect(ours.plain).not.toHaveProperty('$feature_flag_error');
    });

    it('marks a value evaluated from stale definitions `stale_definitions`', async () => {
      const harness = await started.startLocal();
      fake.definitionsAnswer = 500;
      let ours: Record<string, Record<string, unknown>>;
      try {
        await eventually(() => harness.flags.status().definitions.stale, 'the definitions to go stale', 10_000);
        ours = await ourEvents(harness, 'u-stale', ['beta']);
      } finally {
        fake.definitionsAnswer = undefined;
      }
      expect(ours.beta).toMatchObject({ locally_evaluated: true, feature_flag_served_from: 'stale_definitions' });
    });
  });
});
