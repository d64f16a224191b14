import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import { RequestEvaluations } from './request-evaluations.js';
import { endRequestScope, recordExecution, requestStorage } from './request-store.js';

/**
 * Gives the request's scope the execution context of the handler it serves (with the request and response as the
 * handler sees them: on Fastify the middleware only saw the raw ones), so that a call without a context hands
 * `contextFactory` the same execution context on a route without `@FeatureFlag` as on one with it. A WebSocket or
 * RPC message (or a GraphQL operation outside HTTP) gets a scope of its own here, shared with its guards, ended
 * once its handler is done. Registered by the module for every handler.
 */
@Injectable()
export class FlagsRequestInterceptor implements NestInterceptor {
  constructor(private readonly evaluations: RequestEvaluations) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const store = this.evaluations.scopeOf(context);
    if (!store) return next.handle();
    recordExecution(store, context);
    if (requestStorage.getStore() === store) return next.handle();
    // Nest binds what `handle()` returns to the async context it is called in: the handler runs in the scope.
    const handled = requestStorage.run(store, () => next.handle());
    return handled.pipe(finalize(() => endRequestScope(store)));
  }
}
