import { FlagsConfigError } from '../config/flags-config-error.js';
import { kindOf } from '../util/kind-of.js';
import type { FlagsModuleOptions } from './flags-options.js';

/** The most evaluation contexts accepted: each flag definition is checked against them. */
const MAX_CONTEXTS = 100;

/** The longest evaluation context accepted, in characters. */
const MAX_CONTEXT_LENGTH = 200;

/**
 * `evaluationContexts`, else its older name `evaluationEnvironments` (posthog-node reads them in that order),
 * without duplicates, frozen; empty when neither is given.
 * @throws {FlagsConfigError} for a value that is not an array of 1 to 200-character strings, or past 100 of them.
 */
export function resolveEvaluationContexts(options: FlagsModuleOptions): readonly string[] {
  const name = options.evaluationContexts !== undefined ? 'evaluationContexts' : 'evaluationEnvironments';
  const given: unknown = options.evaluationContexts ?? options.evaluationEnvironments;
  if (given === undefined) return Object.freeze([]);
  if (!Array.isArray(given)) throw new FlagsConfigError(`${name} must be an array of strings, got ${kindOf(given)}`);
  if (given.length > MAX_CONTEXTS) {
    throw new FlagsConfigError(`${name} holds ${given.length} contexts; at most ${MAX_CONTEXTS} are accepted`);
  }
  for (const [index, context] of given.entries()) {
    if (typeof context !== 'string' || context === '' || context.length > MAX_CONTEXT_LENGTH) {
      throw new FlagsConfigError(
        `${name}[${index}] must be a non-empty string of at most ${MAX_CONTEXT_LENGTH} characters, got ${typeof context === 'string' ? `${context.length} characters` : kindOf(context)}`,
      );
    }
  }
  return Object.freeze([...new Set(given as string[])]);
}
