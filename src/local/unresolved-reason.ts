/**
 * Why local evaluation left a flag undecided (PostHog's words, as posthog-node's `unresolvedFlags`):
 * `experience_continuity` (the flag keeps a user's value server-side), `unsupported_definition` (the definition
 * needs PostHog whatever the user: a static cohort, an unknown group type), `unresolved_dependency` (a flag it
 * depends on was undecided), `missing_context` (a property, group or device id the condition needs was not given).
 */
export type UnresolvedReason =
  'experience_continuity' | 'unsupported_definition' | 'unresolved_dependency' | 'missing_context';

/** The reasons from the strongest to the weakest (posthog-node's precedence). */
const PRECEDENCE: readonly UnresolvedReason[] = [
  'experience_continuity',
  'unsupported_definition',
  'unresolved_dependency',
  'missing_context',
];

/** The stronger of two reasons (`next` when there is no `current`). */
export function strongerReason(current: UnresolvedReason | undefined, next: UnresolvedReason): UnresolvedReason {
  return current === undefined || PRECEDENCE.indexOf(next) < PRECEDENCE.indexOf(current) ? next : current;
}
