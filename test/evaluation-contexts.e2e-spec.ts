import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import { PostHog } from 'posthog-node';
import type { FlagsRequestBody } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** A flag on for everyone, limited to `contexts` (under `field`, the current name or the older one) when given. */
function flag(id: number, key: string, contexts?: unknown, field = 'evaluation_contexts'): Record<string, unknown> {
  return {
    id,
    key,
    active: true,
    ...(contexts === undefined ? {} : { [field]: contexts }),
    filters: { groups: [{ properties: [], rollout_percentage: 100 }] },
  };
}

/** A flag on when `dependency` evaluates to `value`. */
function dependent(id: number, key: string, dependency: string, value: boolean): Record<string, unknown> {
  const property = {
    key: dependency,
    type: 'flag',
    operator: 'flag_evaluates_to',
    value,
    dependency_chain: [dependency],
  };
  return { id, key, active: true, filters: { groups: [{ properties: [property], rollout_percentage: 100 }] } };
}

/** Flags of every kind of context: current and older field names, none, empty, odd values, dependencies. */
const DEFINITIONS = {
  flags: [
    flag(1, 'web-only', ['web']),
    flag(2, 'api-only', ['api']),
    flag(3, 'api-or-web', ['web', 'api']),
    flag(4, 'legacy-web', ['web'], 'evaluation_tags'),
    flag(5, 'legacy-api', ['api'], 'evaluation_tags'),
    flag(6, 'untagged'),
    flag(7, 'empty-contexts', []),
    { ...flag(8, 'new-name-wins', ['web']), evaluation_tags: ['api'] },
    dependent(9, 'needs-web-on', 'web-only', true),
    dependent(10, 'needs-web-off', 'web-only', false),
    dependent(11, 'needs-api-on', 'api-only', true),
    dependent(12, 'needs-ghost', 'ghost', true),
  ],
  group_type_mapping: {},
  cohorts: {},
};

/** What a snapshot is read for here. */
interface SnapshotLike {
  readonly keys: string[];
  readonly unresolvedFlags: Readonly<Record<string, string>>;
  getFlag(key: string, options?: { sendFeatureFlagEvents?: boolean }): unknown;
}

/** Every key the definitions name, and one they do not. */
const KEYS = [...DEFINITIONS.flags.map((definition) => definition.key as string), 'ghost'];

/** The values, keys and unresolved flags of a snapshot, events off. */
function outcome(snapshot: SnapshotLike) {
  const values = Object.fromEntries(KEYS.map((key) => [key, snapshot.getFlag(key, { sendFeatureFlagEvents: false })]));
  return { values, keys: [...snapshot.keys].sort(), unresolved: snapshot.unresolvedFlags };
}

describe("evaluation contexts, against posthog-node 5.70's (both on the same fake)", () => {
  const fake = useFakePostHog({});
  const started = useStartedFlags(fake);
  const clients: PostHog[] = [];

  /** A posthog-node client with these contexts (under posthog-node's current option name, or its older one). */
  function nodeClient(name: string, options: Record<string, unknown>, local: boolean): PostHog {
    const client = new PostHog(`phc_${name}`, {
      host: fake.url,
      ...(local ? { personalApiKey: `phs_${name}`, featureFlagsPollingInterval: 600_000 } : {}),
      flushAt: 10_000,
      disableGeoip: true,
      ...options,
    });
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.shutdown()));
    jest.restoreAllMocks();
  });

  afterAll(() => {
    jest.restoreAllMocks();
  });

  /** The body of the last `/flags` request made with `token`. */
  const lastBody = (token: string): FlagsRequestBody =>
    fake.requests.filter((request) => request.body.token === token).at(-1)!.body;

  const field = (body: FlagsRequestBody) =>
    Object.hasOwn(body, 'evaluation_contexts') ? body.evaluation_contexts : '(absent)';

  it.each<[string, Record<string, unknown>]>([
    ['evaluationContexts', { evaluationContexts: ['api', 'checkout'] }],
    ['evaluationEnvironments (the older name)', { evaluationEnvironments: ['api'] }],
    ['both: evaluationContexts wins', { evaluationContexts: ['api'], evaluationEnvironments: ['web'] }],
    ['none', {}],
    ['an empty list', { evaluationContexts: [] }],
  ])('are sent as evaluation_contexts in the /flags body: %s', async (name, options) => {
    // posthog-node warns that evaluationEnvironments is deprecated: expected here.
    jest.spyOn(console, 'warn').mockImplementation(() => {});
    const token = `body_${name.replace(/\W+/g, '_')}`;
    const { flags } = await started.start(options);
    await flags.evaluateFlags('u-contexts', { flagKeys: ['beta'] });
    await nodeClient(token, options, false).evaluateFlags('u-contexts', { flagKeys: ['beta'] });
    expect(field(lastBody(TEST_API_KEY))).toEqual(field(lastBody(`phc_${token}`)));
  });

  it.each<[string, string[] | undefined]>([
    ['api', ['api']],
    ['web', ['web']],
    ['api and web', ['api', 'web']],
    ['another one only', ['mobile']],
    ['none', undefined],
  ])(
    'leave out the flags of other contexts under local evaluation, dependencies on them off: %s',
    async (name, contexts) => {
      // posthog-node warns about the flag it cannot evaluate locally (needs-ghost): expected here.
      jest.spyOn(console, 'warn').mockImplementation(() => {});
      const options = contexts ? { evaluationContexts: contexts } : {};
      const harness = await started.startLocal(DEFINITIONS, options);
      const posthog = nodeClient(`local_${name.replace(/\W+/g, '_')}`, options, true);
      await posthog.reloadFeatureFlags();
      const ours = outcome(await harness.flags.evaluateFlags('u-local', { onlyLocal: true }));
      const theirs = outcome(await posthog.evaluateFlags('u-local', { onlyEvaluateLocally: true }));
      expect(ours).toEqual(theirs);
    },
  );

  it('ask /flags for a flag left out that is named, as posthog-node does', async () => {
    jest.spyOn(console, 'warn').mockImplementation(() => {});
    fake.setFlags({ 'web-only': { enabled: false } });
    const options = { evaluationContexts: ['api'] };
    const harness = await started.startLocal(DEFINITIONS, options);
    const posthog = nodeClient('named', options, true);
    await posthog.reloadFeatureFlags();
    const question = { flagKeys: ['web-only', 'api-only'] };
    const ours = outcome(await harness.flags.evaluateFlags('u-named', question));
    const theirs = outcome(await posthog.evaluateFlags('u-named', question));
    expect(ours).toEqual(theirs);
    expect(ours.values['web-only']).toBe(false);
  });

  it('ask /flags for every flag when none is kept, as posthog-node does', async () => {
    fake.setFlags({ 'web-only': { enabled: true }, 'api-only': { enabled: false } });
    const tagged = { ...DEFINITIONS, flags: DEFINITIONS.flags.slice(0, 2) };
    const options = { evaluationContexts: ['mobile'] };
    const harness = await started.startLocal(tagged, options);
    const posthog = nodeClient('none_kept', options, true);
    await posthog.reloadFeatureFlags();
    const from = fake.requests.length;
    const asked = (token: string) => fake.requests.slice(from).filter((request) => request.body.token === token).length;
    const ours = outcome(await harness.flags.evaluateFlags('u-none-kept'));
    const theirs = outcome(await posthog.evaluateFlags('u-none-kept'));
    expect(ours).toEqual(theirs);
    expect(ours.values['web-only']).toBe(true);
    expect(asked(TEST_API_KEY)).toBe(1);
    expect(asked('phc_none_kept')).toBe(1);
  });

  it.each<[string, unknown]>([
    ['not an array', 'api'],
    ['an empty string', ['api', '']],
    ['a number', [1]],
    ['too long a context', ['x'.repeat(201)]],
    ['too many', Array.from({ length: 101 }, (_, index) => `c${index}`)],
  ])('fail at startup when they are not a list of short strings: %s', async (_name, evaluationContexts) => {
    await expect(started.start({ evaluationContexts } as never)).rejects.toThrow(/evaluationContexts/);
  });
});
