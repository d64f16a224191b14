import { createParamDecorator, type PipeTransform } from '@nestjs/common';
import { emptySnapshot, type FlagEvaluations } from '../evaluation/flag-evaluations.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import { currentRequestStore } from '../request/request-store.js';

/** Hands the handler the snapshot itself, once evaluated (Nest awaits what its pipes give). */
const SETTLED: PipeTransform = { transform: (value: MaybePromise<FlagEvaluations>) => value };

/**
 * Parameter decorator: the {@link FlagEvaluations} snapshot of the request's own context (`contextFactory`, else
 * `request.user`): the very one the `@FeatureFlag` guard decided on, else evaluated then; never one evaluated for
 * a context a guard or service named. Empty for an anonymous request (or outside the module's request scope).
 * Reads in the handler (`isEnabled`, `getFlag`) send the exposures of what the handler actually read.
 */
export const Flags = (): ParameterDecorator =>
  createParamDecorator(
    (): MaybePromise<FlagEvaluations> => currentRequestStore()?.owner.forRequest() ?? emptySnapshot(),
  )(undefined, SETTLED);
