/**
 * Why local evaluation left a flag undecided (PostHog's words, as posthog-node's `unresolvedFlags`):
 * `experience_continuity` (the flag keeps a user's value server-side), `unsupported_definition` (the definition
 * needs PostHog whatever the user: a static cohort, an unknown group type), `unresolved_dependency` (a flag it
 * depends on was undecided), `missing_context` (a property, group or device id the condition needs was not given).
 */
export type LocalUnresolvedReason =
  'experience_continuity' | 'unsupported_definition' | 'unresolved_dependency' | 'missing_context';

/**
 * Why a snapshot holds no result for a flag it was asked: local evaluation's reason ({@link LocalUnresolvedReason},
 * PostHog's words), else ours, `unavailable`: the flag was asked by key (or left undecided by the definitions) and
 * neither PostHog (failed, not asked in an outage, or leaving it out of an incomplete answer) nor the fallback
 * cache could answer it.
 */
export type UnresolvedReason = LocalUnresolvedReason | 'unavailable';

/** The reasons from the strongest to the weakest (posthog-node's precedence). */
const PRECEDENCE: readonly LocalUnresolvedReason[] = [
  'experience_continuity',
  'unsupported_definition',
  'unresolved_dependency',
  'missing_context',
];

/** The stronger of two reasons (`next` when there is no `current`). */
export function strongerReason(
  current: LocalUnresolvedReason | undefined,
  next: LocalUnresolvedReason,
): LocalUnresolvedReason {
  return current === undefined || PRECEDENCE.indexOf(next) < PRECEDENCE.indexOf(current) ? next : current;
}
