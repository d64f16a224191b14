import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { executionContext } from '../../test/support/execution-context.js';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import { Flags } from './flags.decorator.js';

class Gateway {
  handle(@Flags() flags: FlagEvaluations) {
    return flags;
  }
}

/** Where a parameter decorator's factory is kept (`ROUTE_ARGS_METADATA`, not exported from `@nestjs/common`'s root). */
const ROUTE_ARGS_METADATA = '__routeArguments__';

/** What Nest calls to fill the `@Flags()` parameter. */
function flagsFactory(): (data: unknown, context: ExecutionContext) => unknown {
  const params = Reflect.getMetadata(ROUTE_ARGS_METADATA, Gateway, 'handle') as Record<string, { factory: never }>;
  return Object.values(params)[0]!.factory;
}

describe('@Flags()', () => {
  it('throws outside the scope of a request or message, never hands an empty snapshot', () => {
    const context = executionContext(
      'ws',
      [{ data: { user: { id: 'alice' } } }, {}],
      Gateway,
      Gateway.prototype.handle,
    );
    expect(() => flagsFactory()(undefined, context)).toThrow(
      new TypeError(
        '@Flags(): this ws handler runs outside the scope FlagsModule gives every request and message (is ' +
          'FlagsModule imported by the application?)',
      ),
    );
  });
});
