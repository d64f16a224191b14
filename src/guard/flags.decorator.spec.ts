import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import { Flags } from './flags.decorator.js';

class Gateway {
  handle(@Flags() flags: FlagEvaluations) {
    return flags;
  }
}

/** What Nest calls to fill the `@Flags()` parameter. */
function flagsFactory(): (data: unknown, context: ExecutionContextHost) => unknown {
  const params = Reflect.getMetadata(ROUTE_ARGS_METADATA, Gateway, 'handle') as Record<string, { factory: never }>;
  return Object.values(params)[0]!.factory;
}

describe('@Flags()', () => {
  it('throws outside the scope of a request or message, never hands an empty snapshot', () => {
    const context = new ExecutionContextHost(
      [{ data: { user: { id: 'alice' } } }, {}],
      Gateway,
      Gateway.prototype.handle,
    );
    context.setType('ws');
    expect(() => flagsFactory()(undefined, context)).toThrow(
      new TypeError(
        '@Flags(): this ws handler runs outside the scope FlagsModule gives every request and message (is ' +
          'FlagsModule imported by the application?)',
      ),
    );
  });
});
