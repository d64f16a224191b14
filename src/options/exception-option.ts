import type { ExecutionContext } from '@nestjs/common';

/**
 * What a denied `@FeatureFlag` call gets: an exception, or a function of the call's execution context that builds
 * one for each denial (`undefined`: the next say, then the transport's default). The `exception` option of
 * `FlagsModule` and of `@FeatureFlag`.
 */
export type FlagDenial = Error | ((context: ExecutionContext) => Error | undefined);
