import { createParamDecorator, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import { currentRequestStore } from '../request/request-store.js';
import { markTakesSnapshot } from '../request/route-flags.js';

/** Hands the handler the snapshot itself, once evaluated (Nest awaits what its pipes give). */
const SETTLED: PipeTransform = { transform: (value: MaybePromise<FlagEvaluations>) => value };

/**
 * Parameter decorator: the {@link FlagEvaluations} snapshot of the request's (or message's) own context
 * (`contextFactory`, else the transport's user: see docs/graphql.md and docs/websockets.md): the very one the
 * `@FeatureFlag` guard decided on, else evaluated then; never one evaluated for a context a guard or service
 * named. Empty for an anonymous request. Reads in the handler (`isEnabled`, `getFlag`) send the exposures of what
 * the handler actually read. The snapshot may be read for any flag, so a handler taking it asks PostHog for every
 * flag (one call with the guard's: see `RouteFlags`).
 * @throws {TypeError} outside the module's scope of a request or message, as `FlagsService` does: never a
 * silently empty snapshot.
 */
export const Flags = (): ParameterDecorator => {
  const takeSnapshot = createParamDecorator(
    (_data: unknown, execution: ExecutionContext): MaybePromise<FlagEvaluations> => {
      const store = currentRequestStore();
      if (!store) {
        throw new TypeError(
          `@Flags(): this ${execution.getType()} handler runs outside the scope FlagsModule gives every request and ` +
            'message (is FlagsModule imported by the application?)',
        );
      }
      return store.owner.forRequest({}, execution);
    },
  )(undefined, SETTLED);
  return (target, propertyKey, index) => {
    takeSnapshot(target, propertyKey, index);
    // The handler's requests ask PostHog for every flag at once: the snapshot may be read for any flag.
    const handler = propertyKey === undefined ? undefined : Object.getOwnPropertyDescriptor(target, propertyKey);
    if (typeof handler?.value === 'function') markTakesSnapshot(handler.value as object);
  };
};
