import { describe, expect, it } from '@jest/globals';
import { changedFlags } from './definitions-changes.js';
import type { FlagDefinition, FlagDefinitionsData } from '../definitions.js';

const flag = (key: string, rollout = 100): FlagDefinition => ({
  key,
  active: true,
  filters: { groups: [{ properties: [], rollout_percentage: rollout }] },
});
const data = (flags: FlagDefinition[], cohorts = {}): FlagDefinitionsData => ({
  flags,
  group_type_mapping: {},
  cohorts,
});

describe('changedFlags', () => {
  it('names every flag of the first definitions loaded', () => {
    expect(changedFlags(undefined, data([flag('b'), flag('a')]))).toEqual(['a', 'b']);
  });

  it('names the flags added, removed and changed, and nothing when the definitions say the same', () => {
    const before = data([flag('same'), flag('changed'), flag('removed')]);
    const after = data([flag('same'), flag('changed', 50), flag('added')]);
    expect(changedFlags(before, after)).toEqual(['added', 'changed', 'removed']);
    expect(changedFlags(before, data([flag('same'), flag('changed'), flag('removed')]))).toEqual([]);
  });

  it('names every flag when the cohorts changed', () => {
    const cohorts = { '1': { type: 'AND', values: [] } };
    expect(changedFlags(data([flag('a')]), data([flag('b')], cohorts))).toEqual(['a', 'b']);
  });
});
