import type { ExecutionContext } from '@nestjs/common';

/**
 * Where each transport keeps the authenticated user, as an application's guards set it (no transport package is
 * loaded: the execution context's arguments are read as they come):
 * - `http`: `request.user`;
 * - `graphql`: the resolver context's `req.user` (Apollo on Express or Fastify, with Nest's default context), or
 *   Mercurius's `reply.request.user`;
 * - `ws`: `client.data.user` (a socket.io socket's `data`, or one an application sets on a `ws` socket).
 *
 * `undefined` when the transport has no such place (`rpc`), or the arguments lack it (a GraphQL context without
 * `req`): the caller warns once per transport. Otherwise the holder, whose `user` may be missing (anonymous).
 */
export function userHolderOf(execution: ExecutionContext): { user?: unknown } | undefined {
  switch (execution.getType<string>()) {
    case 'http':
      return objectOr(execution.getArgByIndex(0));
    case 'graphql': {
      const context = objectOr(execution.getArgByIndex(2)) as { req?: unknown; reply?: { request?: unknown } };
      return objectOr(context?.req) ?? objectOr(objectOr(context?.reply)?.request);
    }
    case 'ws':
      return objectOr(objectOr(execution.getArgByIndex(0))?.data);
    default:
      return undefined;
  }
}

/** Where {@link userHolderOf} looks on each transport, for a warning. */
export function userPlaceOf(type: string): string {
  switch (type) {
    case 'graphql':
      return "the resolver context has no `req` (nor Mercurius's `reply.request`) to read `req.user` from";
    case 'ws':
      return 'the client has no `data` object to read `data.user` from';
    default:
      return 'the transport has no default user';
  }
}

/** The authenticated user's distinct id: `user.distinctId ?? .id ?? .sub`. Headers are never trusted. */
export function distinctIdOf(holder: { user?: unknown } | undefined): string | undefined {
  const user = objectOr(holder?.user);
  const id = user?.distinctId ?? user?.id ?? user?.sub;
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : undefined;
}

function objectOr(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
