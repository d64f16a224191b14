import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { PostHog } from 'posthog-node';
import type { FlagsModuleOptions } from '../src/index.js';
import { cohortChain } from './support/cohort-chain.js';
import { TEST_SECRET_KEY } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** Review of hardening II (bounded work per request, never a 500 for a flag reason): each finding as its behaviour now. */
describe('hardening review', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  /** A module evaluating `definitions` locally, loaded. */
  async function startLocal(definitions: unknown, options: FlagsModuleOptions = {}) {
    fake.definitions = definitions;
    const harness = await started.start({
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
      ...options,
    });
    await eventually(() => harness.flags.status().definitions.source === 'upstream', 'the definitions to load');
    return harness;
  }

  describe('cohorts naming cohorts: linear work, the same answers as posthog-node', () => {
    it('10 levels (cheap enough for posthog-node), each cohort naming the next twice', async () => {
      const { flags } = await startLocal(cohortChain(10));
      const posthog = new PostHog('phc_cohorts', {
        host: fake.url,
        personalApiKey: 'phs_cohorts',
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
          expect(theirs).toEqual({ 'in-chain': plan === 'pro' });
          expect(await flags.getAllFlags(context)).toEqual(theirs);
        }
      } finally {
        await posthog.shutdown();
        quiet.mockRestore();
      }
    });
  });
});
