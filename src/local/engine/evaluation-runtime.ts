import type { FlagDefinition } from '../definitions.js';

/** Where PostHog lets a flag be evaluated: `client` (browsers and apps), `server`, or `all`. */
export type EvaluationRuntime = 'client' | 'server' | 'all';

/**
 * This module's runtime, sent as `evaluation_runtime` in every `/flags` body as posthog-node sends it: PostHog then
 * leaves out the flags marked `client`.
 */
export const SERVER_RUNTIME: EvaluationRuntime = 'server';

/** A definition's runtime as posthog-node reads it: `client` or `server` as given; anything else is `all`. */
export function runtimeOf(definition: FlagDefinition): EvaluationRuntime {
  const runtime = definition.evaluation_runtime;
  return runtime === 'client' || runtime === 'server' ? runtime : 'all';
}

/**
 * Whether a flag local evaluation did not decide is asked of `/flags`: when the definitions do not have it (PostHog
 * decides), or when its runtime admits a server (`server` or `all`, posthog-node's `evaluationRuntimesMatch`).
 */
export function askedOfServer(definition: FlagDefinition | undefined): boolean {
  return definition === undefined || runtimeOf(definition) !== 'client';
}

/** Whether a browser evaluates the flag (its runtime is `client` or `all`): what `bootstrap()` hands to posthog-js. */
export function evaluatedInBrowser(definition: FlagDefinition | undefined): boolean {
  return definition === undefined || runtimeOf(definition) !== 'server';
}
