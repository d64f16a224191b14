import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import type { FlagsModuleOptions } from '../../src/index.js';
import { CaptureLogger } from './capture-logger.js';
import { restoreClocks } from './clock.js';
import { TEST_SECRET_KEY, standardDefinitions } from './definitions.js';
import { eventually } from './eventually.js';
import { FakePostHog, STANDARD_FLAGS, type FakeFlag } from './fake-posthog.js';
import { startFlags, type FlagsHarness } from './flags-app.js';

/**
 * A fake PostHog for the enclosing `describe`: listening from its start to its end, and set back before each test
 * to answer `flags` (the standard ones by default) and accept every batch.
 */
export function useFakePostHog(flags: Readonly<Record<string, FakeFlag>> = STANDARD_FLAGS): FakePostHog {
  const fake = FakePostHog.create();
  beforeAll(() => fake.accept());
  beforeEach(() => {
    fake.setFlags(flags);
    fake.answer = 'flags';
    fake.batchAnswer = 'ok';
    fake.batchLatencyMs = 0;
    fake.maxPending = 0;
    fake.maxPendingBatches = 0;
  });
  afterAll(() => fake.stop());
  return fake;
}

/** The module instances a test starts (see {@link useStartedFlags}). */
export interface StartedFlags {
  /** Starts the module on the fake (`retries: 0` unless `options` say otherwise), closed after the test. */
  start(options?: FlagsModuleOptions, logs?: CaptureLogger): Promise<FlagsHarness>;
  /**
   * Starts the module evaluating `definitions` (the standard ones by default) locally, polling every second, and
   * resolves once they are loaded from the fake.
   */
  startLocal(definitions?: unknown, options?: FlagsModuleOptions): Promise<FlagsHarness>;
  /** The instances started in the current test and not closed yet. */
  readonly harnesses: FlagsHarness[];
}

/**
 * Module instances on `fake`, each closed after the test that started it, with real timers back first: a test that
 * faked them must not hold up a close.
 */
export function useStartedFlags(fake: FakePostHog): StartedFlags {
  const harnesses: FlagsHarness[] = [];
  afterEach(async () => {
    restoreClocks();
    await Promise.all(harnesses.splice(0).map((harness) => harness.moduleRef.close()));
  });
  const start: StartedFlags['start'] = async (options = {}, logs = new CaptureLogger()) => {
    const harness = await startFlags({ host: fake.url, retries: 0, ...options }, logs);
    harnesses.push(harness);
    return harness;
  };
  const startLocal: StartedFlags['startLocal'] = async (definitions = standardDefinitions(), options = {}) => {
    fake.definitions = definitions;
    const harness = await start({ secretKey: TEST_SECRET_KEY, localEvaluation: { pollIntervalMs: 1000 }, ...options });
    await eventually(() => harness.flags.status().definitions.source === 'upstream', 'the definitions to load');
    return harness;
  };
  return { harnesses, start, startLocal };
}
