import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { PostHog } from 'posthog-node';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import type { FlagsModuleOptions } from '../src/index.js';
import { FlagsOverrides } from '../src/testing/index.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { dependencyChain, type ChainShape } from './support/dependency-chain.js';
import { eventually } from './support/eventually.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** Hardening II (local evaluation, payloads, overrides): each finding as the behaviour it must have now. */
describe('hardening II', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  /** A module evaluating `definitions` locally (polling every second), loaded. */
  async function startLocal(definitions: unknown = standardDefinitions(), options: FlagsModuleOptions = {}) {
    fake.definitions = definitions;
    const harness = await started.start({
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
      ...options,
    });
    await eventually(() => harness.flags.status().definitions.source === 'upstream', 'the definitions to load');
    return harness;
  }

  describe('10. an override sends no exposure event', () => {
    it('for the service calls and for the remote, local and overridden flags alike', async () => {
      fake.setFlags({ 'pro-only': { enabled: true } });
      const { flags, moduleRef } = await startLocal(standardDefinitions(), { overrides: { beta: false } });
      const overrides = moduleRef.get(FlagsOverrides);
      overrides.set('checkout', (context) => (context.distinctId === 'u1' ? 'forced' : undefined));
      expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: false, source: 'override' });
      expect(await flags.getFlag('checkout', 'u1')).toBe('forced');
      expect(await flags.isEnabled('pro-only', 'u1')).toBe(true);
      expect((await flags.getFlagResult('checkout', 'u2'))?.source).toBe('local');
      await moduleRef.get(ExposureQueue).flush();
      const exposed = fake.events
        .filter((event) => event.event === '$feature_flag_called')
        .map((event) => `${event.distinct_id} ${String(event.properties.$feature_flag)}`);
      expect(exposed).toEqual(['u1 pro-only', 'u2 checkout']);
    });
  });

  describe('6. flag dependency chains: linear work, the same answers as posthog-node', () => {
    it.each<ChainShape>(['full', 'parent', 'reversed'])('30 levels, %s chains', async (shape) => {
      const body = dependencyChain(30, shape);
      const { flags } = await startLocal(body);
      const posthog = new PostHog('phc_dependencies', {
        host: fake.url,
        personalApiKey: 'phs_dependencies',
        featureFlagsPollingInterval: 600_000,
        flushAt: 10_000,
        disableGeoip: true,
      });
      const quiet = jest.spyOn(console, 'warn').mockImplementation(() => {});
      try {
        for (const plan of ['pro', 'free']) {
          const context = { distinctId: `u-${plan}`, personProperties: { plan } };
          const theirs = await posthog.getAllFlags(context.distinctId, {
            personProperties: context.personProperties,
            onlyEvaluateLocally: true,
          });
          const ours = await flags.getAllFlags(context);
          expect(Object.keys(theirs)).toHaveLength(31);
          expect(ours).toEqual(theirs);
        }
      } finally {
        await posthog.shutdown();
        quiet.mockRestore();
      }
    });
  });
});
