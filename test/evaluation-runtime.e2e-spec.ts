import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PostHog } from 'posthog-node';
import type { FlagContext } from '../src/index.js';
import type { FlagsRequestBody } from './support/fake-posthog.js';
import type { FlagsHarness } from './support/flags-app.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { posthogNodeOracle } from './support/posthog-node-oracle.js';

/** A flag on for everyone, or for `plan: pro` only (undecided without the property), marked with a runtime. */
function flag(id: number, key: string, runtime: string | undefined, proOnly: boolean): Record<string, unknown> {
  const properties = proOnly ? [{ key: 'plan', type: 'person', operator: 'exact', value: 'pro' }] : [];
  return {
    id,
    key,
    active: true,
    ...(runtime === undefined ? {} : { evaluation_runtime: runtime }),
    filters: { groups: [{ properties, rollout_percentage: 100 }] },
  };
}

/** Flags of each runtime, each decided for anyone and undecided without a plan; `null` is read as `all`. */
const DEFINITIONS = {
  flags: [
    flag(1, 'client-decided', 'client', false),
    flag(2, 'client-undecided', 'client', true),
    flag(3, 'server-decided', 'server', false),
    flag(4, 'server-undecided', 'server', true),
    flag(5, 'all-undecided', 'all', true),
    flag(6, 'unmarked-undecided', undefined, true),
    { ...flag(7, 'null-undecided', undefined, true), evaluation_runtime: null },
  ],
  group_type_mapping: {},
  cohorts: {},
};

/** What PostHog answers a server (`evaluation_runtime: 'server'`): every flag but the `client` ones. */
const SERVER_ANSWERS = {
  'server-decided': { enabled: true },
  'server-undecided': { enabled: true },
  'all-undecided': { enabled: true },
  'unmarked-undecided': { enabled: true },
  'null-undecided': { enabled: true },
};

/** The keys asked in turn: each runtime alone, a mix, and every flag (undefined). */
const QUESTIONS: (string[] | undefined)[] = [
  ['client-undecided'],
  ['client-decided', 'client-undecided'],
  ['server-undecided'],
  ['all-undecided'],
  ['unmarked-undecided'],
  ['null-undecided'],
  ['client-undecided', 'server-decided'],
  undefined,
];

const ORACLE = 'evaluation_runtime';

describe("evaluation runtimes, against posthog-node 5.70's (local evaluation, both on the same fake)", () => {
  const fake = useFakePostHog(SERVER_ANSWERS);
  const started = useStartedFlags(fake);
  let posthog: PostHog;

  beforeAll(async () => {
    fake.definitions = DEFINITIONS;
    posthog = posthogNodeOracle(fake.url, ORACLE);
    await posthog.reloadFeatureFlags();
  });

  afterAll(() => posthog.shutdown());

  /** The `/flags` bodies sent with `token` since `from`. */
  const bodiesSince = (from: number, token: string): FlagsRequestBody[] =>
    fake.requests
      .slice(from)
      .filter((request) => request.body.token === token)
      .map((request) => request.body);

  /** The values, unresolved flags and `/flags` calls of one snapshot of `flagKeys` for a user without a plan. */
  async function outcome(read: () => Promise<SnapshotLike>, token: string) {
    const from = fake.requests.length;
    const snapshot = await read();
    const values = Object.fromEntries(
      [...snapshot.keys].sort().map((key) => [key, snapshot.getFlag(key, { sendFeatureFlagEvents: false })]),
    );
    return { values, unresolved: snapshot.unresolvedFlags, asked: bodiesSince(from, token).length > 0 };
  }

  /** Ours and posthog-node's outcome for the same question. */
  async function both(harness: FlagsHarness, flagKeys: string[] | undefined, onlyLocal: boolean) {
    const user: FlagContext = { distinctId: `u-runtime-${String(flagKeys)}-${onlyLocal}` };
    const ours = await outcome(() => harness.flags.evaluateFlags(user, { flagKeys, onlyLocal }), TEST_API_KEY);
    const options = { flagKeys, onlyEvaluateLocally: onlyLocal, personProperties: {} };
    const theirs = await outcome(() => posthog.evaluateFlags(user.distinctId, options), `phc_${ORACLE}`);
    return { ours, theirs };
  }

  it.each(QUESTIONS.map((keys): [string, string[] | undefined] => [String(keys ?? 'every flag'), keys]))(
    'asks /flags for what a server may evaluate, and answers the same: %s',
    async (_name, flagKeys) => {
      const harness = await started.startLocal(DEFINITIONS);
      const { ours, theirs } = await both(harness, flagKeys, false);
      expect(ours).toEqual(theirs);
    },
  );

  it("asks nothing for a client-only flag read from the context's remembered answer to every flag", async () => {
    const harness = await started.startLocal(DEFINITIONS);
    await harness.flags.evaluateFlags('u-runtime-remembered', { onlyLocal: false });
    const from = fake.requests.length;
    const snapshot = await harness.flags.evaluateFlags('u-runtime-remembered', { flagKeys: ['client-undecided'] });
    expect(bodiesSince(from, TEST_API_KEY)).toEqual([]);
    expect(snapshot.unresolvedFlags).toEqual({ 'client-undecided': 'missing_context' });
  });

  it('answers a client-only flag it can decide, and leaves the others unresolved, under onlyLocal', async () => {
    const harness = await started.startLocal(DEFINITIONS);
    const { ours, theirs } = await both(harness, undefined, true);
    expect(ours).toEqual(theirs);
    expect(ours.values).toEqual({ 'client-decided': true, 'server-decided': true });
    expect(Object.keys(ours.unresolved).sort()).toEqual([
      'all-undecided',
      'client-undecided',
      'null-undecided',
      'server-undecided',
      'unmarked-undecided',
    ]);
  });

  it("sends evaluation_runtime: 'server' in every /flags body, as posthog-node", async () => {
    const harness = await started.start();
    const from = fake.requests.length;
    await harness.flags.evaluateFlags('u-runtime-body');
    await posthog.evaluateFlags('u-runtime-body', { flagKeys: ['server-undecided'] });
    const [ours] = bodiesSince(from, TEST_API_KEY);
    const [theirs] = bodiesSince(from, `phc_${ORACLE}`);
    expect(ours!.evaluation_runtime).toBe('server');
    expect(ours!.evaluation_runtime).toBe(theirs!.evaluation_runtime);
  });
});

describe('bootstrap(): the flags a browser evaluates', () => {
  const fake = useFakePostHog(SERVER_ANSWERS);
  const started = useStartedFlags(fake);

  it("leaves out the flags the definitions mark 'server'; getAllFlags keeps every one", async () => {
    const { flags } = await started.startLocal(DEFINITIONS);
    const user = { distinctId: 'u-bootstrap', personProperties: { plan: 'pro' } };
    const every = {
      'client-decided': true,
      'client-undecided': true,
      'server-decided': true,
      'server-undecided': true,
      'all-undecided': true,
      'unmarked-undecided': true,
      'null-undecided': true,
    };
    expect(await flags.getAllFlags(user)).toEqual(every);
    const { 'server-decided': _decided, 'server-undecided': _undecided, ...browser } = every;
    expect((await flags.bootstrap(user)).featureFlags).toEqual(browser);
    expect((await flags.evaluateFlags(user)).bootstrap().featureFlags).toEqual(browser);
  });

  it('keeps every flag without definitions: nothing says where a flag runs', async () => {
    const { flags } = await started.start();
    expect((await flags.bootstrap('u-bootstrap-remote')).featureFlags).toEqual(
      Object.fromEntries(Object.keys(SERVER_ANSWERS).map((key) => [key, true])),
    );
  });
});

/** What both snapshots are read with. */
interface SnapshotLike {
  readonly keys: string[];
  readonly unresolvedFlags: Readonly<Record<string, string>>;
  getFlag(key: string, options?: { sendFeatureFlagEvents?: boolean }): unknown;
}
