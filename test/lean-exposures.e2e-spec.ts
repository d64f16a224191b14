import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { PostHog } from 'posthog-node';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import type { FlagContext } from '../src/index.js';
import type { FakePostHog } from './support/fake-posthog.js';
import type { FlagsHarness } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** A flag on for everyone, with `has_experiment` as given (left out when undefined). */
function flag(id: number, key: string, hasExperiment: boolean | undefined, variant?: string): Record<string, unknown> {
  return {
    id,
    key,
    active: true,
    version: 3,
    ...(hasExperiment === undefined ? {} : { has_experiment: hasExperiment }),
    filters: {
      groups: [{ properties: [], rollout_percentage: 100 }],
      ...(variant ? { multivariate: { variants: [{ key: variant, rollout_percentage: 100 }] } } : {}),
    },
  };
}

/** Flags without an experiment, with one, and not saying; the lean gate as given. */
function definitions(gate: boolean | undefined): Record<string, unknown> {
  return {
    flags: [
      flag(1, 'plain', false),
      flag(2, 'experiment', true, 'test'),
      flag(3, 'unmarked', undefined),
      flag(4, 'plain-variant', false, 'blue'),
    ],
    group_type_mapping: {},
    cohorts: {},
    ...(gate === undefined ? {} : { minimal_flag_called_events: gate }),
  };
}

/** The same flags as PostHog's `/flags` v2 answers them, the lean gate as given. */
function flagsAnswer(gate: boolean | undefined): Record<string, unknown> {
  const entry = (id: number, hasExperiment: boolean | undefined, variant?: string) => ({
    enabled: true,
    ...(variant ? { variant } : {}),
    reason: { code: 'condition_match', condition_index: 0, description: 'Matched condition set 1' },
    metadata: { id, version: 3, ...(hasExperiment === undefined ? {} : { has_experiment: hasExperiment }) },
  });
  return {
    flags: {
      plain: { key: 'plain', ...entry(1, false) },
      experiment: { key: 'experiment', ...entry(2, true, 'test') },
      unmarked: { key: 'unmarked', ...entry(3, undefined) },
      'plain-variant': { key: 'plain-variant', ...entry(4, false, 'blue') },
    },
    errorsWhileComputingFlags: false,
    requestId: 'request-lean',
    evaluatedAt: 1_700_000_000_000,
    ...(gate === undefined ? {} : { minimalFlagCalledEvents: gate }),
  };
}

/** Answers every `/flags` request with `body`. */
function answerWith(fake: FakePostHog, body: unknown): void {
  fake.answer = (response: ServerResponse) =>
    void response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** Event properties as compared: the library's own fields (posthog-node's `$is_server`) and the clock's readings aside. */
function comparable(properties: Record<string, unknown>): Record<string, unknown> {
  const {
    $lib: lib,
    $lib_version: version,
    $is_server: _server,
    $feature_flag_evaluated_at: evaluatedAt,
    $feature_flag_definitions_loaded_at: loadedAt,
    ...rest
  } = properties;
  return {
    ...rest,
    lib: typeof lib,
    version: typeof version,
    evaluatedAt: typeof evaluatedAt,
    loadedAt: typeof loadedAt,
  };
}

const READS = ['plain', 'experiment', 'unmarked', 'plain-variant', 'no-such-flag'];

describe("lean exposures, against posthog-node 5.70's (both on the same fake)", () => {
  const fake = useFakePostHog({});
  const started = useStartedFlags(fake);
  const clients: PostHog[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.shutdown()));
    jest.restoreAllMocks();
  });

  function nodeClient(name: string, local: boolean): PostHog {
    const client = new PostHog(`phc_${name}`, {
      host: fake.url,
      ...(local ? { personalApiKey: `phs_${name}`, featureFlagsPollingInterval: 600_000 } : {}),
      flushAt: 10_000,
      disableGeoip: true,
    });
    clients.push(client);
    return client;
  }

  /** The `$feature_flag_called` properties `lib` sent for `distinctId`, by flag, comparable. */
  const calledBy = (lib: string, distinctId: string) =>
    Object.fromEntries(
      fake.events
        .filter((event) => event.event === '$feature_flag_called' && event.distinct_id === distinctId)
        .filter((event) => event.properties.$lib === lib)
        .map((event) => [event.properties.$feature_flag, comparable(event.properties)]),
    );

  /** Both SDKs read {@link READS} for `user` and flush: the events each sent, by flag. */
  async function bothEvents(harness: FlagsHarness, posthog: PostHog, user: FlagContext, local: boolean) {
    const ours = await harness.flags.evaluateFlags(user, { onlyLocal: local });
    const theirs = await posthog.evaluateFlags(user.distinctId, { groups: user.groups, onlyEvaluateLocally: local });
    for (const key of READS) {
      ours.getFlag(key);
      theirs.getFlag(key);
    }
    await posthog.flush();
    await harness.moduleRef.get(ExposureQueue).flush();
    return {
      ours: calledBy('nestjs-posthog-flags', user.distinctId),
      theirs: calledBy('posthog-node', user.distinctId),
    };
  }

  const USERS: FlagContext[] = [{ distinctId: 'u-lean' }, { distinctId: 'u-lean-group', groups: { company: 'acme' } }];
  const GATES: [string, boolean | undefined][] = [
    ['on', true],
    ['off', false],
    ['not said', undefined],
  ];

  describe.each(GATES)('the gate %s', (gateName, gate) => {
    it.each(USERS)('under local evaluation, from the definitions: $distinctId', async (user) => {
      jest.spyOn(console, 'warn').mockImplementation(() => {});
      const harness = await started.startLocal(definitions(gate));
      const posthog = nodeClient(`lean_local_${gateName.replace(/\W/g, '')}`, true);
      await posthog.reloadFeatureFlags();
      const distinctId = `${user.distinctId}-local-${gateName}`;
      const { ours, theirs } = await bothEvents(harness, posthog, { ...user, distinctId }, true);
      expect(Object.keys(theirs).sort()).toEqual([...READS].sort());
      expect(ours).toEqual(theirs);
    });

    it.each(USERS)('from the /flags answer: $distinctId', async (user) => {
      answerWith(fake, flagsAnswer(gate));
      const harness = await started.start();
      const posthog = nodeClient(`lean_remote_${gateName.replace(/\W/g, '')}`, false);
      const distinctId = `${user.distinctId}-remote-${gateName}`;
      const { ours, theirs } = await bothEvents(harness, posthog, { ...user, distinctId }, false);
      expect(Object.keys(theirs).sort()).toEqual([...READS].sort());
      // A flag the answer lacks: posthog-node gives its event the answer's request id and time, we do not (ours
      // are a result's own, DESIGN.md); not a matter of lean events.
      delete ours['no-such-flag'];
      delete theirs['no-such-flag'];
      expect(ours).toEqual(theirs);
    });
  });

  it('turns lean events off on a quota-limited answer, as posthog-node', async () => {
    answerWith(fake, flagsAnswer(true));
    const harness = await started.start({ fallbackAfterMs: 0, circuitBreaker: false });
    (await harness.flags.evaluateFlags('u-lean-quota')).getFlag('plain', { sendFeatureFlagEvents: false });
    fake.answer = 'quota-limited';
    (await harness.flags.evaluateFlags('u-lean-quota')).getFlag('plain');
    await harness.moduleRef.get(ExposureQueue).flush();
    const sent = calledBy('nestjs-posthog-flags', 'u-lean-quota');
    expect(sent.plain).toMatchObject({ '$feature/plain': true, $feature_flag_has_experiment: false });
  });

  it('sends a flag without an experiment lean, and one with an experiment in full, when PostHog asks', async () => {
    answerWith(fake, flagsAnswer(true));
    const harness = await started.start();
    const snapshot = await harness.flags.evaluateFlags('u-lean-shape');
    for (const key of READS) snapshot.getFlag(key);
    await harness.moduleRef.get(ExposureQueue).flush();
    const sent = calledBy('nestjs-posthog-flags', 'u-lean-shape');
    expect(sent.plain).not.toHaveProperty('$feature/plain');
    expect(sent.plain).toMatchObject({ $feature_flag_has_experiment: false, $feature_flag_response: true });
    expect(sent.experiment).toMatchObject({ $feature_flag_has_experiment: true, '$feature/experiment': 'test' });
    expect(sent.unmarked).toHaveProperty('$feature/unmarked', true);
  });
});
