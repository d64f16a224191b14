import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { currentRequestStore } from './request-store.js';

/**
 * Tells the request's scope which handler serves it, with the request and response as the handler sees them (on
 * Fastify the middleware only saw the raw ones), so that `contextFactory` gets the same execution context on a
 * route without `@FeatureFlag` as on one with it. Registered by the module for every route.
 */
@Injectable()
export class FlagsRequestInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') recordExecution(context);
    return next.handle();
  }
}

/**
 * Records the handler, its class, and the request and response as Nest hands them to it (an HTTP context's first
 * two arguments), in the request's scope.
 */
export function recordExecution(context: ExecutionContext, store = currentRequestStore()): void {
  if (!store) return;
  const request = context.getArgByIndex<object>(0);
  if (store.request.deref() !== request) {
    store.request = new WeakRef(request);
    store.response = new WeakRef(context.getArgByIndex<object>(1));
  }
  store.handler = context.getHandler() as never;
  store.type = context.getClass() as never;
}
