import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { indexDefinitions, parseDefinitions } from '../src/local/definitions.js';
import { evaluateLocally } from '../src/local/engine/local-evaluator.js';
import { localSubject } from '../src/local/engine/local-subject.js';
import { FakePostHog } from './support/fake-posthog.js';
import { randomDefinitions, randomUser, seededRandom } from './support/random-definitions.js';
import { posthogNodeOracle } from './support/posthog-node-oracle.js';

/** Seeds of definition sets, each evaluated for USERS users, every flag: a few thousand cases in all. */
const SEEDS = Array.from({ length: 12 }, (_, index) => 1000 + index);
const USERS = 60;

describe('local evaluation, against posthog-node 5.70 (random definitions and users, served by the fake)', () => {
  let fake: FakePostHog;
  beforeAll(async () => {
    fake = await FakePostHog.start();
    // posthog-node warns, per definitions load, about flags it cannot evaluate locally: expected here.
    jest.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterAll(() => fake.stop());

  it('decides every case posthog-node decides the same way, and leaves the rest to PostHog', async () => {
    let decided = 0;
    let undecided = 0;
    const disagreements: string[] = [];
    for (const seed of SEEDS) {
      const random = seededRandom(seed);
      const body = randomDefinitions(random);
      fake.definitions = body;
      const definitions = indexDefinitions(parseDefinitions(body));
      const posthog = posthogNodeOracle(fake.url, 'differential');
      try {
        for (let index = 0; index < USERS; index++) {
          const user = randomUser(random, index);
          const personProperties = user.deviceId
            ? { $device_id: user.deviceId, ...user.personProperties }
            : user.personProperties;
          const ours = evaluateLocally(definitions, localSubject(user), undefined, new Date());
          for (const flag of definitions.data.flags) {
            const theirs = await posthog.getFeatureFlagResult(flag.key, user.distinctId, {
              groups: user.groups,
              personProperties,
              groupProperties: user.groupProperties,
              onlyEvaluateLocally: true,
              sendFeatureFlagEvents: false,
            });
            const mine = ours.results.get(flag.key);
            const expected = theirs && { value: theirs.variant ?? theirs.enabled, payload: theirs.payload };
            const actual = mine && { value: mine.variant ?? mine.enabled, payload: mine.payload };
            if (theirs) decided++;
            else undecided++;
            if (JSON.stringify(expected) !== JSON.stringify(actual)) {
              disagreements.push(
                `seed ${seed} ${flag.key} ${JSON.stringify(user)}: posthog-node ${JSON.stringify(expected)}, ours ${JSON.stringify(actual)}`,
              );
            }
          }
        }
      } finally {
        await posthog.shutdown();
      }
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
    // The generator reaches both sides: plenty decided, plenty left to PostHog.
    expect(decided).toBeGreaterThan(2000);
    expect(undecided).toBeGreaterThan(500);
  }, 120_000);
});
