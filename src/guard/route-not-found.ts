import { NotFoundException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';

/**
 * The 404 Nest answers for a route that does not exist (`Cannot GET /path`), for this request: a route denied by
 * `@FeatureFlag` answers exactly like one that is not there, so an unreleased feature is invisible. Built as Nest
 * builds its own, through the HTTP adapter (Express or Fastify), but without a stack trace: capturing one was the
 * largest cost of a denied request (a 404 is never logged with its stack), and says nothing here.
 */
export function routeNotFound(adapterHost: HttpAdapterHost, request: unknown): NotFoundException {
  const adapter = adapterHost.httpAdapter;
  const message = `Cannot ${adapter.getRequestMethod(request)} ${adapter.getRequestUrl(request)}`;
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new NotFoundException(message);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
