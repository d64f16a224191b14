/**
 * Definitions whose flag `in-chain` is on for the users in cohort `0`: cohort `i` is the users in cohort `i + 1`
 * AND in cohort `i + 1` again, and the last cohort, `levels`, is the users with `plan: pro` (undecided without
 * `plan`). Without each cohort's membership remembered, the work doubles with every level.
 */
export function cohortChain(levels: number): Record<string, unknown> {
  const inCohort = (id: number) => ({ key: 'id', type: 'cohort', value: id, operator: 'in', negation: false });
  const cohorts: Record<string, unknown> = {};
  for (let level = 0; level < levels; level++) {
    cohorts[String(level)] = {
      type: 'AND',
      values: [{ type: 'AND', values: [inCohort(level + 1), inCohort(level + 1)] }],
    };
  }
  cohorts[String(levels)] = {
    type: 'OR',
    values: [{ type: 'AND', values: [{ key: 'plan', type: 'person', operator: 'exact', value: 'pro' }] }],
  };
  return {
    flags: [
      {
        id: 1,
        key: 'in-chain',
        active: true,
        filters: { groups: [{ properties: [{ key: 'id', type: 'cohort', value: 0 }], rollout_percentage: 100 }] },
      },
    ],
    group_type_mapping: {},
    cohorts,
  };
}
