import { ForbiddenException, type ExecutionContext } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { FlagDenial } from '../options/exception-option.js';
import { routeNotFound } from './route-not-found.js';
import { transportException } from './transport-exception.js';

/** The message of the default denial outside HTTP: Nest's own, when a guard returns `false`. */
export const FORBIDDEN_MESSAGE = 'Forbidden resource';

/**
 * The exception a denial throws: the decorator's `exception`, else the module's, else the transport's default,
 * built for this denial (no stack trace: a denial is no bug). The defaults: over HTTP, the very 404 of a route that
 * does not exist; in GraphQL, a `ForbiddenException` whose `extensions.code` is `FORBIDDEN` (Apollo and Mercurius
 * copy it into the error's `extensions`); on WebSockets a `WsException` and on RPC an `RpcException` (`Forbidden
 * resource`), loaded from the transport's package on first need, hence possibly a promise.
 */
export function denialOf(
  context: ExecutionContext,
  adapterHost: HttpAdapterHost,
  ...says: (FlagDenial | undefined)[]
): Error | Promise<Error> {
  for (const say of says) {
    const exception = typeof say === 'function' ? say(context) : say;
    if (exception !== undefined) return exception;
  }
  return withoutStack(() => defaultDenial(context, adapterHost));
}

function defaultDenial(context: ExecutionContext, adapterHost: HttpAdapterHost): Error | Promise<Error> {
  const type = context.getType<string>();
  if (type === 'http') return routeNotFound(adapterHost, context.getArgByIndex(0));
  if (type === 'graphql') return graphqlForbidden();
  return transportException(type, FORBIDDEN_MESSAGE) ?? new ForbiddenException(FORBIDDEN_MESSAGE);
}

/** A `ForbiddenException` GraphQL servers report with `extensions.code: 'FORBIDDEN'`, whatever their formatting. */
function graphqlForbidden(): ForbiddenException {
  return Object.assign(new ForbiddenException(FORBIDDEN_MESSAGE), { extensions: { code: 'FORBIDDEN' } });
}

/** `build()` with no stack trace captured: the largest cost of a denial, and it says nothing here. */
function withoutStack<T>(build: () => T): T {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
