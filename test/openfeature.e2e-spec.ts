import { afterEach, describe, expect, it } from '@jest/globals';
import {
  ErrorCode,
  OpenFeature,
  ProviderEvents,
  type Client,
  type EvaluationContext,
  type EventDetails,
  type Hook,
} from '@openfeature/server-sdk';
import { Test } from '@nestjs/testing';
import { FlagsConfigError, FlagsModule, type FlagsModuleOptions } from '../src/index.js';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { PostHogFlagsProvider } from '../src/openfeature/index.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { STANDARD_FLAGS } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** The flags of these tests: the standard ones, a number payload, and PostHog's reasons for flags that are off. */
const FLAGS = {
  ...STANDARD_FLAGS,
  'dark-mode': { enabled: false, reasonCode: 'flag_disabled' },
  'no-match': { enabled: false, reasonCode: 'no_condition_match' },
  limit: { enabled: true, payload: 42 },
};

describe('PostHogFlagsProvider under the OpenFeature server SDK', () => {
  const fake = useFakePostHog(FLAGS);
  const started = useStartedFlags(fake);
  let domains = 0;

  afterEach(() => OpenFeature.clearProviders());

  /** The module started with a new provider bound to it, and an OpenFeature client of a domain of its own. */
  async function startWithClient(options: FlagsModuleOptions = {}, provider = new PostHogFlagsProvider()) {
    const harness = await started.start({ ...options, openFeature: provider });
    const domain = `app-${++domains}`;
    await OpenFeature.setProviderAndWait(domain, provider);
    return { ...harness, provider, client: OpenFeature.getClient(domain) };
  }

  /** The next event of that type the client hears. */
  const next = (client: Client, type: ProviderEvents) =>
    new Promise<EventDetails>((resolve) => {
      const handler = (details?: EventDetails) => {
        client.removeHandler(type, handler);
        resolve(details!);
      };
      client.addHandler(type, handler);
    });

  const user = (targetingKey: string, more: EvaluationContext = {}): EvaluationContext => ({ targetingKey, ...more });

  describe('resolution details', () => {
    it('boolean: enabled, with the source, id, version, request id and whether it was local', async () => {
      const { client } = await startWithClient();
      expect(await client.getBooleanDetails('beta', false, user('u1'))).toEqual({
        flagKey: 'beta',
        value: true,
        reason: 'TARGETING_MATCH',
        flagMetadata: { source: 'remote', id: 1, version: 1, requestId: 'fake-request', locallyEvaluated: false },
      });
      expect(await client.getBooleanDetails('checkout', false, user('u1'))).toMatchObject({
        value: true,
        variant: 'test',
      });
    });

    it("reasons from PostHog's reason code: DISABLED and DEFAULT for flags that are off", async () => {
      const { client } = await startWithClient();
      expect(await client.getBooleanDetails('dark-mode', true, user('u1'))).toMatchObject({
        value: false,
        reason: 'DISABLED',
      });
      expect(await client.getBooleanDetails('no-match', true, user('u1'))).toMatchObject({
        value: false,
        reason: 'DEFAULT',
      });
    });

    it('string: the variant; TYPE_MISMATCH for a boolean flag that is on; the default for a flag that is off', async () => {
      const { client } = await startWithClient();
      expect(await client.getStringDetails('checkout', 'control', user('u1'))).toMatchObject({
        value: 'test',
        variant: 'test',
        reason: 'TARGETING_MATCH',
      });
      expect(await client.getStringDetails('beta', 'control', user('u1'))).toMatchObject({
        value: 'control',
        reason: 'ERROR',
        errorCode: ErrorCode.TYPE_MISMATCH,
        errorMessage: expect.stringContaining('boolean flag'),
        flagMetadata: expect.objectContaining({ source: 'remote', id: 1 }),
      });
      const off = await client.getStringDetails('no-match', 'control', user('u1'));
      expect(off).toMatchObject({ value: 'control', reason: 'DEFAULT' });
      expect(off.errorCode).toBeUndefined();
    });

    it('number and object: the payload; TYPE_MISMATCH when the payload is not of that type', async () => {
      const { client } = await startWithClient();
      expect(await client.getNumberDetails('limit', 0, user('u1'))).toMatchObject({
        value: 42,
        reason: 'TARGETING_MATCH',
      });
      expect(await client.getObjectDetails('beta', {}, user('u1'))).toMatchObject({ value: { color: 'blue' } });
      expect(await client.getNumberDetails('beta', 7, user('u1'))).toMatchObject({
        value: 7,
        errorCode: ErrorCode.TYPE_MISMATCH,
      });
      expect(await client.getObjectDetails('checkout', { fallback: true }, user('u1'))).toMatchObject({
        value: { fallback: true },
        errorCode: ErrorCode.TYPE_MISMATCH,
        errorMessage: expect.stringContaining('variant is "test"'),
      });
      expect(await client.getObjectDetails('limit', { n: 1 }, user('u1'))).toMatchObject({
        errorCode: ErrorCode.TYPE_MISMATCH,
      });
    });

    it('CACHED from the fresh window and from the fallback cache, STATIC for an override', async () => {
      const { client } = await startWithClient({ cacheUrl: 'memory://local?fresh=60', overrides: { forced: 'on' } });
      await client.getBooleanValue('beta', false, user('u1'));
      expect(await client.getBooleanDetails('beta', false, user('u1'))).toMatchObject({
        value: true,
        reason: 'CACHED',
        flagMetadata: { source: 'cache', id: 1, version: 1, locallyEvaluated: false },
      });
      expect(await client.getStringDetails('forced', 'off', user('u1'))).toMatchObject({
        value: 'on',
        reason: 'STATIC',
        flagMetadata: { source: 'override', locallyEvaluated: false },
      });
      const fallback = await startWithClient({ cacheUrl: 'memory://local' });
      await fallback.client.getBooleanValue('beta', false, user('u2'));
      fake.answer = 503;
      expect(await fallback.client.getBooleanDetails('beta', false, user('u2'))).toMatchObject({
        value: true,
        reason: 'CACHED',
        flagMetadata: { source: 'fallback' },
      });
    });

    it('locally evaluated flags say so in their metadata', async () => {
      fake.definitions = standardDefinitions();
      const { client, flags } = await startWithClient({ secretKey: TEST_SECRET_KEY });
      await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions');
      const asked = fake.requests.length;
      expect(await client.getObjectDetails('beta', {}, user('u1'))).toEqual({
        flagKey: 'beta',
        value: { color: 'blue' },
        reason: 'TARGETING_MATCH',
        flagMetadata: { source: 'local', id: 1, version: 2, locallyEvaluated: true },
      });
      expect(fake.requests).toHaveLength(asked);
      fake.definitions = undefined;
    });
  });

  describe('errors', () => {
    it('FLAG_NOT_FOUND when PostHog answered without the flag; GENERAL naming the outage when it could not answer', async () => {
      const { client } = await startWithClient();
      expect(await client.getBooleanDetails('nowhere', true, user('u1'))).toMatchObject({
        value: true,
        reason: 'ERROR',
        errorCode: ErrorCode.FLAG_NOT_FOUND,
      });
      fake.answer = 500;
      expect(await client.getBooleanDetails('beta', true, user('never-seen'))).toMatchObject({
        value: true,
        reason: 'ERROR',
        errorCode: ErrorCode.GENERAL,
        errorMessage: expect.stringMatching(/PostHog is not answering \(http_500.*no last known value/),
      });
    });

    it('TARGETING_KEY_MISSING without a targeting key; INVALID_CONTEXT for attributes of the wrong shape or too deep', async () => {
      const { client } = await startWithClient();
      const asked = fake.requests.length;
      expect(await client.getBooleanDetails('beta', false, {})).toMatchObject({
        value: false,
        errorCode: ErrorCode.TARGETING_KEY_MISSING,
      });
      for (const bad of [
        { groups: { company: 5 } },
        { groups: 'acme' },
        { groupProperties: { company: 'big' } },
        { deviceId: '' },
        { deviceId: 12 },
        // Nested deeper than 64 levels (it overflowed the call stack at 4,000 levels: GENERAL before).
        { prefs: JSON.parse(`${'['.repeat(4000)}${']'.repeat(4000)}`) },
        {
          groups: { company: 'acme' },
          groupProperties: { company: { prefs: JSON.parse(`${'['.repeat(65)}${']'.repeat(65)}`) } },
        },
      ] as EvaluationContext[]) {
        expect(await client.getBooleanDetails('beta', false, user('u1', bad))).toMatchObject({
          value: false,
          reason: 'ERROR',
          errorCode: ErrorCode.INVALID_CONTEXT,
        });
      }
      expect(fake.requests).toHaveLength(asked);
    });

    it('PROVIDER_NOT_READY naming the fix while the provider is not bound; initialize fails after its wait', async () => {
      const provider = new PostHogFlagsProvider({ bindTimeoutMs: 50 });
      expect(await provider.resolveBooleanEvaluation('beta', true, user('u1'))).toMatchObject({
        value: true,
        errorCode: ErrorCode.PROVIDER_NOT_READY,
        errorMessage: expect.stringContaining('FlagsModule.forRoot({ openFeature })'),
      });
      await expect(OpenFeature.setProviderAndWait('unbound', provider)).rejects.toThrow(/not bound .* within 50 ms/);
      const client = OpenFeature.getClient('unbound');
      const ready = next(client, ProviderEvents.Ready);
      await started.start({ openFeature: provider });
      await ready;
      expect(await client.getBooleanValue('beta', false, user('u1'))).toBe(true);
    });

    it('rejects provider options and an openFeature option of the wrong type at construction and startup', async () => {
      expect(() => new PostHogFlagsProvider({ sendFeatureFlagEvents: 'no' as never })).toThrow(FlagsConfigError);
      expect(() => new PostHogFlagsProvider({ bindTimeoutMs: 0 })).toThrow(/bindTimeoutMs must be an integer/);
      await expect(started.start({ openFeature: {} as never })).rejects.toThrow(
        /openFeature must be a PostHogFlagsProvider/,
      );
    });
  });

  it('maps the context: targetingKey, deviceId, groups, groupProperties; every other attribute a person property', async () => {
    const { client } = await startWithClient();
    const context = user('u-context', {
      deviceId: 'device-1',
      groups: { company: 'acme' },
      groupProperties: { company: { size: 10 } },
      plan: 'pro',
      signedUpAt: new Date('2024-01-02T03:04:05.000Z'),
    });
    await client.getBooleanValue('beta', false, context);
    expect(fake.requests.at(-1)!.body).toMatchObject({
      distinct_id: 'u-context',
      groups: { company: 'acme' },
      group_properties: { company: { size: 10 } },
      person_properties: { $device_id: 'device-1', plan: 'pro', signedUpAt: '2024-01-02T03:04:05.000Z' },
    });
  });

  it('sends $feature_flag_called once per user, flag and value, as isEnabled does; none with sendFeatureFlagEvents: false', async () => {
    const { client, moduleRef } = await startWithClient();
    const quiet = await startWithClient({}, new PostHogFlagsProvider({ sendFeatureFlagEvents: false }));
    for (let index = 0; index < 3; index++) await client.getStringValue('checkout', 'control', user('u-exposed'));
    await quiet.client.getStringValue('checkout', 'control', user('u-quiet'));
    await moduleRef.get(ExposureQueue).flush();
    await quiet.moduleRef.get(ExposureQueue).flush();
    const exposures = (distinctId: string) =>
      fake.events.filter((event) => event.event === '$feature_flag_called' && event.distinct_id === distinctId);
    expect(exposures('u-exposed').map((event) => event.properties)).toEqual([
      expect.objectContaining({ $feature_flag: 'checkout', $feature_flag_response: 'test' }),
    ]);
    expect(exposures('u-quiet')).toEqual([]);
  });

  describe('events', () => {
    it('PROVIDER_STALE while the circuit is open, PROVIDER_READY when PostHog answers again', async () => {
      const { client } = await startWithClient({ circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 100 } });
      await client.getBooleanValue('beta', false, user('u1'));
      const stale = next(client, ProviderEvents.Stale);
      fake.answer = 500;
      expect(await client.getBooleanDetails('beta', false, user('u1'))).toMatchObject({
        value: true,
        reason: 'CACHED',
      });
      expect((await stale).message).toContain('PostHog is down');
      expect(OpenFeature.getClient(client.metadata.domain!).providerStatus).toBe('STALE');
      const ready = next(client, ProviderEvents.Ready);
      fake.answer = 'flags';
      let isReady = false;
      void ready.then(() => (isReady = true));
      // The circuit closes on a probe after its reset timeout: evaluations make the probe.
      await eventually(async () => {
        await client.getBooleanValue('beta', false, user('u1'));
        return isReady;
      }, 'PROVIDER_READY');
      expect(client.providerStatus).toBe('READY');
    });

    it('PROVIDER_STALE while the flag definitions are stale, PROVIDER_READY once a poll refreshes them', async () => {
      fake.definitions = standardDefinitions();
      const { client, flags } = await startWithClient({
        secretKey: TEST_SECRET_KEY,
        localEvaluation: { pollIntervalMs: 1000 },
      });
      await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions');
      const stale = next(client, ProviderEvents.Stale);
      fake.definitionsAnswer = 503;
      try {
        // Polled more than 3 intervals ago: stale, while the loaded definitions still answer.
        expect((await stale).message).toContain('the flag definitions are stale');
        expect(client.providerStatus).toBe('STALE');
        expect(flags.status().circuit).toBe('closed');
        expect(await client.getBooleanDetails('beta', false, user('u1'))).toMatchObject({ value: true });
        const ready = next(client, ProviderEvents.Ready);
        fake.definitionsAnswer = undefined;
        await ready;
        expect(client.providerStatus).toBe('READY');
      } finally {
        fake.definitionsAnswer = undefined;
        fake.definitions = undefined;
      }
    });

    it('PROVIDER_CONFIGURATION_CHANGED naming the flags whose definitions changed', async () => {
      fake.definitions = standardDefinitions();
      const { client, flags } = await startWithClient({
        secretKey: TEST_SECRET_KEY,
        localEvaluation: { pollIntervalMs: 1000 },
      });
      await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions');
      const changedBeta = new Promise<EventDetails>((resolve) =>
        client.addHandler(ProviderEvents.ConfigurationChanged, (details) => {
          if (details?.flagsChanged?.includes('beta')) resolve(details);
        }),
      );
      const changed = standardDefinitions();
      (changed.flags as { key: string; active: boolean }[])[0]!.active = false;
      fake.definitions = changed;
      expect((await changedBeta).flagsChanged).toEqual(['beta']);
      expect(await client.getBooleanValue('beta', true, user('u1'))).toBe(false);
      fake.definitions = undefined;
    });

    it('PROVIDER_ERROR when the application shuts down (unbound); hooks see our metadata', async () => {
      const seen: unknown[] = [];
      const hook: Hook = { after: (_context, details) => void seen.push(details.flagMetadata) };
      const { client, moduleRef, provider } = await startWithClient();
      client.addHooks(hook);
      await client.getBooleanValue('beta', false, user('u1'));
      expect(seen).toEqual([expect.objectContaining({ source: 'remote', id: 1 })]);
      const error = next(client, ProviderEvents.Error);
      await moduleRef.close();
      started.harnesses.length = 0;
      expect((await error).message).toContain('unbound');
      expect(await provider.resolveBooleanEvaluation('beta', false, user('u1'))).toMatchObject({
        errorCode: ErrorCode.PROVIDER_NOT_READY,
      });
    });
  });

  it('two applications in one process each bind their own instance; one instance bound twice fails at startup', async () => {
    const first = await startWithClient();
    const second = await startWithClient({ overrides: { beta: false } });
    expect(await first.client.getBooleanDetails('beta', true, user('u1'))).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    expect(await second.client.getBooleanDetails('beta', true, user('u1'))).toMatchObject({
      value: false,
      reason: 'STATIC',
    });
    const third = await Test.createTestingModule({
      imports: [FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, openFeature: first.provider })],
    }).compile();
    try {
      await expect(third.init()).rejects.toThrow(/bound to another application already/);
    } finally {
      await third.close();
    }
    expect(await first.client.getBooleanValue('beta', false, user('u1'))).toBe(true);
  });

  it('works without the Nest SDK: OpenFeature.setProviderAndWait before the application starts', async () => {
    const provider = new PostHogFlagsProvider();
    const waiting = OpenFeature.setProviderAndWait('plain', provider);
    await started.start({ openFeature: provider });
    await waiting;
    expect(await OpenFeature.getClient('plain').getStringValue('checkout', 'control', user('u1'))).toBe('test');
  });
});
