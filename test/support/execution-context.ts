import type { ContextType, ExecutionContext, Type } from '@nestjs/common';

/**
 * An `ExecutionContext` of `type` over the handler's `args`, as Nest builds one (its `ExecutionContextHost` is not
 * exported from `@nestjs/core`'s root): for specs and benches that call a guard or a parameter decorator directly.
 */
export function executionContext(
  type: ContextType | 'graphql',
  args: unknown[],
  classRef: Type,
  handler: (...args: never[]) => unknown,
): ExecutionContext {
  const arg = <T>(index: number): T => args[index] as T;
  return {
    getType: <T extends string>() => type as T,
    getClass: <T>() => classRef as Type<T>,
    getHandler: () => handler,
    getArgs: <T extends unknown[]>() => args as T,
    getArgByIndex: arg,
    switchToHttp: () => ({ getRequest: () => arg(0), getResponse: () => arg(1), getNext: () => arg(2) }),
    switchToRpc: () => ({ getData: () => arg(0), getContext: () => arg(1) }),
    switchToWs: () => ({ getClient: () => arg(0), getData: () => arg(1), getPattern: () => arg(args.length - 1) }),
  };
}
