/** Every name `Object.prototype` has (`__proto__`, `constructor`, `toString`, `hasOwnProperty`…). */
export const PROTOTYPE_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype);

const everyone = [{ properties: [], rollout_percentage: 100 }];

/**
 * Definitions that use each of `names` (by index `i`) from outside in every way: `variant-i` has the name as its
 * one variant, with a payload by that name; flag `name` is on with a payload; `property-i` needs person property
 * `name` to be `yes`; `group-i` is a flag of group type `name` (index `i`) needing group property `size` over 1;
 * `odd-index-i` names group type index `name` (not in the mapping: undecided); `cohort-i` needs cohort `name`.
 * Built with computed keys, so that every name is an own key, as JSON text from PostHog makes it.
 */
export function prototypeNameDefinitions(names: readonly string[]): Record<string, unknown> {
  const flags: unknown[] = [];
  const mapping: Record<string, string> = {};
  names.forEach((name, index) => {
    mapping[String(index)] = name;
    flags.push(
      {
        key: `variant-${index}`,
        active: true,
        filters: {
          groups: everyone,
          multivariate: { variants: [{ key: name, rollout_percentage: 100 }] },
          payloads: { [name]: JSON.stringify({ variant: name }) },
        },
      },
      { key: name, active: true, filters: { groups: everyone, payloads: { true: JSON.stringify({ flag: name }) } } },
      {
        key: `property-${index}`,
        active: true,
        filters: { groups: [{ properties: [{ key: name, type: 'person', operator: 'exact', value: 'yes' }] }] },
      },
      {
        key: `group-${index}`,
        active: true,
        filters: {
          aggregation_group_type_index: index,
          groups: [{ properties: [{ key: 'size', type: 'group', operator: 'gt', value: 1 }], rollout_percentage: 100 }],
        },
      },
      { key: `odd-index-${index}`, active: true, filters: { aggregation_group_type_index: name, groups: everyone } },
      {
        key: `cohort-${index}`,
        active: true,
        filters: { groups: [{ properties: [{ key: 'id', type: 'cohort', value: name }] }] },
      },
    );
  });
  // Own keys whatever the name (built from entries: an assignment would set the prototype for `__proto__`).
  const inPlanPro = { type: 'AND', values: [{ key: 'plan', type: 'person', operator: 'exact', value: 'pro' }] };
  const cohorts = Object.fromEntries(names.map((name) => [name, inPlanPro]));
  return { flags, group_type_mapping: mapping, cohorts };
}
