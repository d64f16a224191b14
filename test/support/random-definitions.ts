/*
 * Seeded random flag definitions and users for the differential test against posthog-node: every operator,
 * rollouts, variants, payloads, holdouts, group flags, cohorts (nested, negated, static), flag dependencies
 * (cycles and missing ones included), early exit, device bucketing, experience continuity, inactive flags.
 */

/** A small seeded PRNG (mulberry32): the same seed, the same cases. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
  };
}

export interface Random {
  next(): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  int(min: number, max: number): number;
}

const OPERATORS = [
  'exact',
  'is_not',
  'is_set',
  'is_not_set',
  'icontains',
  'not_icontains',
  'starts_with',
  'not_starts_with',
  'ends_with',
  'not_ends_with',
  'regex',
  'not_regex',
  'gt',
  'gte',
  'lt',
  'lte',
  'is_date_before',
  'is_date_after',
  'semver_eq',
  'semver_neq',
  'semver_gt',
  'semver_gte',
  'semver_lt',
  'semver_lte',
  'semver_tilde',
  'semver_caret',
  'semver_wildcard',
  'no_such_operator',
] as const;

/** Property names and the values users and filters draw from. */
const VALUES: Record<string, readonly unknown[]> = {
  email: ['a@x.com', 'B@Example.COM', 'c@posthog.com', 'dé@x.fr', ''],
  plan: ['free', 'pro', 'PRO', 'enterprise', null],
  age: [17, 18, 30.5, '42', -1, 0],
  country: ['US', 'us', 'FR', 'DE'],
  version: ['1.2.3', '2.0.0', 'v1.10.0', '1.2', '01.2.3', 'abc', '0.0.5', '3'],
  signup: ['2024-01-01', '2026-11-20T00:00:00Z', 'not a date', 1700000000000, '2020-02-29'],
  beta_user: [true, false, 'true', 'false', 'TRUE'],
  score: [0.5, 10, -3, '7.5', 'ten'],
  distinct_id: ['user-1', 'user-2', 'admin-1'],
};

const FILTER_VALUES: Record<string, readonly unknown[]> = {
  ...VALUES,
  email: ['@x.com', 'posthog', '^[a-c]@', '.*\\.com$', '(?i)x', 'x{2,', 'B@', ['a@x.com', 'c@posthog.com'], 'é'],
  plan: ['pro', 'free', ['free', 'pro'], [], 'ENTERPRISE', true],
  age: [18, '18', 30, 'abc', 17.5],
  signup: ['-30d', '-1y', '-12h', '7d', '-2w', '-6m', '2025-01-01', 'not a date', true, '2024-01-01T00:00:00Z'],
  version: ['1.2.3', '1.2', '1.*', '1.2.*', '2', 'v2.0.0', 'x.y', '0.0.5', '1.10.0'],
  beta_user: [true, false, 'true', ['true']],
};

const GROUP_TYPES = { '0': 'company', '1': 'team' };

export interface RandomUser {
  distinctId: string;
  deviceId?: string;
  groups?: Record<string, string>;
  personProperties?: Record<string, unknown>;
  groupProperties?: Record<string, Record<string, unknown>>;
}

/** A definitions body as `/flags/definitions` sends it. */
export function randomDefinitions(random: Random, count = 12): Record<string, unknown> {
  const cohorts: Record<string, unknown> = {};
  for (const id of ['1', '2', '3']) cohorts[id] = randomCohort(random, id);
  const flags: Record<string, unknown>[] = [];
  for (let index = 0; index < count; index++) flags.push(randomFlag(random, index, flags));
  return { flags, group_type_mapping: GROUP_TYPES, cohorts };
}

/** A user with a random subset of properties, sometimes groups and a device id. */
export function randomUser(random: Random, index: number): RandomUser {
  const user: RandomUser = { distinctId: `user-${index}-${random.int(0, 999)}` };
  if (random.chance(0.2)) user.deviceId = `device-${random.int(0, 99)}`;
  const personProperties: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(VALUES))
    if (random.chance(0.6)) personProperties[name] = random.pick(values);
  user.personProperties = personProperties;
  if (random.chance(0.5)) {
    user.groups = { company: `acme-${random.int(0, 9)}` };
    if (random.chance(0.5)) user.groups.team = `team-${random.int(0, 9)}`;
    user.groupProperties = {};
    for (const type of Object.keys(user.groups)) {
      if (random.chance(0.7)) user.groupProperties[type] = randomProperties(random);
    }
  }
  return user;
}

function randomProperties(random: Random): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(VALUES)) if (random.chance(0.5)) properties[name] = random.pick(values);
  return properties;
}

function randomProperty(random: Random, type = 'person'): Record<string, unknown> {
  const key = random.pick(Object.keys(FILTER_VALUES));
  return { key, type, operator: random.pick(OPERATORS), value: random.pick(FILTER_VALUES[key]!) };
}

function randomCohort(random: Random, id: string): unknown {
  const leaf = (): Record<string, unknown> => {
    // Only cohorts with a lower id (and the static 99): PostHog refuses cohort cycles.
    if (random.chance(0.1)) return { key: 'id', type: 'cohort', value: random.pick(['99', String(Number(id) - 1)]) };
    return { ...randomProperty(random), negation: random.chance(0.3) };
  };
  const group = () => ({ type: random.pick(['AND', 'OR']), values: [leaf(), ...(random.chance(0.5) ? [leaf()] : [])] });
  return { type: random.pick(['AND', 'OR']), values: [group(), ...(random.chance(0.5) ? [group()] : [])] };
}

function randomFlag(random: Random, index: number, earlier: Record<string, unknown>[]): Record<string, unknown> {
  const key = `flag-${index}`;
  const multivariate = random.chance(0.4)
    ? {
        variants: [
          { key: 'control', rollout_percentage: 50 },
          { key: 'test', rollout_percentage: random.pick([50, 30, 25.5]) },
        ],
      }
    : null;
  const aggregation = random.chance(0.2) ? random.pick([0, 1, 5]) : null;
  const conditions = Array.from({ length: random.int(1, 3) }, () =>
    randomCondition(random, earlier, multivariate !== null, aggregation !== null),
  );
  const payloads: Record<string, string> = {};
  if (random.chance(0.5)) payloads.true = JSON.stringify({ flag: key });
  if (multivariate && random.chance(0.5)) payloads.test = random.pick(['{"v":"test"}', 'not json', '"plain"']);
  return {
    id: index + 1,
    key,
    active: random.chance(0.9),
    version: random.int(1, 9),
    ensure_experience_continuity: random.chance(0.05),
    bucketing_identifier: random.chance(0.1) ? 'device_id' : null,
    filters: {
      groups: conditions,
      multivariate,
      payloads,
      aggregation_group_type_index: aggregation,
      early_exit: random.chance(0.2),
      holdout: random.chance(0.1) ? { id: 7, exclusion_percentage: random.pick([30, 100, 0]) } : null,
    },
  };
}

function randomCondition(
  random: Random,
  earlier: Record<string, unknown>[],
  multivariate: boolean,
  groupFlag: boolean,
): Record<string, unknown> {
  const properties: Record<string, unknown>[] = [];
  for (let count = random.int(0, 2); count > 0; count--) {
    const kind = random.next();
    if (kind < 0.15) properties.push({ key: 'id', type: 'cohort', value: random.pick(['1', '2', '3', '99']) });
    else if (kind < 0.3 && earlier.length > 0) properties.push(randomDependency(random, earlier));
    else properties.push(randomProperty(random, groupFlag ? 'group' : 'person'));
  }
  const condition: Record<string, unknown> = {
    properties,
    rollout_percentage: random.pick([null, 0, 33.3, 50, 100, 72]),
  };
  if (multivariate && random.chance(0.3)) condition.variant = random.pick(['test', 'missing-variant']);
  if (random.chance(0.1)) condition.aggregation_group_type_index = random.pick([0, 1, null]);
  return condition;
}

function randomDependency(random: Random, earlier: Record<string, unknown>[]): Record<string, unknown> {
  const target = random.pick(earlier).key as string;
  const chain = random.next();
  return {
    key: target,
    type: 'flag',
    operator: 'flag_evaluates_to',
    value: random.pick([true, false, 'test', 'control']),
    dependency_chain: chain < 0.1 ? [] : chain < 0.15 ? ['flag-missing', target] : [target],
  };
}
