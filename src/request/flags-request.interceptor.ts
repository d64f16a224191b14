import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { requestStorage } from './request-store.js';

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

/** Records the handler, its class, and the request and response as Nest hands them to it. */
export function recordExecution(context: ExecutionContext): void {
  const store = requestStorage.getStore();
  if (!store) return;
  const http = context.switchToHttp();
  const request = http.getRequest<object>();
  if (store.request.deref() !== request) {
    store.request = new WeakRef(request);
    store.response = new WeakRef(http.getResponse<object>());
  }
  store.handler = context.getHandler() as never;
  store.type = context.getClass() as never;
}
