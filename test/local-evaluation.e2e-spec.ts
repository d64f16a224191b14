import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FlagsConfigError, type FlagsEvent, type FlagsModuleOptions } from '../src/index.js';
import { FlagsOverrides } from '../src/testing/index.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';

describe('local evaluation (memory://)', () => {
  let fake: FakePostHog;
  let harness: FlagsHarness | undefined;

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
    fake.setFlags({ 'pro-only': { enabled: true }, continuity: { enabled: true }, 'remote-only': { enabled: true } });
  });

  afterEach(async () => {
    await harness?.moduleRef.close();
    harness = undefined;
    await fake.stop();
  });

  /** A module with local evaluation polling the fake every second, its definitions loaded. */
  async function startLocal(options: FlagsModuleOptions = {}): Promise<FlagsHarness> {
    harness = await startFlags({
      host: fake.url,
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
      ...options,
    });
    const { flags } = harness;
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions to load');
    return harness;
  }

  it('asks /flags/definitions with the bearer secret key, the project token and send_cohorts', async () => {
    await startLocal();
    const [request] = fake.definitionsRequests;
    expect(request!.url).toBe(`/flags/definitions?token=${TEST_API_KEY}&send_cohorts`);
    expect(request!.headers.authorization).toBe(`Bearer ${TEST_SECRET_KEY}`);
    expect(request!.headers['user-agent']).toMatch(/^nestjs-posthog-flags\//);
  });

  it('answers decided flags locally, without a /flags call: source, reason, payload, id and version', async () => {
    const { flags } = await startLocal();
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({
      key: 'beta',
      enabled: true,
      payload: { color: 'blue' },
      source: 'local',
      reason: 'Evaluated locally',
      id: 1,
      version: 2,
    });
    expect(await flags.getFlag('checkout', 'u1')).toBe('test');
    expect(await flags.isEnabled('pro-only', { distinctId: 'u1', personProperties: { plan: 'free' } })).toBe(false);
    expect(fake.requests).toHaveLength(0);
    expect(flags.status().counts.local).toBe(3);
  });

  it('asks /flags only for the keys local evaluation cannot decide, and the fallback cache for them', async () => {
    const { flags } = await startLocal();
    const results = await flags.getFlagResults('u1', ['beta', 'pro-only', 'continuity', 'remote-only']);
    expect(Object.fromEntries([...results].map(([key, result]) => [key, result.source]))).toEqual({
      beta: 'local',
      'pro-only': 'remote',
      continuity: 'remote',
      'remote-only': 'remote',
    });
    expect(fake.requests.map((request) => request.body.flag_keys_to_evaluate)).toEqual([
      ['pro-only', 'continuity', 'remote-only'],
    ]);
    fake.answer = 503;
    const fallback = await flags.getFlagResult('pro-only', 'u1');
    expect(fallback).toMatchObject({ enabled: true, source: 'fallback' });
  });

  it('getAllFlags evaluates every definition locally and asks /flags for the undecided ones only', async () => {
    const { flags } = await startLocal();
    expect(await flags.getAllFlags('u1')).toEqual({ beta: true, checkout: 'test', 'pro-only': true, continuity: true });
    expect(fake.requests.map((request) => request.body.flag_keys_to_evaluate)).toEqual([['pro-only', 'continuity']]);
  });

  it("remembers a user's local answers, which neither an override nor a caller's changes alter", async () => {
    const { flags, moduleRef } = await startLocal();
    const first = await flags.getFlagResults('u1');
    first.delete('beta');
    const overrides = moduleRef.get(FlagsOverrides);
    overrides.set('beta', false);
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: false, source: 'override' });
    overrides.reset();
    const again = await flags.getFlagResults('u1');
    expect(again.get('beta')).toMatchObject({ enabled: true, source: 'local' });
    expect(again.get('checkout')).toBe(first.get('checkout'));
    expect(() => Object.assign(again.get('beta')!, { enabled: false })).toThrow(TypeError);
  });

  it('applies an override over a remembered answer without changing it (every flag decided locally)', async () => {
    const { flags, moduleRef } = await startLocal({ localEvaluation: { pollIntervalMs: 1000, onlyLocal: true } });
    expect((await flags.getFlagResults('u1')).get('beta')).toMatchObject({ enabled: true, source: 'local' });
    const overrides = moduleRef.get(FlagsOverrides);
    overrides.set('beta', false);
    expect((await flags.getFlagResults('u1')).get('beta')).toMatchObject({ enabled: false, source: 'override' });
    overrides.reset();
    expect((await flags.getFlagResults('u1')).get('beta')).toMatchObject({ enabled: true, source: 'local' });
  });

  it('with onlyLocal, what the definitions cannot decide is unknown, and PostHog is not asked', async () => {
    const { flags } = await startLocal({ localEvaluation: { pollIntervalMs: 1000, onlyLocal: true } });
    expect(await flags.getFlagResult('pro-only', 'u1')).toBeUndefined();
    expect(await flags.getAllFlags('u1')).toEqual({ beta: true, checkout: 'test' });
    expect(fake.requests).toHaveLength(0);
  });

  it('sends If-None-Match with the ETag; a 304 keeps the definitions, a 200 replaces them whole', async () => {
    const { flags } = await startLocal();
    await eventually(() => fake.definitionsRequests.length >= 2, 'a second poll');
    expect(fake.definitionsRequests[1]!.headers['if-none-match']).toBe(fake.definitionsEtag);
    expect(flags.status().definitions).toMatchObject({ source: 'upstream', flags: 4, etag: fake.definitionsEtag });
    const changed = standardDefinitions();
    (changed.flags as { key: string; active: boolean }[])[0]!.active = false;
    fake.definitions = changed;
    await eventually(async () => (await flags.isEnabled('beta', 'u1')) === false, 'the new definitions');
    expect(flags.status().definitions.etag).toBe(fake.definitionsEtag);
  });

  it('a snapshot read gives the same value whatever changes after it was made (flags first read after new definitions)', async () => {
    const { flags } = await startLocal();
    const snapshot = await flags.evaluateFlags({ distinctId: 'u1' });
    const changed = standardDefinitions() as { flags: { active: boolean }[] };
    for (const flag of changed.flags) flag.active = false;
    fake.definitions = changed;
    await eventually(async () => (await flags.isEnabled('checkout', 'u1')) === false, 'the new definitions');
    // Read for the first time now: built from the definitions the snapshot was made with.
    expect(snapshot.getFlagResult('beta')).toMatchObject({ enabled: true, source: 'local', version: 2 });
    expect(snapshot.getFlagPayload('beta')).toEqual({ color: 'blue' });
    expect(snapshot.getFlag('checkout')).toBe('test');
    expect(snapshot.getFlagResult('pro-only')).toMatchObject({ enabled: true, source: 'remote' });
    expect(snapshot.eventProperties().$active_feature_flags).toEqual(['beta', 'checkout', 'continuity', 'pro-only']);
  });

  it('402: drops every definition (calls go to /flags), says so once, and loads again after a 200', async () => {
    const { flags, logs } = await startLocal();
    fake.definitionsAnswer = 402;
    await eventually(() => flags.status().definitions.source === 'none', 'the definitions to be dropped');
    expect((await flags.getFlagResult('remote-only', 'u1'))?.source).toBe('remote');
    expect(await flags.getFlagResult('beta', 'u1')).toBeUndefined(); // the fake's /flags does not know beta
    const requestsSoFar = fake.definitionsRequests.length;
    await eventually(() => fake.definitionsRequests.length > requestsSoFar, 'another poll');
    expect(logs.at('warn').filter((line) => line.includes('quota'))).toHaveLength(1);
    // The ETag went with the definitions: the next 200 is a whole load, not a 304 on nothing.
    expect(fake.definitionsRequests.at(-1)!.headers['if-none-match']).toBeUndefined();
    fake.definitionsAnswer = undefined;
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions again');
    expect((await flags.getFlagResult('beta', 'u1'))?.source).toBe('local');
  });

  it('401/403: one error line naming POSTHOG_SECRET_KEY, the definitions kept, the key never printed', async () => {
    const { flags, logs } = await startLocal();
    fake.definitionsAnswer = 401;
    await eventually(() => flags.status().definitions.lastFailure?.reason === 'http_401', 'a refused poll');
    expect((await flags.getFlagResult('beta', 'u1'))?.source).toBe('local');
    const errors = logs.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/POSTHOG_SECRET_KEY/);
    expect(logs.text).not.toContain(TEST_SECRET_KEY);
    expect(logs.text).not.toContain(TEST_API_KEY);
  });

  it('5xx, a bad body or a dropped connection: the definitions kept, one warning, one line on recovery', async () => {
    const { flags, logs } = await startLocal({ retries: 0 });
    const events: FlagsEvent[] = [];
    const subscription = flags.events$.subscribe((event) => events.push(event));
    for (const answer of [503, 'html', 'reset'] as const) {
      const before = fake.definitionsRequests.length;
      fake.definitionsAnswer = answer;
      await eventually(() => fake.definitionsRequests.length > before, `a poll answered ${answer}`);
    }
    await eventually(() => flags.status().definitions.lastFailure?.reason === 'connection_reset', 'the last failure');
    expect((await flags.getFlagResult('beta', 'u1'))?.source).toBe('local');
    fake.definitionsAnswer = undefined;
    // The recovery line comes once the polls have succeeded for 10 s (the module's log episodes).
    await eventually(
      () => logs.at('log').some((line) => line.includes('/flags/definitions answers again')),
      'the recovery line',
      15_000,
    );
    subscription.unsubscribe();
    expect(logs.at('warn').filter((line) => line.includes('/flags/definitions unavailable'))).toHaveLength(1);
    const failures = events.flatMap((event) => (event.type === 'definitions_failed' ? [event.reason] : []));
    expect(failures).toEqual(expect.arrayContaining(['http_503', 'bad_response', 'connection_reset']));
    expect(events.some((event) => event.type === 'definitions_loaded')).toBe(false); // 304s since
  }, 30_000);

  it('a first poll that hangs does not hold startup; flags are asked of /flags meanwhile', async () => {
    fake.definitionsAnswer = 'hang';
    harness = await startFlags({ host: fake.url, secretKey: TEST_SECRET_KEY });
    expect(harness.flags.status().definitions).toMatchObject({ source: 'none', poller: true });
    expect((await harness.flags.getFlagResult('remote-only', 'u1'))?.source).toBe('remote');
  });

  it('stops polling on close(), aborting a poll in flight', async () => {
    const { moduleRef } = await startLocal();
    fake.definitionsAnswer = 'hang';
    const before = fake.definitionsRequests.length;
    await eventually(() => fake.definitionsRequests.length > before, 'a poll in flight');
    await moduleRef.close();
    harness = undefined;
    await eventually(() => fake.pendingDefinitions === 0, 'the hanging poll to be aborted');
  });

  it('sends exposures of local answers with locally_evaluated: true', async () => {
    const { flags, moduleRef } = await startLocal({ eventQueue: { flushAt: 1 } });
    await flags.isEnabled('beta', 'u1');
    await eventually(() => fake.events.length === 1, 'the exposure');
    expect(fake.events[0]!.properties).toMatchObject({
      $feature_flag: 'beta',
      locally_evaluated: true,
      $feature_flag_id: 1,
    });
    await moduleRef.close();
    harness = undefined;
  });

  it.each<[string, FlagsModuleOptions, RegExp]>([
    ['a project key as the secret key', { secretKey: 'phc_project' }, /project API key \(phc_\.\.\.\).*phs_/],
    ['localEvaluation without a key', { localEvaluation: { onlyLocal: true } }, /POSTHOG_SECRET_KEY/],
    [
      'a poll interval below 1 s',
      { secretKey: TEST_SECRET_KEY, localEvaluation: { pollIntervalMs: 500 } },
      /pollIntervalMs/,
    ],
    [
      'an unknown localEvaluation option',
      { secretKey: TEST_SECRET_KEY, localEvaluation: { pollInterval: 5 } as never },
      /did you mean "pollIntervalMs"/,
    ],
  ])('fails at startup for %s', async (_name, options, message) => {
    const startup = startFlags({ host: fake.url, ...options });
    await expect(startup).rejects.toThrow(FlagsConfigError);
    await expect(startFlags({ host: fake.url, ...options })).rejects.toThrow(message);
  });

  it('localEvaluation: false turns it off even with a key', async () => {
    harness = await startFlags({ host: fake.url, secretKey: TEST_SECRET_KEY, localEvaluation: false });
    expect((await harness.flags.getFlagResult('remote-only', 'u1'))?.source).toBe('remote');
    expect(fake.definitionsRequests).toHaveLength(0);
  });
});
