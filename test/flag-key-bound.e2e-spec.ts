import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { FlagReads } from '../src/evaluation/flag-reads.js';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import type { EvaluatedFlag } from '../src/flags.types.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** Keys no PostHog flag can have: over 400 characters, or not well-formed UTF-16. */
const UNNAMING = ['k'.repeat(401), `${'k'.repeat(50)}\uD800`];

describe('flag keys that cannot name a flag (a key from a URL, say)', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  it('read as unknown, never asked of PostHog, never sent nor remembered (exposure, read)', async () => {
    const harness = await started.start();
    const { flags } = harness;
    const queue = harness.moduleRef.get(ExposureQueue);
    for (const key of UNNAMING) {
      expect(await flags.isEnabled(key, 'mallory')).toBe(false);
      expect(await flags.getFlag(key, 'mallory')).toBeUndefined();
      expect(await flags.getFlagResult(key, 'mallory')).toBeUndefined();
      expect(await flags.getFlagPayload(key, 'mallory')).toBeUndefined();
    }
    expect(fake.requests).toEqual([]);

    expect([...(await flags.getFlagResults('mallory', [...UNNAMING, 'beta'])).keys()]).toEqual(['beta']);
    expect(fake.requests.map((request) => request.body.flag_keys_to_evaluate)).toEqual([['beta']]);
    const snapshot = await flags.evaluateFlags('mallory');
    for (const key of UNNAMING) expect(snapshot.isEnabled(key)).toBe(false);
    expect(queue.status().queued).toBe(0);
    // Not remembered as read for the fallback cache: an answer holding such a key would keep none of it.
    const held = UNNAMING.map((key) => ({ key }) as EvaluatedFlag);
    expect(harness.moduleRef.get(FlagReads).kept('mallory', held)).toEqual([]);

    // A key of 400 characters may be a flag: asked, and its exposure (flag_missing) sent.
    const longest = 'k'.repeat(400);
    expect(await flags.isEnabled(longest, 'mallory')).toBe(false);
    expect(fake.requests.at(-1)?.body.flag_keys_to_evaluate).toEqual([longest]);
    await queue.flush();
    expect(fake.exposures.map((event) => event.properties.$feature_flag)).toEqual([longest]);
  });

  it('a key that is not a string (untyped JavaScript): a clear TypeError from the service, unknown in a snapshot', async () => {
    const harness = await started.start();
    const { flags } = harness;
    const notStrings = [undefined, null, 42, { key: 'beta' }] as unknown as string[];
    const sentBefore = fake.exposures.length;
    for (const key of notStrings) {
      await expect(flags.isEnabled(key, 'mallory')).rejects.toThrow('FlagsService: key must be a non-empty string');
    }
    const snapshot = await flags.evaluateFlags('mallory');
    for (const key of notStrings) {
      expect(snapshot.isEnabled(key)).toBe(false);
      expect(snapshot.getFlag(key)).toBeUndefined();
      expect(snapshot.getFlagResult(key)).toBeUndefined();
      expect(snapshot.getFlagPayload(key)).toBeUndefined();
    }
    await harness.moduleRef.get(ExposureQueue).flush();
    expect(fake.exposures.slice(sentBefore)).toEqual([]);
  });
});
