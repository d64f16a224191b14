import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { FakePostHog } from '../src/testing/index.js';
import { startStandardPostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';

describe('FlagsService against a live PostHog', () => {
  let fake: FakePostHog;
  let harness: FlagsHarness;

  beforeEach(async () => {
    fake = await startStandardPostHog();
    harness = await startFlags({ host: fake.url });
  });

  afterEach(async () => {
    await harness.moduleRef.close();
    await fake.close();
  });

  it('answers every method from PostHog with source remote', async () => {
    const { flags } = harness;
    const before = Date.now();
    expect(await flags.isEnabled('beta', 'user-1')).toBe(true);
    expect(await flags.isEnabled('dark-mode', 'user-1')).toBe(false);
    expect(await flags.getFlag('checkout', 'user-1')).toBe('test');
    expect(await flags.getFlag('beta', 'user-1')).toBe(true);
    expect(await flags.getFlagPayload('beta', 'user-1')).toEqual({ color: 'blue' });
    const result = await flags.getFlagResult('beta', { distinctId: 'user-1' });
    expect(result).toMatchObject({ key: 'beta', enabled: true, payload: { color: 'blue' }, source: 'remote' });
    expect(result!.reason).toBe('Condition set 1 matched');
    expect(result!.evaluatedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(await flags.getAllFlags('user-1')).toEqual({ beta: true, checkout: 'test', 'dark-mode': false });
  });

  it('sends the documented request', async () => {
    await harness.flags.getFlag('beta', {
      distinctId: 'user:1 Zoë',
      groups: { company: 'acme' },
      personProperties: { plan: 'pro' },
      groupProperties: { company: { size: 10 } },
    });
    const [request] = fake.requests;
    expect(request.url).toBe('/flags/?v=2');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toMatch(/^nestjs-posthog-flags\/\d+\.\d+\.\d+/);
    expect(request.body).toEqual({
      token: TEST_API_KEY,
      distinct_id: 'user:1 Zoë',
      groups: { company: 'acme' },
      person_properties: { plan: 'pro' },
      group_properties: { company: { size: 10 } },
      geoip_disable: true,
      flag_keys_to_evaluate: ['beta'],
      evaluation_runtime: 'server',
    });
  });
});
