import { describe, expect, it, jest } from '@jest/globals';
import { randomDefinitions, randomUser, seededRandom } from '../../../test/support/random-definitions.js';
import { createSnapshot } from '../../evaluation/flag-evaluations.js';
import { SILENT_HOST } from '../../evaluation/empty-snapshot.js';
import type { FlagContext } from '../../flags.types.js';
import { indexDefinitions, parseDefinitions, type FlagDefinition } from '../definitions.js';
import { evaluateEveryFlag, evaluateLocally } from './local-evaluator.js';
import { upFrontPlan } from './decided-ahead.js';
import { LocalResults } from './local-results.js';
import { localSubject } from './local-subject.js';
import { SubjectEvaluation } from './subject-evaluation.js';

const NOW = new Date('2026-12-01T12:00:00Z');

const definitionsOf = (data: Record<string, unknown>) => indexDefinitions(parseDefinitions(data));

/** Each kind of flag: a plain rollout, a multivariate, plain person properties, a cohort, a flag dependency. */
const FLAGS: FlagDefinition[] = [
  { key: 'half', active: true, filters: { groups: [{ rollout_percentage: 50 }] } },
  {
    key: 'colour',
    active: true,
    filters: {
      groups: [{ rollout_percentage: 100 }],
      multivariate: {
        variants: [
          { key: 'red', rollout_percentage: 50 },
          { key: 'blue', rollout_percentage: 50 },
        ],
      },
      payloads: { red: '{"hex":"#f00"}' },
    },
  },
  {
    key: 'pro',
    active: true,
    filters: { groups: [{ properties: [{ key: 'plan', type: 'person', value: 'pro' }], rollout_percentage: 100 }] },
  },
  {
    key: 'in-cohort',
    active: true,
    filters: { groups: [{ properties: [{ key: '7', type: 'cohort', value: 7 }], rollout_percentage: 100 }] },
  },
  {
    key: 'pro-and-half',
    active: true,
    filters: {
      groups: [
        {
          properties: [
            { key: 'pro', type: 'flag', operator: 'flag_evaluates_to', value: true, dependency_chain: ['pro'] },
            { key: 'half', type: 'flag', operator: 'flag_evaluates_to', value: true, dependency_chain: ['half'] },
          ],
        },
      ],
    },
  },
];
const COHORTS = { '7': { type: 'AND', values: [{ key: 'country', type: 'person', value: ['fr', 'de'] }] } };

describe('LocalResults: a flag built when first read', () => {
  it('a read of a flag not yet built is right: each kind of flag, read first, is what evaluating it alone gives', () => {
    const definitions = definitionsOf({ flags: FLAGS, cohorts: COHORTS });
    for (let index = 0; index < 40; index++) {
      const context: FlagContext = {
        distinctId: `user-${index}`,
        personProperties: index % 4 === 3 ? {} : { plan: index % 2 ? 'pro' : 'free', country: index % 3 ? 'fr' : 'us' },
      };
      const subject = localSubject(context);
      for (const flag of FLAGS) {
        const alone = evaluateLocally(definitions, subject, [flag.key], NOW);
        const fresh = new LocalResults(definitions, subject, NOW);
        expect(fresh.get(flag.key)).toEqual(alone.results.get(flag.key));
        expect(fresh.unresolved.get(flag.key)).toEqual(alone.unresolved.get(flag.key));
      }
    }
  });

  it('a read of a flag not yet built is right: random definitions (cohorts, dependencies, groups), read in any order', () => {
    let [upFront, later] = [0, 0];
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const definitions = definitionsOf(randomDefinitions(random, 12));
      const plan = upFrontPlan(definitions);
      upFront += plan.always.length;
      later += definitions.order.length - plan.always.length;
      for (let index = 0; index < 6; index++) {
        const user = randomUser(random, index);
        const subject = localSubject(user as FlagContext);
        const every = evaluateLocally(definitions, subject, undefined, NOW);
        const lazy = evaluateEveryFlag(definitions, subject, NOW);
        const keys = [...definitions.byKey.keys()];
        for (const key of seed % 2 ? keys.reverse() : keys) {
          expect({ seed, key, result: lazy.results.get(key) }).toEqual({ seed, key, result: every.results.get(key) });
        }
        expect(lazy.undecided).toEqual(every.undecided);
        expect([...lazy.unresolved]).toEqual([...every.unresolved]);
        expect([...lazy.results.keys()]).toEqual([...every.results.keys()]);
      }
    }
    // Both kinds met: flags evaluated up front, and flags left until read (for users with plain values).
    expect(upFront).toBeGreaterThan(100);
    expect(later).toBeGreaterThan(100);
  });

  it('a snapshot read gives the same value whatever changes after it was made', () => {
    const before = definitionsOf({ flags: FLAGS, cohorts: COHORTS });
    const personProperties: Record<string, unknown> = { plan: 'pro', country: 'fr' };
    const context: FlagContext = { distinctId: 'user-1', personProperties };
    const answer = evaluateEveryFlag(before, localSubject(context), NOW);
    const snapshot = createSnapshot({ host: SILENT_HOST, context, results: answer.results });
    const expected = evaluateLocally(before, localSubject(context), undefined, NOW).results;
    // Afterwards: new definitions (every flag off, the cohort gone) and the caller's properties changed in place.
    const after = definitionsOf({ flags: FLAGS.map((flag) => ({ ...flag, active: false })) });
    evaluateEveryFlag(after, localSubject(context), new Date());
    personProperties.plan = 'free';
    personProperties.country = 'us';
    for (const flag of FLAGS) expect(snapshot.getFlagResult(flag.key)).toEqual(expected.get(flag.key));
    expect(snapshot.getFlagPayload('colour')).toEqual(expected.get('colour')?.payload);
  });

  it('a request pays for the flags it reads: a new user evaluates the plain flags it reads, not the project', () => {
    const flags = Array.from({ length: 1000 }, (_, index) => ({
      key: `flag-${index}`,
      active: true,
      filters: {
        groups: [{ properties: [{ key: 'plan', type: 'person', value: 'pro' }], rollout_percentage: 50 }],
      },
    }));
    const definitions = definitionsOf({ flags });
    const outcome = jest.spyOn(SubjectEvaluation.prototype, 'outcome');
    try {
      const answer = evaluateEveryFlag(
        definitions,
        localSubject({ distinctId: 'u', personProperties: { plan: 'pro' } }),
        NOW,
      );
      answer.results.get('flag-500');
      expect(outcome).toHaveBeenCalledTimes(1);
      expect(answer.results.size).toBe(1000);
      expect(answer.undecided).toEqual([]);
      outcome.mockClear();
      // The property missing: each flag may be left for PostHog, so every one is evaluated up front.
      const missing = evaluateEveryFlag(definitions, localSubject({ distinctId: 'u' }), NOW);
      expect(outcome).toHaveBeenCalledTimes(1000);
      expect(missing.undecided).toHaveLength(1000);
    } finally {
      outcome.mockRestore();
    }
  });
});
