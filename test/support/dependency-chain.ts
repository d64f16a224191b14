/** How each level's `dependency_chain` names the flags before it: all of them in order, only the parent, or all reversed. */
export type ChainShape = 'full' | 'parent' | 'reversed';

/**
 * Flags `level-0` … `level-{levels}`: `level-0` is on for `plan: pro` (undecided without `plan`); every other level
 * has two conditions on the level below (it is on, then it is off), so that a level whose parent cannot be decided
 * asks it twice: without each flag's outcome remembered, the work doubles with every level.
 */
export function dependencyChain(levels: number, shape: ChainShape): Record<string, unknown> {
  const key = (level: number) => `level-${level}`;
  const flags: unknown[] = [
    {
      id: 1,
      key: key(0),
      active: true,
      filters: {
        groups: [
          { properties: [{ key: 'plan', type: 'person', operator: 'exact', value: 'pro' }], rollout_percentage: 100 },
        ],
      },
    },
  ];
  for (let level = 1; level <= levels; level++) {
    const before = Array.from({ length: level }, (_, index) => key(index));
    const chain = shape === 'parent' ? [key(level - 1)] : shape === 'reversed' ? before.reverse() : before;
    const on = (value: boolean) => ({
      properties: [
        { key: key(level - 1), type: 'flag', operator: 'flag_evaluates_to', value, dependency_chain: chain },
      ],
      rollout_percentage: 100,
      ...(value ? {} : { variant: 'off-below' }),
    });
    flags.push({
      id: level + 1,
      key: key(level),
      active: true,
      filters: {
        groups: [on(true), on(false)],
        multivariate: {
          variants: [
            { key: 'on-below', rollout_percentage: 100 },
            { key: 'off-below', rollout_percentage: 0 },
          ],
        },
      },
    });
  }
  return { flags, group_type_mapping: {}, cohorts: {} };
}
