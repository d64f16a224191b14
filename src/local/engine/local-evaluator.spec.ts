import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import type { FlagContext } from '../../flags.types.js';
import { indexDefinitions, parseDefinitions, type FlagDefinition, type FlagProperty } from '../definitions.js';
import { evaluateLocally } from './local-evaluator.js';
import { LOCAL_REASON } from './local-results.js';
import { localSubject } from './local-subject.js';

const NOW = new Date('2026-12-01T12:00:00Z');

/** The value local evaluation gives `key`, or `'undecided'`. */
function valueOf(flags: unknown[], key: string, context: FlagContext | string, extra: object = {}): unknown {
  const definitions = indexDefinitions(parseDefinitions({ flags, ...extra }));
  const subject = localSubject(typeof context === 'string' ? { distinctId: context } : context);
  const answer = evaluateLocally(definitions, subject, [key], NOW);
  const [flag] = answer.results.values();
  return flag ? (flag.variant ?? flag.enabled) : 'undecided';
}

/** A flag with one condition made of `properties`, rolled out to everyone. */
function flagWith(properties: FlagProperty[], more: Partial<FlagDefinition> = {}): FlagDefinition {
  return { key: 'f', active: true, filters: { groups: [{ properties, rollout_percentage: 100 }] }, ...more };
}

function matches(property: FlagProperty, personProperties: Record<string, unknown>): unknown {
  return valueOf([flagWith([{ type: 'person', ...property }])], 'f', { distinctId: 'u', personProperties });
}

describe('local evaluation', () => {
  it("reproduces PostHog's 2000 hash-consistency cases", () => {
    const vectors = JSON.parse(readFileSync('test/fixtures/local-eval-consistency.json', 'utf8')) as {
      flags: unknown[];
      cases: { flag: string; distinctId: string; value: unknown }[];
    };
    const wrong = vectors.cases.filter(
      ({ flag, distinctId, value }) => valueOf(vectors.flags, flag, distinctId) !== value,
    );
    expect(vectors.cases).toHaveLength(2000);
    expect(wrong).toEqual([]);
  });

  it.each<[string, FlagProperty, Record<string, unknown>, unknown]>([
    ['exact, case-insensitive', { key: 'plan', operator: 'exact', value: 'PRO' }, { plan: 'pro' }, true],
    ['exact, no match', { key: 'plan', operator: 'exact', value: 'pro' }, { plan: 'free' }, false],
    ['exact, membership', { key: 'plan', operator: 'exact', value: ['free', 'pro'] }, { plan: 'pro' }, true],
    ['exact, booleans', { key: 'beta', operator: 'exact', value: ['true'] }, { beta: true }, true],
    ['is_not', { key: 'plan', operator: 'is_not', value: 'pro' }, { plan: 'free' }, true],
    ['is_not, matching', { key: 'plan', operator: 'is_not', value: ['free'] }, { plan: 'free' }, false],
    ['is_set', { key: 'plan', operator: 'is_set', value: 'is_set' }, { plan: 'x' }, true],
    ['is_set, missing', { key: 'plan', operator: 'is_set', value: 'is_set' }, {}, 'undecided'],
    ['is_not_set, present', { key: 'plan', operator: 'is_not_set', value: 'is_not_set' }, { plan: 'x' }, false],
    ['icontains', { key: 'email', operator: 'icontains', value: 'POSTHOG' }, { email: 'a@posthog.com' }, true],
    ['not_icontains', { key: 'email', operator: 'not_icontains', value: 'posthog' }, { email: 'a@x.com' }, true],
    ['icontains, ASCII letters only', { key: 'city', operator: 'icontains', value: 'école' }, { city: 'ÉCOLE' }, false],
    ['icontains, non-ASCII text', { key: 'city', operator: 'icontains', value: 'Cole' }, { city: 'ÉCOLE' }, true],
    ['starts_with', { key: 'email', operator: 'starts_with', value: 'A@' }, { email: 'a@x.com' }, true],
    ['not_starts_with', { key: 'email', operator: 'not_starts_with', value: 'a@' }, { email: 'a@x.com' }, false],
    ['ends_with', { key: 'email', operator: 'ends_with', value: '.COM' }, { email: 'a@x.com' }, true],
    ['not_ends_with', { key: 'email', operator: 'not_ends_with', value: '.com' }, { email: 'a@x.fr' }, true],
    ['regex', { key: 'email', operator: 'regex', value: '^[a-c]@x\\.com$' }, { email: 'b@x.com' }, true],
    ['regex, no match', { key: 'email', operator: 'regex', value: '^z' }, { email: 'b@x.com' }, false],
    ['not_regex', { key: 'email', operator: 'not_regex', value: '^z' }, { email: 'b@x.com' }, true],
    ['bad regex: no match', { key: 'email', operator: 'regex', value: '(' }, { email: 'b@x.com' }, false],
    [
      'look-ahead: the server decides',
      { key: 'email', operator: 'regex', value: '(?=b)' },
      { email: 'b' },
      'undecided',
    ],
    ['gt, numbers', { key: 'age', operator: 'gt', value: 18 }, { age: 30 }, true],
    ['gt, numeric strings', { key: 'age', operator: 'gt', value: '18' }, { age: '9' }, false],
    ['gte', { key: 'age', operator: 'gte', value: 18 }, { age: 18 }, true],
    ['lt', { key: 'age', operator: 'lt', value: 18 }, { age: 17.5 }, true],
    ['lte, as strings', { key: 'name', operator: 'lte', value: 'b' }, { name: 'a' }, true],
    ['gt, null value', { key: 'age', operator: 'gt', value: 1 }, { age: null }, false],
    ['missing property', { key: 'age', operator: 'gt', value: 1 }, {}, 'undecided'],
    ['unknown operator', { key: 'age', operator: 'nearly', value: 1 }, { age: 1 }, 'undecided'],
    ['date before', { key: 'd', operator: 'is_date_before', value: '2025-01-01' }, { d: '2024-06-01' }, true],
    ['date after', { key: 'd', operator: 'is_date_after', value: '2025-01-01' }, { d: '2024-06-01' }, false],
    ['relative date, -30d', { key: 'd', operator: 'is_date_after', value: '-30d' }, { d: '2026-11-15' }, true],
    ['relative date, -12h', { key: 'd', operator: 'is_date_after', value: '-12h' }, { d: '2026-11-30' }, false],
    ['relative date, -1y', { key: 'd', operator: 'is_date_before', value: '-1y' }, { d: '2025-11-30' }, true],
    ['bad date', { key: 'd', operator: 'is_date_before', value: '2025-01-01' }, { d: 'soon' }, 'undecided'],
    ['bad date filter', { key: 'd', operator: 'is_date_before', value: 'soon' }, { d: '2025-01-01' }, 'undecided'],
    ['semver_eq', { key: 'v', operator: 'semver_eq', value: '1.2.0' }, { v: 'v1.2' }, true],
    ['semver_neq', { key: 'v', operator: 'semver_neq', value: '1.2.0' }, { v: '1.2.1' }, true],
    ['semver_gt', { key: 'v', operator: 'semver_gt', value: '1.9.0' }, { v: '1.10.0' }, true],
    ['semver_gte', { key: 'v', operator: 'semver_gte', value: '2.0.0' }, { v: '1.10.0' }, false],
    ['semver_lt', { key: 'v', operator: 'semver_lt', value: '2.0.0-beta' }, { v: '1.99.99' }, true],
    ['semver_lte', { key: 'v', operator: 'semver_lte', value: '1.2.3' }, { v: '1.2.3+build' }, true],
    ['semver_tilde', { key: 'v', operator: 'semver_tilde', value: '1.2.3' }, { v: '1.2.9' }, true],
    ['semver_tilde, next minor', { key: 'v', operator: 'semver_tilde', value: '1.2.3' }, { v: '1.3.0' }, false],
    ['semver_caret', { key: 'v', operator: 'semver_caret', value: '1.2.3' }, { v: '1.9.0' }, true],
    ['semver_caret, 0.x', { key: 'v', operator: 'semver_caret', value: '0.2.3' }, { v: '0.3.0' }, false],
    ['semver_wildcard', { key: 'v', operator: 'semver_wildcard', value: '1.2.*' }, { v: '1.2.7' }, true],
    ['semver_wildcard, other minor', { key: 'v', operator: 'semver_wildcard', value: '1.*' }, { v: '2.0.0' }, false],
    ['bad version', { key: 'v', operator: 'semver_gt', value: '1.0.0' }, { v: '01.2.3' }, 'undecided'],
  ])('operator: %s', (_name, property, personProperties, expected) => {
    expect(matches(property, personProperties)).toBe(expected);
  });

  it('matches distinct_id as a person property, as posthog-node adds it', () => {
    expect(matches({ key: 'distinct_id', operator: 'exact', value: 'u' }, {})).toBe(true);
  });

  it('evaluates cohorts, nested, with negation; a static cohort needs PostHog', () => {
    const cohorts = {
      '1': { type: 'OR', values: [{ type: 'AND', values: [{ key: 'plan', type: 'person', value: 'pro' }] }] },
      '2': {
        type: 'AND',
        values: [
          {
            type: 'AND',
            values: [
              { key: 'id', type: 'cohort', value: 1 },
              { key: 'country', type: 'person', value: 'FR', negation: true },
            ],
          },
        ],
      },
    };
    const flag = (cohort: number, operator?: string) => [
      flagWith([{ key: 'id', type: 'cohort', value: cohort, ...(operator ? { operator } : {}) }]),
    ];
    const user = (plan: string, country: string) => ({ distinctId: 'u', personProperties: { plan, country } });
    expect(valueOf(flag(2), 'f', user('pro', 'US'), { cohorts })).toBe(true);
    expect(valueOf(flag(2), 'f', user('pro', 'FR'), { cohorts })).toBe(false);
    expect(valueOf(flag(2), 'f', user('free', 'US'), { cohorts })).toBe(false);
    expect(valueOf(flag(1, 'not_in'), 'f', user('free', 'US'), { cohorts })).toBe(true);
    expect(valueOf(flag(99), 'f', user('pro', 'US'), { cohorts })).toBe('undecided');
  });

  it('evaluates flag dependencies; a cycle or a missing flag needs PostHog', () => {
    const base: FlagDefinition = {
      key: 'base',
      active: true,
      filters: {
        groups: [{ rollout_percentage: 100 }],
        multivariate: { variants: [{ key: 'v', rollout_percentage: 100 }] },
      },
    };
    const on = (value: unknown, chain: unknown = ['base']) =>
      flagWith([{ key: 'base', type: 'flag', operator: 'flag_evaluates_to', value, dependency_chain: chain }]);
    expect(valueOf([base, on(true)], 'f', 'u')).toBe(true);
    expect(valueOf([base, on('v')], 'f', 'u')).toBe(true);
    expect(valueOf([base, on(false)], 'f', 'u')).toBe(false);
    expect(valueOf([base, on(true, [])], 'f', 'u')).toBe('undecided');
    expect(valueOf([base, on(true, ['gone', 'base'])], 'f', 'u')).toBe('undecided');
    expect(valueOf([{ ...base, active: false }, on(false)], 'f', 'u')).toBe(true);
  });

  it('evaluates group flags by the group key, off without the group, undecided for an unknown group type', () => {
    const flags = [
      {
        key: 'g',
        active: true,
        filters: {
          aggregation_group_type_index: 0,
          groups: [
            { properties: [{ key: 'size', type: 'group', operator: 'gt', value: 10 }], rollout_percentage: 100 },
          ],
        },
      },
      {
        key: 'unknown-type',
        active: true,
        filters: { aggregation_group_type_index: 3, groups: [{ rollout_percentage: 100 }] },
      },
    ];
    const extra = { group_type_mapping: { '0': 'company' } };
    const inCompany = (size: number) => ({
      distinctId: 'u',
      groups: { company: 'acme' },
      groupProperties: { company: { size } },
    });
    expect(valueOf(flags, 'g', inCompany(50), extra)).toBe(true);
    expect(valueOf(flags, 'g', inCompany(5), extra)).toBe(false);
    expect(valueOf(flags, 'g', 'u', extra)).toBe(false);
    expect(valueOf(flags, 'unknown-type', inCompany(50), extra)).toBe('undecided');
  });

  it('early_exit: a condition matched but rolled out of ends the flag at false', () => {
    const flag = (earlyExit: boolean): FlagDefinition => ({
      key: 'e',
      active: true,
      filters: {
        early_exit: earlyExit,
        groups: [
          { properties: [{ key: 'plan', type: 'person', value: 'pro' }], rollout_percentage: 0 },
          { rollout_percentage: 100 },
        ],
      },
    });
    const pro = { distinctId: 'u', personProperties: { plan: 'pro' } };
    expect(valueOf([flag(false)], 'e', pro)).toBe(true);
    expect(valueOf([flag(true)], 'e', pro)).toBe(false);
  });

  it('inactive and deleted flags are off; experience continuity and device bucketing without a device id need PostHog', () => {
    const everyone = { groups: [{ rollout_percentage: 100 }] };
    const flags = [
      { key: 'inactive', active: false, filters: everyone },
      { key: 'deleted', active: true, deleted: true, filters: everyone },
      { key: 'continuity', active: true, ensure_experience_continuity: true, filters: everyone },
      { key: 'device', active: true, bucketing_identifier: 'device_id', filters: everyone },
    ];
    expect(valueOf(flags, 'inactive', 'u')).toBe(false);
    expect(valueOf(flags, 'deleted', 'u')).toBe(false);
    expect(valueOf(flags, 'continuity', 'u')).toBe('undecided');
    expect(valueOf(flags, 'device', 'u')).toBe('undecided');
    expect(valueOf(flags, 'device', { distinctId: 'u', deviceId: 'd1' })).toBe(true);
    expect(valueOf(flags, 'absent', 'u')).toBe('undecided');
  });

  it('gives the payload of the value, parsed, with id, version and the local reason', () => {
    const definitions = indexDefinitions(
      parseDefinitions({
        flags: [
          {
            id: 7,
            version: 3,
            key: 'p',
            active: true,
            filters: { groups: [{ rollout_percentage: 100 }], payloads: { true: '{"color":"blue"}' } },
          },
        ],
      }),
    );
    const [flag] = evaluateLocally(definitions, localSubject({ distinctId: 'u' }), undefined, NOW).results.values();
    expect(flag).toEqual({
      key: 'p',
      enabled: true,
      payload: { color: 'blue' },
      id: 7,
      version: 3,
      reason: LOCAL_REASON,
      evaluatedAt: NOW,
      source: 'local',
    });
  });
});
