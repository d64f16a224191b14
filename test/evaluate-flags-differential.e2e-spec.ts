import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { PostHog } from 'posthog-node';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import type { FlagContext, FlagsService } from '../src/index.js';
import { standardDefinitions, TEST_SECRET_KEY } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';

/** The standard definitions, plus a flag depending on an undecidable one and one needing a static cohort. */
function definitions(): Record<string, unknown> {
  const standard = standardDefinitions();
  const everyone = [{ properties: [], rollout_percentage: 100 }];
  const flags = standard.flags as unknown[];
  return {
    ...standard,
    flags: [
      ...flags,
      {
        id: 5,
        key: 'needs-pro',
        active: true,
        filters: {
          groups: [
            {
              properties: [
                {
                  key: 'pro-only',
                  type: 'flag',
                  operator: 'flag_evaluates_to',
                  value: true,
                  dependency_chain: ['pro-only'],
                },
              ],
              rollout_percentage: 100,
            },
          ],
        },
      },
      {
        id: 6,
        key: 'static-cohort',
        active: true,
        filters: {
          groups: [{ properties: [{ key: 'id', type: 'cohort', value: 99 }], rollout_percentage: 100 }],
        },
      },
      { id: 7, key: 'everyone-off', active: false, filters: { groups: everyone } },
    ],
  };
}

/** What posthog-node's snapshot and ours are both asked, in the same order. */
interface Snapshot {
  isEnabled(key: string, options?: { sendFeatureFlagEvents?: boolean; defaultValue?: boolean }): boolean;
  getFlag(key: string, options?: { sendFeatureFlagEvents?: boolean }): unknown;
  getFlagPayload(key: string): unknown;
  onlyAccessed(): Snapshot;
  only(keys: string[]): Snapshot;
  readonly keys: string[];
  readonly unresolvedFlags: Readonly<Record<string, string>>;
}

/** The same reads of a snapshot, and what they gave: values, slices, unresolved flags, event properties. */
function readAll(snapshot: Snapshot) {
  return {
    beta: snapshot.isEnabled('beta'),
    checkout: snapshot.getFlag('checkout'),
    proOnly: snapshot.getFlag('pro-only'),
    needsPro: snapshot.isEnabled('needs-pro', { defaultValue: true }),
    payload: snapshot.getFlagPayload('beta'),
    betaAgain: snapshot.isEnabled('beta'),
    missing: snapshot.getFlag('no-such-flag'),
    quiet: snapshot.getFlag('everyone-off', { sendFeatureFlagEvents: false }),
    keys: [...snapshot.keys].sort(),
    accessed: [...snapshot.onlyAccessed().keys].sort(),
    only: [...snapshot.only(['beta', 'not-there']).keys].sort(),
    unresolved: snapshot.unresolvedFlags,
  };
}

/** Event properties as compared: the library's own fields and the clock's readings aside. */
function comparable(properties: Record<string, unknown>): Record<string, unknown> {
  const {
    $lib: _lib,
    $lib_version: _version,
    $is_server: _server,
    $feature_flag_evaluated_at: evaluatedAt,
    $feature_flag_definitions_loaded_at: loadedAt,
    ...rest
  } = properties;
  return { ...rest, evaluatedAt: typeof evaluatedAt, loadedAt: typeof loadedAt };
}

const USERS: FlagContext[] = [
  { distinctId: 'user-pro', personProperties: { plan: 'pro' } },
  { distinctId: 'user-free', personProperties: { plan: 'free' } },
  { distinctId: 'user-unknown' },
  { distinctId: 'user-group', groups: { company: 'acme' }, personProperties: { plan: 'pro' } },
];

describe("evaluateFlags(), against posthog-node 5.70's (local evaluation, both on the same fake)", () => {
  let fake: FakePostHog;
  let harness: FlagsHarness;
  let flags: FlagsService;
  let posthog: PostHog;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.definitions = definitions();
    // posthog-node warns about flags it cannot evaluate locally: expected here.
    jest.spyOn(console, 'warn').mockImplementation(() => {});
    harness = await startFlags({
      host: fake.url,
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 60_000 },
      eventQueue: { flushAt: 1000 },
    });
    flags = harness.flags;
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions to load');
    posthog = new PostHog(TEST_API_KEY, {
      host: fake.url,
      personalApiKey: TEST_SECRET_KEY,
      featureFlagsPollingInterval: 600_000,
      flushAt: 1000,
      disableGeoip: true,
    });
    await posthog.reloadFeatureFlags();
  });

  afterEach(() => {
    fake.batches.length = 0;
  });

  afterAll(async () => {
    await posthog.shutdown();
    await harness.moduleRef.close();
    await fake.stop();
    jest.restoreAllMocks();
  });

  /** The `$feature_flag_called` events sent by `lib` for `distinctId`, properties comparable. */
  const calledBy = (lib: string, distinctId: string) =>
    fake.events
      .filter((event) => event.event === '$feature_flag_called' && event.distinct_id === distinctId)
      .filter((event) => event.properties.$lib === lib)
      .map((event) => comparable(event.properties));

  it.each(USERS)(
    'reads the same values, slices and unresolved flags, and sends the same events: $distinctId',
    async (user) => {
      const options = {
        groups: user.groups,
        personProperties: user.personProperties,
        onlyEvaluateLocally: true,
      };
      const theirs = [readAll(await posthog.evaluateFlags(user.distinctId, options))];
      const ours = [readAll((await flags.evaluateFlags(user, { onlyLocal: true })) as unknown as Snapshot)];
      // A second snapshot of the same user: what was sent already is not sent again.
      theirs.push(readAll(await posthog.evaluateFlags(user.distinctId, options)));
      ours.push(readAll((await flags.evaluateFlags(user, { onlyLocal: true })) as unknown as Snapshot));
      expect(ours).toEqual(theirs);
      expect(Object.keys(theirs[0]!.unresolved).length).toBeGreaterThan(0);

      await posthog.flush();
      await harness.moduleRef.get(ExposureQueue).flush();
      const expected = calledBy('posthog-node', user.distinctId);
      expect(expected.length).toBeGreaterThan(3);
      expect(calledBy('nestjs-posthog-flags', user.distinctId)).toEqual(expected);
    },
  );

  it('gives the same values where the undecided flags go to /flags', async () => {
    fake.setFlags({ 'pro-only': { enabled: true }, continuity: { enabled: true, variant: 'kept' } });
    for (const user of USERS) {
      const options = { groups: user.groups, personProperties: user.personProperties };
      const theirs = await posthog.evaluateFlags(user.distinctId, options);
      const ours = await flags.evaluateFlags(user);
      const values = (snapshot: Snapshot) =>
        Object.fromEntries(snapshot.keys.map((key) => [key, snapshot.getFlag(key, { sendFeatureFlagEvents: false })]));
      expect(values(ours as unknown as Snapshot)).toEqual(values(theirs));
      expect(ours.unresolvedFlags).toEqual(theirs.unresolvedFlags);
    }
  });

  it('gives an empty snapshot for an empty distinct id, sending nothing', async () => {
    const theirs = await posthog.evaluateFlags('', {});
    const ours = await flags.evaluateFlags('');
    expect(readAll(ours as unknown as Snapshot)).toEqual(readAll(theirs));
    await posthog.flush();
    await harness.moduleRef.get(ExposureQueue).flush();
    expect(fake.events.filter((event) => event.distinct_id === '')).toEqual([]);
  });
});
