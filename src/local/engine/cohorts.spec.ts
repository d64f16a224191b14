import { describe, expect, it } from '@jest/globals';
import { cohortChain } from '../../../test/support/cohort-chain.js';
import { indexDefinitions, parseDefinitions } from '../definitions.js';
import { evaluateLocally, type LocalAnswer } from './local-evaluator.js';
import { localSubject } from './local-subject.js';

const NOW = new Date('2026-12-01T12:00:00Z');

const valueOf = (answer: LocalAnswer, key: string) => {
  const result = answer.results.get(key);
  return result ? (result.variant ?? result.enabled) : 'undecided';
};

/**
 * The flag of a chain of `levels` cohorts evaluated for the person properties, and how many times the evaluation
 * looked up each cohort's definition. The lookups are counted by a Proxy on the definitions' cohorts: a count, not
 * a clock. Past `budget` lookups in all the Proxy throws, so an evaluation that matches the cohorts again and again
 * (2^levels lookups) stops at once instead of running for hours.
 */
function evaluateChain(levels: number, personProperties: Record<string, unknown>) {
  const budget = 10 * (levels + 1);
  const definitions = indexDefinitions(parseDefinitions(cohortChain(levels)));
  const lookups = new Map<string, number>();
  let total = 0;
  const cohorts = new Proxy(definitions.data.cohorts, {
    get(target, id, receiver) {
      if (typeof id === 'string' && Object.hasOwn(target, id)) {
        lookups.set(id, (lookups.get(id) ?? 0) + 1);
        if (++total > budget) throw new Error(`more than ${budget} cohort lookups`);
      }
      return Reflect.get(target, id, receiver) as unknown;
    },
  });
  const counted = { ...definitions, data: { ...definitions.data, cohorts } };
  const subject = localSubject({ distinctId: 'u', personProperties });
  const answer = evaluateLocally(counted, subject, undefined, NOW);
  return { answer, lookups: Object.fromEntries(lookups) };
}

/** Each of the chain's cohorts (`0` to `levels`) looked up once. */
const eachOnce = (levels: number) => Object.fromEntries(Array.from({ length: levels + 1 }, (_, id) => [String(id), 1]));

describe('cohorts: each cohort matched once per evaluation', () => {
  // Counted, not timed (no wall-clock assertions in tests): without memberships remembered, the lookups double with
  // every level (22 levels took 800 ms); with them, each cohort is looked up once.
  it.each([
    ['pro', true],
    ['free', false],
    [undefined, 'undecided'],
  ] as const)(
    '30 levels of cohorts each naming the next twice, plan %s: %s, each cohort looked up once',
    (plan, expected) => {
      const { answer, lookups } = evaluateChain(30, plan === undefined ? {} : { plan });
      expect(lookups).toEqual(eachOnce(30));
      expect(valueOf(answer, 'in-chain')).toBe(expected);
    },
  );

  it('cohorts that name each other in a cycle go to PostHog instead of overflowing the stack', () => {
    const inCohort = (id: number) => ({ key: 'id', type: 'cohort', value: id, operator: 'in' });
    const body = cohortChain(1) as { cohorts: Record<string, unknown> };
    body.cohorts['0'] = { type: 'OR', values: [{ type: 'AND', values: [inCohort(1)] }] };
    body.cohorts['1'] = { type: 'OR', values: [{ type: 'AND', values: [inCohort(0)] }] };
    const definitions = indexDefinitions(parseDefinitions(body));
    const answer = evaluateLocally(definitions, localSubject({ distinctId: 'u' }), undefined, NOW);
    expect(answer.undecided).toEqual(['in-chain']);
  });

  it('a cohort named by two conditions, one of them for a group, is matched against each one’s properties', () => {
    const definitions = indexDefinitions(
      parseDefinitions({
        flags: [
          {
            key: 'f',
            active: true,
            filters: {
              groups: [
                { properties: [{ key: 'id', type: 'cohort', value: 7 }], aggregation_group_type_index: 0 },
                { properties: [{ key: 'id', type: 'cohort', value: 7 }] },
              ],
            },
          },
        ],
        group_type_mapping: { '0': 'company' },
        cohorts: { '7': { type: 'AND', values: [{ key: 'plan', type: 'person', operator: 'exact', value: 'pro' }] } },
      }),
    );
    const subject = (person: string, company: string) =>
      localSubject({
        distinctId: 'u',
        personProperties: { plan: person },
        groups: { company: 'acme' },
        groupProperties: { company: { plan: company } },
      });
    expect(valueOf(evaluateLocally(definitions, subject('free', 'pro'), ['f'], NOW), 'f')).toBe(true);
    expect(valueOf(evaluateLocally(definitions, subject('pro', 'free'), ['f'], NOW), 'f')).toBe(true);
    expect(valueOf(evaluateLocally(definitions, subject('free', 'free'), ['f'], NOW), 'f')).toBe(false);
  });
});
