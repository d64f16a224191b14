import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FlagResult } from '../flags.types.js';
import { primaryFlags } from '../request/request-flags.js';

/**
 * Parameter decorator: the flags the `@FeatureFlag` guard evaluated for this request's user, as
 * `Record<string, FlagResult>` (empty when the request was anonymous or no guard ran).
 */
export const Flags = createParamDecorator((_data: unknown, context: ExecutionContext): Record<string, FlagResult> => {
  const results = primaryFlags(context.switchToHttp().getRequest());
  return Object.fromEntries(results ?? []);
});
