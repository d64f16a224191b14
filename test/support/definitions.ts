/** The secret key the local-evaluation tests use: it must never appear in a log line or an error. */
export const TEST_SECRET_KEY = 'phs_test_Secret_Definitions_Key_0987';

/**
 * Definitions for the local-evaluation tests: `beta` on for everyone with a payload, `checkout` a variant for
 * everyone, `pro-only` on for `plan: pro` (undecided without the property), `continuity` needing the server.
 */
export function standardDefinitions(): Record<string, unknown> {
  const everyone = [{ properties: [], rollout_percentage: 100 }];
  return {
    flags: [
      {
        id: 1,
        key: 'beta',
        active: true,
        version: 2,
        filters: { groups: everyone, payloads: { true: '{"color":"blue"}' } },
      },
      {
        id: 2,
        key: 'checkout',
        active: true,
        version: 1,
        filters: {
          groups: everyone,
          multivariate: { variants: [{ key: 'test', rollout_percentage: 100 }] },
        },
      },
      {
        id: 3,
        key: 'pro-only',
        active: true,
        filters: {
          groups: [
            { properties: [{ key: 'plan', type: 'person', operator: 'exact', value: 'pro' }], rollout_percentage: 100 },
          ],
        },
      },
      { id: 4, key: 'continuity', active: true, ensure_experience_continuity: true, filters: { groups: everyone } },
    ],
    group_type_mapping: { '0': 'company' },
    cohorts: {},
  };
}
