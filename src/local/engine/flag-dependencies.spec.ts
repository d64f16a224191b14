import { describe, expect, it } from '@jest/globals';
import { dependencyChain, type ChainShape } from '../../../test/support/dependency-chain.js';
import { indexDefinitions, parseDefinitions } from '../definitions.js';
import { evaluateLocally, type LocalAnswer } from './local-evaluator.js';
import { localSubject } from './local-subject.js';

const NOW = new Date('2026-12-01T12:00:00Z');

/**
 * Every flag of the chain evaluated for the person properties. Each level has two conditions on the level below:
 * evaluated again per reference, 30 levels are 2^30 evaluations, which would not finish within the test's timeout.
 */
function evaluateChain(levels: number, shape: ChainShape, personProperties: Record<string, unknown>): LocalAnswer {
  const definitions = indexDefinitions(parseDefinitions(dependencyChain(levels, shape)));
  return evaluateLocally(definitions, localSubject({ distinctId: 'u', personProperties }), undefined, NOW);
}

const valueOf = (answer: LocalAnswer, key: string) => {
  const result = answer.results.get(key);
  return result ? (result.variant ?? result.enabled) : 'undecided';
};

describe('flag dependencies: each flag evaluated once per evaluation', () => {
  it.each<ChainShape>(['full', 'parent', 'reversed'])(
    '30 levels of two conditions each, %s chains, the root undecided: every level undecided, at once',
    (shape) => {
      const answer = evaluateChain(30, shape, {});
      expect(answer.results.size).toBe(0);
      expect(answer.undecided).toHaveLength(31);
    },
  );

  it.each<ChainShape>(['full', 'parent', 'reversed'])(
    '30 levels, %s chains, decided: each level follows the one below',
    (shape) => {
      for (const plan of ['pro', 'free']) {
        const answer = evaluateChain(30, shape, { plan });
        expect(valueOf(answer, 'level-0')).toBe(plan === 'pro');
        expect(valueOf(answer, 'level-1')).toBe(plan === 'pro' ? 'on-below' : 'off-below');
        expect(valueOf(answer, 'level-30')).toBe('on-below');
        expect(answer.undecided).toEqual([]);
      }
    },
  );

  it('a cycle the chains do not say goes to PostHog instead of overflowing the stack', () => {
    const body = dependencyChain(2, 'parent') as { flags: { key: string; filters: { groups: unknown[] } }[] };
    body.flags[0]!.filters.groups = [
      {
        properties: [
          { key: 'level-2', type: 'flag', operator: 'flag_evaluates_to', value: true, dependency_chain: ['level-2'] },
        ],
      },
    ];
    const definitions = indexDefinitions(parseDefinitions(body));
    const answer = evaluateLocally(definitions, localSubject({ distinctId: 'u' }), undefined, NOW);
    expect(answer.undecided).toEqual(['level-0', 'level-1', 'level-2']);
  });
});
