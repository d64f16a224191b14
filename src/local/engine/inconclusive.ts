import type { LocalUnresolvedReason } from './unresolved-reason.js';

/**
 * Why a flag cannot be decided locally, thrown inside the evaluator and caught there: never escapes it. Not an
 * `Error` (no stack trace to build): a user missing a property is an everyday case on the request path.
 */
export class Inconclusive {
  constructor(
    readonly message: string,
    /**
     * `server`: the definition needs PostHog whatever the user (a static cohort, an unsupported group type): the
     * whole flag goes remote at once. `context`: this condition cannot be decided for this user; others may.
     */
    readonly kind: 'server' | 'context' = 'context',
    /** A regex PostHog's server may match differently than JavaScript: decided only if every outcome agrees. */
    readonly regex = false,
    /** Why, in PostHog's words (`unresolvedFlags`); a definition this evaluator does not support by default. */
    readonly reason: LocalUnresolvedReason = 'unsupported_definition',
  ) {}
}

/** Whether a thrown value is the evaluator's own {@link Inconclusive}. */
export function isInconclusive(error: unknown): error is Inconclusive {
  return error instanceof Inconclusive;
}
