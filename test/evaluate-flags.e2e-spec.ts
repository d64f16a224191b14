import { describe, expect, it } from '@jest/globals';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { standardDefinitions, TEST_SECRET_KEY } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

describe('FlagsService.evaluateFlags() through the module, on the fake PostHog', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);
  const flagsCalls = () => fake.requests.filter((recorded) => recorded.url.startsWith('/flags')).length;

  it('answers every read of a snapshot from one /flags call, remote and then fallback', async () => {
    const { flags } = await started.start();
    const before = flagsCalls();
    const snapshot = await flags.evaluateFlags('u-remote');
    expect([snapshot.isEnabled('beta'), snapshot.getFlag('checkout'), snapshot.getFlag('dark-mode')]).toEqual([
      true,
      'test',
      false,
    ]);
    expect(snapshot.getFlagResult('beta')?.source).toBe('remote');
    expect(snapshot.getFlagPayload('beta')).toEqual({ color: 'blue' });
    expect(flagsCalls() - before).toBe(1);
    expect(snapshot.eventProperties()).toEqual({
      '$feature/beta': true,
      '$feature/checkout': 'test',
      '$feature/dark-mode': false,
      $active_feature_flags: ['beta', 'checkout'],
    });

    fake.answer = 503;
    const outage = await flags.evaluateFlags('u-remote', { flagKeys: ['beta', 'never-cached'] });
    expect(outage.getFlagResult('beta')?.source).toBe('fallback');
    expect(outage.keys).toEqual(['beta']);
    expect(outage.unresolvedFlags).toEqual({ 'never-cached': 'unavailable' });
  });

  it('says nothing is unresolved when PostHog answered that a flag does not exist', async () => {
    const { flags } = await started.start();
    const snapshot = await flags.evaluateFlags('u-healthy', { flagKeys: ['beta', 'no-such-flag'] });
    expect(snapshot.keys).toEqual(['beta']);
    expect(snapshot.unresolvedFlags).toEqual({});
  });

  it('answers local results, and with onlyLocal leaves the undecided ones unresolved without a call', async () => {
    fake.definitions = standardDefinitions();
    try {
      const { flags } = await started.start({
        secretKey: TEST_SECRET_KEY,
        localEvaluation: { pollIntervalMs: 60_000 },
      });
      await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions to load');
      const before = flagsCalls();
      const snapshot = await flags.evaluateFlags('u-local', { onlyLocal: true });
      expect(snapshot.getFlagResult('beta')?.source).toBe('local');
      expect(snapshot.unresolvedFlags).toEqual({ 'pro-only': 'missing_context', continuity: 'experience_continuity' });
      expect(flagsCalls()).toBe(before);
    } finally {
      fake.definitions = undefined;
    }
  });

  it('applies overrides, and sends no event from a snapshot asked with sendFeatureFlagEvents: false', async () => {
    const { flags, moduleRef } = await started.start({ overrides: { beta: false } });
    const quiet = await flags.evaluateFlags('u-override', { sendFeatureFlagEvents: false });
    expect(quiet.getFlagResult('beta')).toMatchObject({ enabled: false, source: 'override' });
    expect(quiet.isEnabled('checkout')).toBe(true);
    await moduleRef.get(ExposureQueue).flush();
    expect(fake.events.filter((event) => event.distinct_id === 'u-override')).toEqual([]);
    expect(quiet.onlyAccessed().keys.sort()).toEqual(['beta', 'checkout']);
  });

  it('rejects malformed options with a TypeError naming them', async () => {
    const { flags } = await started.start();
    await expect(flags.evaluateFlags('u', { flagKeys: 'beta' as never })).rejects.toThrow(/flagKeys/);
    await expect(flags.evaluateFlags('u', { onlyLocal: 'yes' as never })).rejects.toThrow(
      /onlyLocal must be a boolean/,
    );
  });
});
